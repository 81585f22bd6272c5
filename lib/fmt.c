/* printf-style formatting into a character sink. Pure: no I/O of its own. */
#include "fmt.h"

struct fmt_spec {
	bool left;
	char pad;
	unsigned int width;
};

static size_t fmt_emit_padded(fmt_sink sink, void *ctx, const struct fmt_spec *spec,
			      const char *s, size_t len)
{
	size_t n = 0;
	size_t fill = spec->width > len ? spec->width - len : 0;

	if (!spec->left)
		for (; fill; fill--, n++)
			sink(ctx, spec->pad);
	for (size_t i = 0; i < len; i++, n++)
		sink(ctx, s[i]);
	for (; fill; fill--, n++)
		sink(ctx, ' ');
	return n;
}

static size_t fmt_number(fmt_sink sink, void *ctx, struct fmt_spec *spec, u64 v, bool negative,
			 unsigned int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	size_t i = sizeof(tmp);
	size_t n = 0;

	do {
		tmp[--i] = digits[v % base];
		v /= base;
	} while (v);
	if (negative) {
		if (spec->pad == '0') {
			sink(ctx, '-');
			n++;
			if (spec->width)
				spec->width--;
		} else {
			tmp[--i] = '-';
		}
	}
	return n + fmt_emit_padded(sink, ctx, spec, tmp + i, sizeof(tmp) - i);
}

size_t fmt_v(fmt_sink sink, void *ctx, const char *fmt, va_list ap)
{
	size_t n = 0;

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			sink(ctx, *p);
			n++;
			continue;
		}
		struct fmt_spec spec = { .left = false, .pad = ' ', .width = 0 };
		int longs = 0;
		bool size_t_arg = false;

		p++;
		for (;; p++) {
			if (*p == '-')
				spec.left = true;
			else if (*p == '0')
				spec.pad = '0';
			else
				break;
		}
		while (*p >= '0' && *p <= '9')
			spec.width = spec.width * 10 + (unsigned int)(*p++ - '0');
		size_t precision = SIZE_MAX;

		if (*p == '.') {
			p++;
			precision = 0;
			if (*p == '*') {
				int star = va_arg(ap, int);

				precision = star < 0 ? SIZE_MAX : (size_t)star;
				p++;
			}
			while (*p >= '0' && *p <= '9')
				precision = precision * 10 + (size_t)(*p++ - '0');
		}
		for (; *p == 'l' || *p == 'z'; p++) {
			if (*p == 'z')
				size_t_arg = true;
			else
				longs++;
		}
		if (spec.left)
			spec.pad = ' ';

		u64 u = 0;
		s64 s = 0;
		switch (*p) {
		case 'd':
			if (longs >= 2)
				s = va_arg(ap, long long);
			else if (longs == 1)
				s = va_arg(ap, long);
			else if (size_t_arg)
				s = (s64)va_arg(ap, size_t);
			else
				s = va_arg(ap, int);
			n += fmt_number(sink, ctx, &spec, s < 0 ? (u64)0 - (u64)s : (u64)s, s < 0, 10,
					false);
			break;
		case 'u':
		case 'x':
		case 'X':
			if (longs >= 2)
				u = va_arg(ap, unsigned long long);
			else if (longs == 1)
				u = va_arg(ap, unsigned long);
			else if (size_t_arg)
				u = va_arg(ap, size_t);
			else
				u = va_arg(ap, unsigned int);
			n += fmt_number(sink, ctx, &spec, u, false, *p == 'u' ? 10 : 16, *p == 'X');
			break;
		case 'p':
			n += fmt_number(sink, ctx, &spec, (uintptr_t)va_arg(ap, void *), false, 16,
					false);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			size_t len = 0;

			if (!str)
				str = "(null)";
			while (len < precision && str[len])
				len++;
			n += fmt_emit_padded(sink, ctx, &spec, str, len);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);

			n += fmt_emit_padded(sink, ctx, &spec, &c, 1);
			break;
		}
		case '%':
			sink(ctx, '%');
			n++;
			break;
		case '\0':
			return n;
		default:
			sink(ctx, '%');
			sink(ctx, *p);
			n += 2;
			break;
		}
	}
	return n;
}

struct fmt_buf_ctx {
	char *buf;
	size_t size;
	size_t used;
};

static void fmt_buf_sink(void *ctx, char c)
{
	struct fmt_buf_ctx *b = ctx;

	if (b->used + 1 < b->size)
		b->buf[b->used] = c;
	b->used++;
}

size_t fmt_vbuf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_buf_ctx b = { .buf = buf, .size = size, .used = 0 };
	size_t n = fmt_v(fmt_buf_sink, &b, fmt, ap);

	if (size)
		buf[b.used < size ? b.used : size - 1] = '\0';
	return n;
}

size_t fmt_buf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = fmt_vbuf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* Days since 1970-01-01 -> civil date (proleptic Gregorian; H. Hinnant's days_from_civil
 * inverse, in unsigned arithmetic since the times here are after 1970). */
static void civil_from_days(u64 days, u32 *y, u32 *m, u32 *d)
{
	u64 z = days + 719468;
	u64 era = z / 146097;
	u32 doe = (u32)(z - era * 146097);
	u32 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	u32 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	u32 mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (u32)(yoe + era * 400) + (*m <= 2);
}

size_t fmt_time_utc(char *buf, size_t size, u64 unix_seconds)
{
	u32 y, mo, d;
	u64 days = unix_seconds / 86400;
	u32 secs = (u32)(unix_seconds % 86400);

	civil_from_days(days, &y, &mo, &d);
	return fmt_buf(buf, size, "%04u-%02u-%02u %02u:%02u:%02u UTC", y, mo, d, secs / 3600,
		       secs / 60 % 60, secs % 60);
}
