/* Unit tests for lib/nvme_spec.c: PRP lists, status texts, Identify Controller/Namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "le.h"
#include "nvme_spec.h"
#include "unit_helpers.h"

#define PAGE 4096u
#define LIST_PHYS 0x7000ull

/* One transfer and the PRP entries it must produce: prp1, prp2, then list entries. */
static const struct {
	u64 phys;
	u32 bytes;
	u64 prp2;      /* 0: none; LIST_PHYS: a list */
	u32 nlist;     /* list entries */
	u64 first;     /* first list entry */
} prp_cases[] = {
	{ 0x100000, 512, 0, 0, 0 },                   /* one block inside a page */
	{ 0x100000, 4096, 0, 0, 0 },                  /* exactly one page */
	{ 0x100e00, 512, 0, 0, 0 },                   /* ends on the page's last byte */
	{ 0x100e00, 1024, 0x101000, 0, 0 },           /* crosses into the next page */
	{ 0x100000, 8192, 0x101000, 0, 0 },           /* two pages, aligned */
	{ 0x100004, 8192, LIST_PHYS, 2, 0x101000 },   /* unaligned: three pages */
	{ 0x100000, 12288, LIST_PHYS, 2, 0x101000 },  /* three pages */
	{ 0x100200, 128 * 1024, LIST_PHYS, 32, 0x101000 },
	{ 0x1ffffff000ull, 8192, 0x2000000000ull, 0, 0 }, /* above 4 GiB, 64-bit entries */
	{ 0x100000, 2u << 20, LIST_PHYS, 511, 0x101000 },
	{ 0x100800, 2u << 20, LIST_PHYS, 512, 0x101000 }, /* 513 pages: a full list page */
};

static void test_prp_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(prp_cases); i++) {
		u64 list[512], prp1 = 1, prp2 = 1;

		memset(list, 0xEE, sizeof(list));
		int rc = nvme_prp_build(prp_cases[i].phys, prp_cases[i].bytes, list, 512, LIST_PHYS,
					&prp1, &prp2);

		if (rc != 0 || prp1 != prp_cases[i].phys || prp2 != prp_cases[i].prp2)
			fail_msg("case %zu: rc %d prp1 0x%llx prp2 0x%llx", i, rc,
				 (unsigned long long)prp1, (unsigned long long)prp2);
		if (prp_cases[i].nlist) {
			assert_int_equal(list[0], prp_cases[i].first);
			for (u32 k = 1; k < prp_cases[i].nlist; k++)
				assert_int_equal(list[k], list[k - 1] + PAGE);
			if (prp_cases[i].nlist < 512)
				assert_int_equal(list[prp_cases[i].nlist], 0xEEEEEEEEEEEEEEEEull);
		}
		assert_int_equal(nvme_prp_pages(prp_cases[i].phys, prp_cases[i].bytes),
				 1 + (prp_cases[i].nlist ? prp_cases[i].nlist
							 : prp_cases[i].prp2 ? 1 : 0));
	}
}

static void test_prp_refusals(void **state)
{
	u64 list[8], prp1, prp2;

	(void)state;
	assert_int_equal(nvme_prp_build(0x100002, 512, list, 8, LIST_PHYS, &prp1, &prp2), -JB_EINVAL);
	assert_int_equal(nvme_prp_build(0x100000, 0, list, 8, LIST_PHYS, &prp1, &prp2), -JB_EINVAL);
	/* Ten pages need nine list entries: one more than the list holds. */
	assert_int_equal(nvme_prp_build(0x100000, 10 * PAGE, list, 8, LIST_PHYS, &prp1, &prp2),
			 -JB_EINVAL);
	assert_int_equal(nvme_prp_build(0x100000, 9 * PAGE, list, 8, LIST_PHYS, &prp1, &prp2), 0);
	/* A list that is not page aligned. */
	assert_int_equal(nvme_prp_build(0x100000, 3 * PAGE, list, 8, LIST_PHYS + 8, &prp1, &prp2),
			 -JB_EINVAL);
}

/* Seeded random transfers: the entries cover exactly the pages of [phys, phys + bytes). */
static void test_prp_random(void **state)
{
	u64 seed = test_seed(0x9e3);
	struct test_rng rng = { seed };
	static u64 list[512];

	(void)state;
	print_message("nvme prp random: seed 0x%llx\n", (unsigned long long)seed);
	for (int iter = 0; iter < 20000; iter++) {
		u64 phys = rng_below(&rng, 1ull << 40) & ~3ull;
		u32 bytes = (u32)rng_range(&rng, 1, 2u << 20);
		u64 prp1, prp2;
		u32 pages = nvme_prp_pages(phys, bytes);
		int rc = nvme_prp_build(phys, bytes, list, 512, LIST_PHYS, &prp1, &prp2);

		assert_int_equal(rc, 0);
		assert_int_equal(prp1, phys);
		u64 page = phys / PAGE * PAGE;

		if (pages == 1) {
			assert_int_equal(prp2, 0);
		} else if (pages == 2) {
			assert_int_equal(prp2, page + PAGE);
		} else {
			assert_int_equal(prp2, LIST_PHYS);
			for (u32 k = 0; k < pages - 1; k++)
				assert_int_equal(list[k], page + (u64)(k + 1) * PAGE);
			assert_true(list[pages - 2] + PAGE >= phys + bytes);
		}
	}
}

static void test_status_text(void **state)
{
	(void)state;
	/* status field = SCT << 8 | SC (DNR and More bits do not change the text) */
	assert_string_equal(nvme_status_text(0x281), "unrecovered read error");
	assert_string_equal(nvme_status_text(0x280), "write fault");
	assert_string_equal(nvme_status_text(0x080), "LBA out of range");
	assert_string_equal(nvme_status_text(0x4080), "LBA out of range");
	assert_string_equal(nvme_status_text(0x002), "invalid field in command");
	assert_string_equal(nvme_status_text(0x006), "internal error");
	assert_string_equal(nvme_status_text(0x101), "invalid queue identifier");
	assert_string_equal(nvme_status_text(0x0FE), "generic command error");
	assert_string_equal(nvme_status_text(0x1FE), "command specific error");
	assert_string_equal(nvme_status_text(0x2FE), "media or data integrity error");
	assert_string_equal(nvme_status_text(0x301), "path related error");
	assert_string_equal(nvme_status_text(0x7AA), "vendor specific error");
	assert_string_equal(nvme_status_text(0x5AA), "reserved status code type");
	assert_int_equal(NVME_STATUS_DNR(0x4281), 1);
	assert_int_equal(NVME_STATUS_DNR(0x0281), 0);
	assert_int_equal(NVME_STATUS_SCT(0x4281), 2);
	assert_int_equal(NVME_STATUS_SC(0x4281), 0x81);
}

static void fill_text(u8 *p, const char *s, u32 len)
{
	memset(p, ' ', len);
	memcpy(p, s, strlen(s));
}

static void test_id_ctrl(void **state)
{
	static u8 id[4096];
	struct nvme_ctrl_info c;

	(void)state;
	memset(id, 0, sizeof(id));
	fill_text(id + 4, "deadbeef", 20);
	fill_text(id + 24, "QEMU NVMe Ctrl", 40);
	id[77] = 7;
	put32(id + 88, 1000000);
	put32(id + 516, 256);
	nvme_parse_id_ctrl(id, 0, &c);
	assert_string_equal(c.serial, "deadbeef");
	assert_string_equal(c.model, "QEMU NVMe Ctrl");
	assert_int_equal(c.mdts_bytes, 512 * 1024);
	assert_int_equal(c.rtd3e_us, 1000000);
	assert_int_equal(c.nn, 256);
	nvme_parse_id_ctrl(id, 1, &c); /* MDTS counts minimum pages of 8 KiB */
	assert_int_equal(c.mdts_bytes, 1024 * 1024);
	id[77] = 0;
	nvme_parse_id_ctrl(id, 0, &c);
	assert_int_equal(c.mdts_bytes, 0);
	id[77] = 20; /* 2^32: no limit that fits */
	nvme_parse_id_ctrl(id, 0, &c);
	assert_int_equal(c.mdts_bytes, 0);
	/* A model that fills all 40 bytes, and a control character shown as '?'. */
	memset(id + 24, 'M', 40);
	id[30] = 0x07;
	nvme_parse_id_ctrl(id, 0, &c);
	assert_int_equal(strlen(c.model), 40);
	assert_int_equal(c.model[6], '?');
}

/* An Identify Namespace page: nsze blocks, formats (LBADS, MS) listed, flbas in use. */
static void make_id_ns(u8 *id, u64 nsze, u32 nformats, const u8 *lbads, const u16 *ms,
		       u8 flbas)
{
	memset(id, 0, 4096);
	put64(id, nsze);
	put64(id + 8, nsze);
	id[25] = (u8)(nformats - 1);
	id[26] = flbas;
	for (u32 i = 0; i < nformats; i++) {
		put16(id + 128 + 4 * i, ms[i]);
		id[128 + 4 * i + 2] = lbads[i];
	}
}

static void test_id_ns(void **state)
{
	static u8 id[4096];
	static const u8 lbads[] = { 9, 9, 12, 12, 13, 10 };
	static const u16 ms[] = { 0, 8, 0, 64, 0, 0 };
	struct nvme_ns_info ns;
	struct jb_diag d = { "" };

	(void)state;
	make_id_ns(id, 131072, 6, lbads, ms, 0);
	assert_int_equal(nvme_parse_id_ns(id, "nvme:0", &ns, &d), 0);
	assert_int_equal(ns.blocks, 131072);
	assert_int_equal(ns.block_size, 512);
	make_id_ns(id, 16384, 6, lbads, ms, 2);
	assert_int_equal(nvme_parse_id_ns(id, "nvme:0", &ns, &d), 0);
	assert_int_equal(ns.block_size, 4096);
	assert_int_equal(ns.blocks, 16384);
	/* FLBAS bit 4 (extended metadata) does not change the format index. */
	make_id_ns(id, 16384, 6, lbads, ms, 0x12);
	assert_int_equal(nvme_parse_id_ns(id, "nvme:0", &ns, &d), 0);
	assert_int_equal(ns.block_size, 4096);

	make_id_ns(id, 16384, 6, lbads, ms, 1);
	assert_int_equal(nvme_parse_id_ns(id, "nvme:1", &ns, &d), -JB_EUNSUPPORTED);
	assert_non_null(strstr(d.text, "nvme:1: LBA format 1 carries 8 bytes of metadata"));
	make_id_ns(id, 16384, 6, lbads, ms, 4);
	assert_int_equal(nvme_parse_id_ns(id, "nvme:2", &ns, &d), -JB_EUNSUPPORTED);
	assert_non_null(strstr(d.text, "nvme:2: logical blocks of 2^13 bytes"));
	make_id_ns(id, 16384, 6, lbads, ms, 5);
	assert_int_equal(nvme_parse_id_ns(id, "x", &ns, &d), -JB_EUNSUPPORTED);
	assert_non_null(strstr(d.text, "2^10 bytes"));
	make_id_ns(id, 16384, 2, lbads, ms, 3); /* format 3 is past NLBAF */
	assert_int_equal(nvme_parse_id_ns(id, "x", &ns, &d), -JB_EUNSUPPORTED);
	assert_non_null(strstr(d.text, "LBA format 3 in use, but only 2 formats"));
	make_id_ns(id, 0, 6, lbads, ms, 0);
	assert_int_equal(nvme_parse_id_ns(id, "nvme ns 3", &ns, &d), -JB_ENODEV);
	assert_non_null(strstr(d.text, "nvme ns 3 is not active"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prp_table),
		cmocka_unit_test(test_prp_refusals),
		cmocka_unit_test(test_prp_random),
		cmocka_unit_test(test_status_text),
		cmocka_unit_test(test_id_ctrl),
		cmocka_unit_test(test_id_ns),
	};

	return cmocka_run_group_tests_name("nvme_spec", tests, NULL, NULL);
}
