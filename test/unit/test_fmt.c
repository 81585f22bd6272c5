/* Unit tests for lib/fmt.c: conversions, flags, widths, truncation, and host snprintf parity. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fmt.h"
#include "unit_helpers.h"

#define OUT_SIZE 256

static void count_sink(void *ctx, char c)
{
	(void)c;
	(*(size_t *)ctx)++;
}

static size_t count_chars(const char *fmt, ...)
{
	size_t count = 0;
	va_list ap;

	va_start(ap, fmt);
	size_t n = fmt_v(count_sink, &count, fmt, ap);
	va_end(ap);
	assert_int_equal(n, count); /* the return value is the number of sink calls */
	return n;
}

/*
 * Formats with fmt_vbuf into a large buffer, checks the text, the return value and that no
 * byte past the NUL was touched, and that fmt_v's count agrees.
 */
static void check_vfmt(int line, const char *want, const char *fmt, va_list ap)
{
	char out[OUT_SIZE + 16];
	va_list ap2;

	memset(out, 0x5a, sizeof(out));
	va_copy(ap2, ap);
	size_t n = fmt_vbuf(out, OUT_SIZE, fmt, ap2);
	va_end(ap2);
	if (strcmp(out, want) != 0 || n != strlen(want))
		fail_msg("line %d: format \"%s\" gave \"%s\" (%zu), want \"%s\" (%zu)", line, fmt, out,
			 n, want, strlen(want));
	for (size_t i = strlen(want) + 1; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x5a);
}

static void __attribute__((format(printf, 3, 4))) check_fmt(int line, const char *want,
							      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_vfmt(line, want, fmt, ap);
	va_end(ap);
}

#define CHECK(want, ...) check_fmt(__LINE__, want, __VA_ARGS__)

static void test_fmt_int_table(void **state)
{
	static const struct {
		const char *fmt;
		int v;
		const char *want;
	} cases[] = {
		{ "%d", 0, "0" },
		{ "%d", 7, "7" },
		{ "%d", -7, "-7" },
		{ "%d", INT_MAX, "2147483647" },
		{ "%d", INT_MIN, "-2147483648" },
		{ "%5d", 42, "   42" },
		{ "%-5d|", 42, "42   |" },
		{ "%05d", 42, "00042" },
		{ "%05d", -42, "-0042" },
		{ "%-05d|", -42, "-42  |" },
		{ "%1d", 12345, "12345" },
		{ "%2d", -1, "-1" },
		{ "%3d", -1, " -1" },
		{ "%03d", -1, "-01" },
		{ "%02d", -100, "-100" },
		{ "%0d", 5, "5" },
		{ "%10d", INT_MIN, "-2147483648" },
		{ "%012d", INT_MIN, "-02147483648" },
		{ "%c", 'A', "A" },
		{ "%3c", 'A', "  A" },
		{ "%-3c|", 'A', "A  |" },
		{ "[%c]", '%', "[%]" },
	};

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(cases); i++)
		check_fmt((int)i, cases[i].want, cases[i].fmt, cases[i].v);
}

static void test_fmt_unsigned_table(void **state)
{
	static const struct {
		const char *fmt;
		unsigned int v;
		const char *want;
	} cases[] = {
		{ "%u", 0, "0" },
		{ "%u", UINT_MAX, "4294967295" },
		{ "%x", 0, "0" },
		{ "%x", 0xdeadbeef, "deadbeef" },
		{ "%X", 0xdeadbeef, "DEADBEEF" },
		{ "%08x", 0x1f, "0000001f" },
		{ "%8X", 0xabc, "     ABC" },
		{ "%-8x|", 0xabc, "abc     |" },
		{ "%02x", 0x7, "07" },
		{ "%02x", 0x123, "123" },
		{ "0x%04X", 0xbeef, "0xBEEF" },
		{ "%u%%", 50, "50%" },
	};

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(cases); i++)
		check_fmt((int)i, cases[i].want, cases[i].fmt, cases[i].v);
}

static void test_fmt_length_modifiers(void **state)
{
	(void)state;
	CHECK("18446744073709551615", "%llu", ULLONG_MAX);
	CHECK("ffffffffffffffff", "%llx", ULLONG_MAX);
	CHECK("-9223372036854775808", "%lld", LLONG_MIN);
	CHECK("9223372036854775807", "%lld", LLONG_MAX);
	CHECK("0x00000001000a0000", "0x%016llx", 0x1000a0000ull);
	CHECK("-1", "%ld", -1L);
	CHECK("ffffffff", "%lx", 0xffffffffUL);
	CHECK("123456789012", "%zu", (size_t)123456789012ull);
	CHECK("7ff", "%zx", (size_t)0x7ff);
	CHECK("-5", "%zd", (ssize_t)-5);
	/* Without a length modifier only the int's bits are taken. */
	CHECK("4294967295", "%u", (unsigned int)-1);
	CHECK("10 20 30", "%d %lld %u", 10, 20LL, 30u);
}

static void test_fmt_strings(void **state)
{
	(void)state;
	CHECK("hello", "%s", "hello");
	CHECK("", "%s", "");
	const char *volatile null_str = NULL; /* volatile: gcc would reject a literal NULL */

	CHECK("(null)", "%s", null_str);
	CHECK("[  (null)]", "[%8s]", null_str);
	CHECK("   hi", "%5s", "hi");
	CHECK("hi   |", "%-5s|", "hi");
	CHECK("hello", "%3s", "hello");
	CHECK("hel", "%.3s", "hello");
	CHECK("hello", "%.9s", "hello");
	CHECK("", "%.0s", "hello");
	CHECK("", "%.s", "hello");
	CHECK("  hel", "%5.3s", "hello");
	CHECK("hel  |", "%-5.3s|", "hello");
	CHECK("he", "%.*s", 2, "hello");
	CHECK("hello", "%.*s", 5, "hello");
	CHECK("", "%.*s", 0, "hello");
	/* C: a negative precision argument is taken as if the precision were omitted. */
	CHECK("hello", "%.*s", -1, "hello");
	CHECK("hello", "%.*s", INT_MIN, "hello");
	/* ".*" must not read past the precision: the string need not be NUL-terminated. */
	static const char unterminated[3] = { 'a', 'b', 'c' };
	CHECK("'abc'", "'%.*s'", 3, unterminated);
	CHECK("'ab'", "'%.*s'", 2, unterminated);
	CHECK("word=resume=ahci:9 end", "word=%.*s end", 13, "resume=ahci:9  keep");
}

static void test_fmt_pointer_percent_and_oddities(void **state)
{
	(void)state;
	/* %p is plain lowercase hex (no 0x), which is what the stub's messages expect. */
	CHECK("1234", "%p", (void *)0x1234);
	CHECK("0", "%p", (void *)0);
	CHECK("    abc", "%7p", (void *)0xabc);
	CHECK("100%", "100%%");
	CHECK("%", "%%");
	CHECK("a%b", "a%%b");
	CHECK("", "%s", "");
	CHECK("plain text", "plain text");
	/* A conversion cut off at the end of the format stops output without reading past it. */
	assert_int_equal(count_chars("ab%"), 2);
	assert_int_equal(count_chars("ab%-"), 2);
	assert_int_equal(count_chars("ab%05l"), 2);
}

static void test_fmt_count_matches(void **state)
{
	(void)state;
	assert_int_equal(count_chars("%d-%s-%5x", -12, "abc", 0x1fu), strlen("-12-abc-   1f"));
	assert_int_equal(count_chars("%-20s", "x"), 20);
	assert_int_equal(count_chars("%%%c", 'z'), 2);
	assert_int_equal(count_chars(""), 0);
}

static void test_fmt_buf_truncation(void **state)
{
	char out[32];
	const char *full = "value=0x1234 name=abc";
	size_t len = strlen(full);

	(void)state;
	/* size 0: nothing written, not even a NUL; the length is still reported. */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(fmt_buf(out, 0, "value=0x%x name=%s", 0x1234u, "abc"), len);
	assert_int_equal(out[0], 'Z');
	assert_int_equal(fmt_buf(NULL, 0, "value=0x%x name=%s", 0x1234u, "abc"), len);

	for (size_t size = 1; size <= len + 2; size++) {
		memset(out, 'Z', sizeof(out));
		assert_int_equal(fmt_buf(out, size, "value=0x%x name=%s", 0x1234u, "abc"), len);
		size_t kept = size - 1 < len ? size - 1 : len;

		assert_int_equal(strlen(out), kept);
		assert_memory_equal(out, full, kept);
		for (size_t i = kept + 1; i < sizeof(out); i++)
			assert_int_equal(out[i], 'Z');
	}
	/* Exactly big enough (len + 1) keeps every character. */
	assert_int_equal(fmt_buf(out, len + 1, "value=0x%x name=%s", 0x1234u, "abc"), len);
	assert_string_equal(out, full);
	/* One short (len) loses only the last character. */
	assert_int_equal(fmt_buf(out, len, "value=0x%x name=%s", 0x1234u, "abc"), len);
	assert_memory_equal(out, full, len - 1);
	assert_int_equal(out[len - 1], '\0');
	/* size 1 holds only the NUL. */
	assert_int_equal(fmt_buf(out, 1, "%s", "anything"), 8);
	assert_string_equal(out, "");
	/* Padding counts toward the untruncated length too. */
	assert_int_equal(fmt_buf(out, 4, "%40d", 1), 40);
	assert_string_equal(out, "   ");
}

/* ---- seeded random comparison against the host's snprintf ---- */

static void random_spec(struct test_rng *rng, char *spec, size_t size, bool allow_zero)
{
	size_t n = 0;

	spec[n++] = '%';
	if (rng_chance(rng, 25))
		spec[n++] = '-';
	if (allow_zero && rng_chance(rng, 30))
		spec[n++] = '0';
	if (rng_chance(rng, 15) && n > 1 && spec[n - 1] != '-')
		spec[n++] = '-'; /* "0-" in either order */
	if (rng_chance(rng, 60))
		n += (size_t)snprintf(spec + n, size - n, "%u", (unsigned int)rng_below(rng, 26));
	spec[n] = '\0';
}

/* A value with a random number of significant bits, so small and huge values both occur. */
static u64 random_bits(struct test_rng *rng)
{
	unsigned int bits = (unsigned int)rng_below(rng, 65);
	u64 v = rng_next(rng);

	return bits == 64 ? v : v & ((1ull << bits) - 1);
}

static void compare_with_snprintf(int iter, const char *fmt, const char *mine, size_t mine_n,
				  const char *host, int host_n)
{
	if (strcmp(mine, host) != 0 || mine_n != (size_t)host_n)
		fail_msg("random case %d: format \"%s\": fmt_buf \"%s\" (%zu), snprintf \"%s\" (%d)",
			 iter, fmt, mine, mine_n, host, host_n);
}

static void test_fmt_random_vs_snprintf(void **state)
{
	static const char *const lengths[] = { "", "l", "ll", "z" };
	static const char convs[] = { 'd', 'u', 'x', 'X' };
	u64 seed = test_seed(0xf0f0);
	struct test_rng rng = { seed };
	int iterations = 3000;

	(void)state;
	print_message("fmt random: seed 0x%llx, %d cases\n", (unsigned long long)seed, iterations);
	for (int iter = 0; iter < iterations; iter++) {
		char fmt[64], mine[128], host[128];
		size_t mine_n;
		int host_n;
		/* Mostly room to spare; sometimes a small buffer, to compare truncation too. */
		size_t size = rng_chance(&rng, 20) ? (size_t)rng_below(&rng, 12) : sizeof(mine);
		unsigned int kind = (unsigned int)rng_below(&rng, 10);

		memset(mine, 0x11, sizeof(mine));
		memset(host, 0x11, sizeof(host));
		if (kind < 8) {
			/* Integers: "<prefix>%[-0][width][len]conv<suffix>" */
			char spec[16];
			const char *len = lengths[rng_below(&rng, JB_ARRAY_LEN(lengths))];
			char conv = convs[rng_below(&rng, JB_ARRAY_LEN(convs))];
			u64 bits = random_bits(&rng);

			random_spec(&rng, spec, sizeof(spec), true);
			snprintf(fmt, sizeof(fmt), "<%s%s%c>", spec, len, conv);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			if (conv == 'd') {
				if (!*len) {
					mine_n = fmt_buf(mine, size, fmt, (int)bits);
					host_n = snprintf(host, size, fmt, (int)bits);
				} else if (len[0] == 'z') {
					mine_n = fmt_buf(mine, size, fmt, (ssize_t)bits);
					host_n = snprintf(host, size, fmt, (ssize_t)bits);
				} else if (len[1]) {
					mine_n = fmt_buf(mine, size, fmt, (long long)bits);
					host_n = snprintf(host, size, fmt, (long long)bits);
				} else {
					mine_n = fmt_buf(mine, size, fmt, (long)bits);
					host_n = snprintf(host, size, fmt, (long)bits);
				}
			} else {
				if (!*len) {
					mine_n = fmt_buf(mine, size, fmt, (unsigned int)bits);
					host_n = snprintf(host, size, fmt, (unsigned int)bits);
				} else if (len[0] == 'z') {
					mine_n = fmt_buf(mine, size, fmt, (size_t)bits);
					host_n = snprintf(host, size, fmt, (size_t)bits);
				} else if (len[1]) {
					mine_n = fmt_buf(mine, size, fmt, (unsigned long long)bits);
					host_n = snprintf(host, size, fmt, (unsigned long long)bits);
				} else {
					mine_n = fmt_buf(mine, size, fmt, (unsigned long)bits);
					host_n = snprintf(host, size, fmt, (unsigned long)bits);
				}
			}
		} else if (kind == 8) {
			/* Strings: width, '-', precision as ".N" or ".*" (possibly negative). */
			static const char *const words[] = { "", "a", "jumpback", "resume=ahci:0",
							     "a much longer string of text" };
			const char *word = words[rng_below(&rng, JB_ARRAY_LEN(words))];
			char spec[16];
			int prec = (int)rng_range(&rng, 0, 40) - 5;

			random_spec(&rng, spec, sizeof(spec), false);
			if (rng_chance(&rng, 50)) {
				snprintf(fmt, sizeof(fmt), "[%s.*s]", spec);
				mine_n = fmt_buf(mine, size, fmt, prec, word);
				host_n = snprintf(host, size, fmt, prec, word);
			} else if (rng_chance(&rng, 50) && prec >= 0) {
				snprintf(fmt, sizeof(fmt), "[%s.%ds]", spec, prec);
				mine_n = fmt_buf(mine, size, fmt, word);
				host_n = snprintf(host, size, fmt, word);
			} else {
				snprintf(fmt, sizeof(fmt), "[%ss]", spec);
				mine_n = fmt_buf(mine, size, fmt, word);
				host_n = snprintf(host, size, fmt, word);
			}
		} else {
			char spec[16];
			int c = (int)rng_range(&rng, 33, 126);

			random_spec(&rng, spec, sizeof(spec), false);
			snprintf(fmt, sizeof(fmt), "(%sc)%%%%", spec);
			mine_n = fmt_buf(mine, size, fmt, c);
			host_n = snprintf(host, size, fmt, c);
		}
#pragma GCC diagnostic pop
		if (size == 0) {
			assert_int_equal((u8)mine[0], 0x11);
			mine[0] = host[0] = '\0';
		}
		compare_with_snprintf(iter, fmt, mine, mine_n, host, host_n);
	}
}

/* fmt_time_utc against a table, and against the host's gmtime over random times to 2200. */
static void test_fmt_time_utc(void **state)
{
	static const struct {
		u64 t;
		const char *want;
	} table[] = {
		{ 0, "1970-01-01 00:00:00 UTC" },
		{ 86399, "1970-01-01 23:59:59 UTC" },
		{ 951782400, "2000-02-29 00:00:00 UTC" },
		{ 1798502399, "2026-12-28 23:59:59 UTC" },
		{ 4102444800ull, "2100-01-01 00:00:00 UTC" },
		{ 4107456000ull, "2100-02-28 00:00:00 UTC" },
		{ 4107542400ull, "2100-03-01 00:00:00 UTC" },
	};
	struct test_rng rng = { test_seed(0x71e) };
	char got[40], want[40];

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(table); i++) {
		fmt_time_utc(got, sizeof(got), table[i].t);
		assert_string_equal(got, table[i].want);
	}
	for (int i = 0; i < 20000; i++) {
		time_t t = (time_t)rng_below(&rng, 7258118400ull); /* 2200-01-01 */
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%d %H:%M:%S UTC", &tm);
		fmt_time_utc(got, sizeof(got), (u64)t);
		if (strcmp(got, want))
			fail_msg("t=%lld: got \"%s\", want \"%s\"", (long long)t, got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_int_table),
		cmocka_unit_test(test_fmt_unsigned_table),
		cmocka_unit_test(test_fmt_length_modifiers),
		cmocka_unit_test(test_fmt_strings),
		cmocka_unit_test(test_fmt_pointer_percent_and_oddities),
		cmocka_unit_test(test_fmt_count_matches),
		cmocka_unit_test(test_fmt_buf_truncation),
		cmocka_unit_test(test_fmt_random_vs_snprintf),
		cmocka_unit_test(test_fmt_time_utc),
	};

	return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
