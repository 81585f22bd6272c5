/* A failure's details ("segment 3 at 0x...: ..."), filled by the code that detects it. Pure. */
#ifndef JB_DIAG_H
#define JB_DIAG_H

#include "errors.h"
#include "types.h"

struct jb_diag {
	char text[512];
};

/* Records the message and returns rc, so callers write `return diag_fail(d, -JB_EIO, ...)`. */
int diag_fail(struct jb_diag *d, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
