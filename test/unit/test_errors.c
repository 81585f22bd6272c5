/* Unit tests for lib/errors.c (jb_strerror) and lib/diag.c (diag_fail). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "diag.h"
#include "errors.h"

/* Written out by hand (not from the X-macro) so a reordered or retexted list fails here. */
static const struct {
	int code;
	const char *text;
} error_table[] = {
	{ JB_OK, "success" },
	{ JB_EINVAL, "invalid argument" },
	{ JB_ECMDLINE, "bad command line" },
	{ JB_ENODEV, "no such device" },
	{ JB_ETIMEDOUT, "device timed out" },
	{ JB_EIO, "disk read error" },
	{ JB_ERANGE, "read past the end of the disk" },
	{ JB_EBADIMG, "not a usable memory image" },
	{ JB_ETRUNC, "image truncated" },
	{ JB_ECOMPRESSED, "compressed dump" },
	{ JB_ENOTRAM, "destination is not usable RAM" },
	{ JB_ELIVE, "destination overlaps the running stub" },
	{ JB_EMISMATCH, "overlapping segments hold different data" },
	{ JB_ETOOBIG, "too many segments or ranges" },
	{ JB_EUNSUPPORTED, "not supported yet" },
	{ JB_EMEMMAP, "no usable memory map" },
	{ JB_EFAULT, "CPU exception" },
	{ JB_ERETURNED, "kernel A returned to jumpback" },
};

static void test_strerror_every_code(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++) {
		assert_int_equal(error_table[i].code, (int)i); /* codes are dense from 0 */
		assert_string_equal(jb_strerror(error_table[i].code), error_table[i].text);
		assert_string_equal(jb_strerror(-error_table[i].code), error_table[i].text);
	}
}

/* Every code the X-macro defines is in the table above (catches a code added without a test). */
static void test_strerror_list_complete(void **state)
{
	static const int listed[] = {
#define JB_TEST_CODE(name, text) name,
		JB_ERROR_LIST(JB_TEST_CODE)
#undef JB_TEST_CODE
	};
	size_t n = sizeof(listed) / sizeof(listed[0]);

	(void)state;
	assert_int_equal(n + 1, sizeof(error_table) / sizeof(error_table[0]));
	for (size_t i = 0; i < n; i++) {
		const char *text = jb_strerror(-listed[i]);

		assert_string_not_equal(text, "unknown error");
		assert_true(strlen(text) > 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(text, jb_strerror(-listed[j]));
	}
}

static void test_strerror_unknown(void **state)
{
	static const int unknown[] = {
		JB_ERETURNED + 1, -(JB_ERETURNED + 1), 100, -100, 1000000, -1000000,
		INT_MAX,          INT_MIN,             INT_MIN + 1,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_string_equal(jb_strerror(unknown[i]), "unknown error");
}

static void test_diag_fail_records_and_returns(void **state)
{
	struct jb_diag d;

	(void)state;
	memset(d.text, 'x', sizeof(d.text));
	assert_int_equal(diag_fail(&d, -JB_EIO, "LBA %llu: status 0x%x", 1234ull, 0x51u), -JB_EIO);
	assert_string_equal(d.text, "LBA 1234: status 0x51");
	assert_int_equal(diag_fail(&d, 0, "%s", "ok"), 0);
	assert_string_equal(d.text, "ok");
}

static void test_diag_fail_null_diag(void **state)
{
	(void)state;
	assert_int_equal(diag_fail(NULL, -JB_ETRUNC, "segment %u", 3u), -JB_ETRUNC);
}

static void test_diag_fail_truncates(void **state)
{
	struct jb_diag d;
	char longer[700];

	(void)state;
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(diag_fail(&d, -JB_EINVAL, "%s!", longer), -JB_EINVAL);
	assert_int_equal(strlen(d.text), sizeof(d.text) - 1);
	assert_memory_equal(d.text, longer, sizeof(d.text) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror_every_code),
		cmocka_unit_test(test_strerror_list_complete),
		cmocka_unit_test(test_strerror_unknown),
		cmocka_unit_test(test_diag_fail_records_and_returns),
		cmocka_unit_test(test_diag_fail_null_diag),
		cmocka_unit_test(test_diag_fail_truncates),
	};

	return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
