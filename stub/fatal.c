/* The one fatal path: print on every console, then halt or reboot; nothing is jumped to. */
#include "fatal.h"

#include "console.h"
#include "cpu.h"
#include "fmt.h"

static enum jb_onerror fatal_onerror = ONERROR_HALT;

void fatal_set_onerror(enum jb_onerror how)
{
	fatal_onerror = how;
}

static void __attribute__((noreturn)) fatal_stop(void)
{
	if (fatal_onerror == ONERROR_REBOOT) {
		kprintf("rebooting (onerror=reboot)\n");
		cpu_reboot();
	}
	kprintf("halted; power off or reset the machine (onerror=reboot reboots instead)\n");
	cpu_halt_forever();
}

void fatal(int rc, const struct jb_diag *d)
{
	__asm__ volatile("cli");
	console_end_line();
	(void)rc; /* the code's class name would be generic; the text says what, where, what to do */
	kprintf("error: %s; nothing was jumped to\n", d ? d->text : "");
	fatal_stop();
}

void fatal_fmt(int rc, const char *fmt, ...)
{
	struct jb_diag d;
	va_list ap;

	va_start(ap, fmt);
	fmt_vbuf(d.text, sizeof(d.text), fmt, ap);
	va_end(ap);
	fatal(rc, &d);
}

void stop_after_success(void)
{
	fatal_stop();
}
