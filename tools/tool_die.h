/*
 * die() for the host tools: "TOOL: error: ..." on stderr and exit status 1. Define TOOL_NAME
 * before including this; a tool of several files includes it in each (tool_error.h adds usage).
 */
#ifndef JB_TOOL_DIE_H
#define JB_TOOL_DIE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void tool_vmessage(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: error: ", TOOL_NAME);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vmessage(fmt, ap);
	va_end(ap);
	exit(1);
}

#endif
