/* Failure details for the one fatal path. Pure. */
#include "diag.h"

#include "fmt.h"

int diag_fail(struct jb_diag *d, int rc, const char *fmt, ...)
{
	va_list ap;

	if (d) {
		va_start(ap, fmt);
		fmt_vbuf(d->text, sizeof(d->text), fmt, ap);
		va_end(ap);
	}
	return rc;
}
