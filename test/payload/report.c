/*
 * Reporting: "jbtest: " lines on COM1, a tally of failed checks, and the verdict through
 * QEMU's isa-debug-exit device (port 0xF4; QEMU exits with status value*2+1).
 */
#include <stdarg.h>

#include "fmt.h"
#include "portio.h"
#include "payload.h"

#define DEBUG_EXIT_PORT 0xF4
#define DEBUG_EXIT_PASS 0x10 /* QEMU exit status 33 */
#define DEBUG_EXIT_FAIL 0x11 /* QEMU exit status 35 */
#define FIRST_PROBLEM_LEN 160

static u32 problems;
static char first_problem[FIRST_PROBLEM_LEN];

static void serial_sink(void *ctx, char c)
{
	(void)ctx;
	serial_putc(c);
}

void jbt_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_v(serial_sink, NULL, fmt, ap);
	va_end(ap);
}

/* Every failed check prints one line; the first is repeated in the verdict line. */
void jbt_problem(const char *fmt, ...)
{
	va_list ap;

	if (problems++ == 0) {
		va_start(ap, fmt);
		fmt_vbuf(first_problem, sizeof(first_problem), fmt, ap);
		va_end(ap);
	}
	jbt_printf("jbtest: bad: ");
	va_start(ap, fmt);
	fmt_v(serial_sink, NULL, fmt, ap);
	va_end(ap);
	jbt_printf("\n");
}

u32 jbt_problem_count(void)
{
	return problems;
}

void jbt_halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

__attribute__((noreturn)) static void jbt_exit(bool pass)
{
	outl(DEBUG_EXIT_PORT, pass ? DEBUG_EXIT_PASS : DEBUG_EXIT_FAIL);
	jbt_halt(); /* no debug-exit device: stay put, the verdict is on serial */
}

void jbt_finish(u64 checked_bytes, u32 nregions)
{
	if (problems == 0) {
		jbt_printf("jbtest: PASS checked %llu bytes in %u regions\n",
			   (unsigned long long)checked_bytes, nregions);
		jbt_exit(true);
	}
	jbt_printf("jbtest: FAIL %s (%u problem%s in all)\n", first_problem, problems,
		   problems == 1 ? "" : "s");
	jbt_exit(false);
}

void jbt_fail(const char *fmt, ...)
{
	va_list ap;

	jbt_printf("jbtest: FAIL ");
	va_start(ap, fmt);
	fmt_v(serial_sink, NULL, fmt, ap);
	va_end(ap);
	jbt_printf("\n");
	jbt_exit(false);
}
