/* Small printf-style formatter shared by the stub console and the pure code's messages. Pure. */
#ifndef JB_FMT_H
#define JB_FMT_H

#include <stdarg.h>

#include "types.h"

typedef void (*fmt_sink)(void *ctx, char c);

/*
 * Formats into sink. Supports %d %u %x %X %s %c %p %%, flags '-' and '0', a width,
 * a precision for %s (".N" or ".*"), and the length modifiers l, ll, z.
 * Returns the number of characters produced.
 */
size_t fmt_v(fmt_sink sink, void *ctx, const char *fmt, va_list ap);

/* snprintf: always NUL-terminates when size > 0; returns the untruncated length. */
size_t fmt_buf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t fmt_vbuf(char *buf, size_t size, const char *fmt, va_list ap);

/* "YYYY-MM-DD hh:mm:ss UTC" for a time in seconds since 1970-01-01 UTC. */
size_t fmt_time_utc(char *buf, size_t size, u64 unix_seconds);

#endif
