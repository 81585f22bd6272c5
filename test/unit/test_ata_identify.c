/* Unit tests for lib/ata_identify.c: capacity, model and logical sector size from IDENTIFY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ata_identify.h"

static u16 id[ATA_ID_WORDS];

/* Word 106 and words 117-118 as a drive reports them; the size jumpback must read. */
static const struct {
	u16 w106;
	u32 words; /* words 117-118 */
	u32 want;
	const char *what;
} sector_cases[] = {
	{ 0x0000, 0, 512, "word 106 not reported" },
	{ 0x4000, 0, 512, "valid, no long logical sectors" },
	{ 0x6003, 0, 512, "512e: 8 logical per 4096-byte physical sector" },
	{ 0x5000, 2048, 4096, "4Kn: logical sectors of 2048 words" },
	{ 0x7000, 2048, 4096, "4Kn, bit 13 set too" },
	{ 0x5000, 260, 520, "520-byte sectors" },
	{ 0x5000, 0x10000, 0x20000, "a size in both words" },
	{ 0x9000, 2048, 512, "bit 15 set: word 106 is not valid" },
	{ 0x1000, 2048, 512, "bit 14 clear: word 106 is not valid" },
	{ 0xFFFF, 2048, 512, "all ones: not valid" },
};

static void test_logical_sector_size(void **state)
{
	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(sector_cases); i++) {
		memset(id, 0, sizeof(id));
		id[106] = sector_cases[i].w106;
		id[117] = (u16)sector_cases[i].words;
		id[118] = (u16)(sector_cases[i].words >> 16);
		u32 got = ata_id_logical_sector_size(id);

		if (got != sector_cases[i].want)
			fail_msg("%s: got %u, want %u", sector_cases[i].what, got,
				 sector_cases[i].want);
	}
}

static void test_sectors(void **state)
{
	(void)state;
	memset(id, 0, sizeof(id));
	id[60] = 0x5678;
	id[61] = 0x0123;
	id[100] = 0x1111;
	id[101] = 0x2222;
	id[102] = 0x3333;
	id[103] = 0x0004;
	assert_int_equal(ata_id_sectors(id), 0x01235678);
	id[83] = 1u << 10; /* 48-bit address feature set */
	assert_int_equal(ata_id_sectors(id), 0x0004333322221111ull);
}

static void put_model(const char *text)
{
	char padded[40];

	memset(padded, ' ', sizeof(padded));
	memcpy(padded, text, strlen(text));
	for (u32 w = 0; w < 20; w++)
		id[27 + w] = (u16)((u8)padded[2 * w] << 8 | (u8)padded[2 * w + 1]);
}

static void test_model(void **state)
{
	char model[41];

	(void)state;
	memset(id, 0, sizeof(id));
	put_model("QEMU HARDDISK");
	ata_id_model(id, model, sizeof(model));
	assert_string_equal(model, "QEMU HARDDISK");
	put_model("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd");
	ata_id_model(id, model, sizeof(model));
	assert_string_equal(model, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd");
	ata_id_model(id, model, 9); /* a short buffer keeps whole byte pairs and the NUL */
	assert_string_equal(model, "ABCDEFGH");
	ata_id_model(id, model, 8);
	assert_string_equal(model, "ABCDEF");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logical_sector_size),
		cmocka_unit_test(test_sectors),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests_name("ata_identify", tests, NULL, NULL);
}
