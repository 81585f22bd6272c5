/*
 * Error exits shared by the host tools: die() (tool_die.h), "TOOL: error: ..." on stderr and
 * exit status 1; usage() adds the tool's usage text. Define TOOL_NAME before including this.
 */
#ifndef JB_TOOL_ERROR_H
#define JB_TOOL_ERROR_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_die.h"

static void usage_print(FILE *f);
static void usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A bad command line: the message, then the usage text. */
static void usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vmessage(fmt, ap);
	va_end(ap);
	usage_print(stderr);
	exit(1);
}

/*
 * For a tool's option loop, after its flags: --help prints the usage and exits 0; a word
 * that is not an option, or an option without a value, is a usage error. Returns the value
 * of the option at argv[*i] and steps *i past it.
 */
static const char *tool_option_value(int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
		usage_print(stdout);
		exit(0);
	}
	if (strncmp(a, "--", 2))
		usage("unexpected argument '%s'", a);
	if (*i + 1 >= argc)
		usage("option %s needs a value", a);
	return argv[++*i];
}

#endif
