/* Unit tests for lib/part.c and lib/crc32.c: MBR and GPT disks built in memory, good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "disk_helpers.h"
#include "errors.h"
#include "part.h"

#define GPT_DISK 4096u /* sectors */
#define MBR_SIG 0x1234abcdu

static struct part_table tab;
static u8 scratch[16384];

/* ---- checks every successful scan must pass ---- */

static void check_table(const struct part_table *t, u64 disk_sectors)
{
	char text[PART_UUID_TEXT_SIZE];

	assert_true(t->n <= PART_MAX);
	assert_true(t->has_table || t->n == 0);
	for (u32 i = 0; i < t->n; i++) {
		const struct part *p = &t->part[i];

		assert_true(p->sectors > 0);
		assert_true(p->first_lba < disk_sectors && p->sectors <= disk_sectors - p->first_lba);
		assert_true(p->number >= 1);
		assert_true(i == 0 || p->number > t->part[i - 1].number);
		assert_int_equal(p->gpt, t->gpt);
		assert_non_null(memchr(p->label, '\0', sizeof(p->label)));
		assert_ptr_equal(part_by_number(t, p->number), p);
		assert_int_equal(part_uuid_text(t, p, text, sizeof(text)), 0);
		assert_int_equal(strlen(text), p->gpt ? 36 : 11);
		assert_non_null(part_by_uuid(t, text));
	}
}

/* Scans m with the given scratch size and disk size; a read must fit both. */
static int scan_sized(struct mem_disk *m, size_t scratch_len, u64 disk_sectors, struct jb_diag *d)
{
	m->scratch_len = scratch_len;
	m->bad_request = false;
	int rc = part_scan(mem_disk_read, m, disk_sectors, PART_SECTOR_SIZE, scratch, scratch_len, &tab, d);

	assert_false(m->bad_request);
	if (rc == 0)
		check_table(&tab, disk_sectors == PART_DISK_SIZE_UNKNOWN ? m->sectors : disk_sectors);
	else
		assert_true(d->text[0] != '\0' && tab.n == 0);
	return rc;
}

static int scan(struct mem_disk *m, struct jb_diag *d)
{
	return scan_sized(m, sizeof(scratch), m->sectors, d);
}

static void expect_ok(struct mem_disk *m, const char *want_warning)
{
	struct jb_diag d = { "stale" };
	int rc = scan(m, &d);

	if (rc != 0)
		fail_msg("rc %d (%s) \"%s\"", rc, jb_strerror(rc), d.text);
	if (want_warning ? !strstr(d.text, want_warning) : d.text[0] != '\0')
		fail_msg("warning \"%s\"; want \"%s\"", d.text, want_warning ? want_warning : "");
}

static void expect_fail(struct mem_disk *m, int want_rc, const char *want_text)
{
	struct jb_diag d = { "" };
	int rc = scan(m, &d);

	if (rc != want_rc || !strstr(d.text, want_text))
		fail_msg("rc %d (%s) \"%s\"; want %d (%s) containing \"%s\"", rc, jb_strerror(rc),
			 d.text, want_rc, jb_strerror(want_rc), want_text);
}

struct want {
	u32 number;
	u64 first, sectors;
	u8 mbr_type;
	const char *label; /* GPT only */
};

static void expect_parts(const struct want *w, u32 n)
{
	if (tab.n != n)
		fail_msg("%u partitions, want %u", tab.n, n);
	for (u32 i = 0; i < n; i++) {
		const struct part *p = &tab.part[i];

		if (p->number != w[i].number || p->first_lba != w[i].first ||
		    p->sectors != w[i].sectors || p->mbr_type != w[i].mbr_type)
			fail_msg("partition %u: number %u LBA %llu +%llu type 0x%02x; want %u %llu +%llu"
				 " 0x%02x", i, p->number, (unsigned long long)p->first_lba,
				 (unsigned long long)p->sectors, p->mbr_type, w[i].number,
				 (unsigned long long)w[i].first, (unsigned long long)w[i].sectors,
				 w[i].mbr_type);
		if (w[i].label)
			assert_string_equal(p->label, w[i].label);
	}
}

/* ---- CRC-32 ---- */

static void test_crc32(void **state)
{
	(void)state;
	/* The standard check value of CRC-32/ISO-HDLC, and chaining as zlib does it. */
	assert_int_equal(crc32_update(0, "123456789", 9), 0xcbf43926u);
	assert_int_equal(crc32_update(crc32_update(0, "1234", 4), "56789", 5), 0xcbf43926u);
	assert_int_equal(crc32_update(0, "", 0), 0);
	assert_int_equal(crc32_update(0, "a", 1), 0xe8b7be43u);
	static const u8 zeros[32];

	assert_int_equal(crc32_update(0, zeros, sizeof(zeros)), 0x190a55adu);
}

/* ---- no table ---- */

static void test_no_table(void **state)
{
	struct mem_disk *m = mem_disk_new(64);
	struct jb_diag d;

	(void)state;
	expect_ok(m, NULL);
	assert_false(tab.has_table);
	assert_int_equal(tab.n, 0);

	/* Partition entries without 0x55AA are not a table either. */
	mbr_put_entry(m->bytes, 0, 0, 0x83, 1, 10);
	expect_ok(m, NULL);
	assert_false(tab.has_table);

	/* An ELF core written to the whole disk, with 0x55AA at byte 510 by chance. */
	memcpy(m->bytes, "\x7f" "ELF", 4);
	mbr_put_boot_signature(m->bytes);
	expect_ok(m, NULL);
	assert_false(tab.has_table);

	/* A boot sector whose "boot flags" are not 0x00/0x80 (a FAT volume, say). */
	memset(m->bytes, 0, 4);
	m->bytes[MBR_ENTRY_OFF(2)] = 0x29;
	expect_ok(m, NULL);
	assert_false(tab.has_table);

	/* An empty but real MBR. */
	memset(m->bytes, 0, SECTOR);
	mbr_put_boot_signature(m->bytes);
	expect_ok(m, NULL);
	assert_true(tab.has_table);
	assert_false(tab.gpt);
	assert_int_equal(tab.n, 0);

	/* A zero-sector disk is not read at all. */
	d.text[0] = 'x';
	assert_int_equal(part_scan(mem_disk_read, m, 0, PART_SECTOR_SIZE, scratch, sizeof(scratch), &tab, &d), 0);
	assert_int_equal(tab.n, 0);
	assert_int_equal(m->reads, 5);
	assert_string_equal(d.text, "");

	/* Too small a scratch buffer. */
	assert_int_equal(part_scan(mem_disk_read, m, 64, PART_SECTOR_SIZE, scratch, 511, &tab, &d), -JB_EINVAL);
	assert_non_null(strstr(d.text, "511 bytes"));
	mem_disk_free(m);
}

/* ---- MBR ---- */

static void test_mbr_primaries(void **state)
{
	struct mem_disk *m = mem_disk_new(10000);
	static const struct want want[] = {
		{ 1, 2048, 2048, 0x83, "" },
		{ 3, 4096, 100, 0x82, "" },
		{ 4, 9000, 1000, 0x07, "" }, /* ends exactly at the disk end */
	};
	char text[PART_UUID_TEXT_SIZE];

	(void)state;
	put32(m->bytes + MBR_SIG_OFF, MBR_SIG);
	mbr_put_entry(m->bytes, 0, 0x80, 0x83, 2048, 2048);
	mbr_put_entry(m->bytes, 1, 0, 0x00, 3000, 10);   /* type 0: empty */
	mbr_put_entry(m->bytes, 2, 0, 0x82, 4096, 100);
	mbr_put_entry(m->bytes, 3, 0, 0x07, 9000, 1000);
	mbr_put_boot_signature(m->bytes);
	expect_ok(m, NULL);
	assert_true(tab.has_table);
	assert_false(tab.gpt);
	assert_int_equal(tab.mbr_signature, MBR_SIG);
	expect_parts(want, 3);

	assert_int_equal(part_uuid_text(&tab, &tab.part[0], text, sizeof(text)), 0);
	assert_string_equal(text, "1234abcd-01");
	assert_int_equal(part_uuid_text(&tab, &tab.part[2], text, sizeof(text)), 0);
	assert_string_equal(text, "1234abcd-04");
	assert_int_equal(part_uuid_text(&tab, &tab.part[2], text, 12), 0);
	assert_int_equal(part_uuid_text(&tab, &tab.part[2], text, 11), -JB_EINVAL);
	assert_string_equal(text, "");

	/* A zero-size entry is empty too; a signature of 0 still gives a PARTUUID. */
	put32(m->bytes + MBR_SIG_OFF, 0);
	mbr_put_entry(m->bytes, 1, 0, 0x83, 3000, 0);
	expect_ok(m, NULL);
	expect_parts(want, 3);
	assert_int_equal(part_uuid_text(&tab, &tab.part[1], text, sizeof(text)), 0);
	assert_string_equal(text, "00000000-03");
	mem_disk_free(m);
}

static void test_mbr_past_disk_end(void **state)
{
	struct mem_disk *m = mem_disk_new(10000);
	static const struct want want[] = { { 1, 2048, 2048, 0x83, NULL } };

	(void)state;
	mbr_put_entry(m->bytes, 0, 0, 0x83, 2048, 2048);
	mbr_put_entry(m->bytes, 1, 0, 0x83, 9000, 1001);        /* one sector too long */
	mbr_put_entry(m->bytes, 2, 0, 0x83, 20000, 1);          /* starts past the end */
	mbr_put_entry(m->bytes, 3, 0, 0x83, 0xffffffffu, 0xffffffffu); /* would wrap in 32 bits */
	mbr_put_boot_signature(m->bytes);
	expect_ok(m, "partition 2 (LBA 9000, 1001 sectors) lies past the disk end (10000 sectors)");
	expect_parts(want, 1);
	mem_disk_free(m);
}

/*
 * Primary 1, extended partition 2 at LBA 4096 holding logicals 5, 6, 7 (the chain runs
 * 4096 -> 6000 -> 7000 -> 8000, the EBR at 7000 without a logical), primary 3 after it.
 */
static struct mem_disk *make_extended(u8 ext_type)
{
	struct mem_disk *m = mem_disk_new(20000);
	u8 *b = m->bytes;

	put32(b + MBR_SIG_OFF, MBR_SIG);
	mbr_put_entry(b, 0, 0, 0x83, 2048, 2048);
	mbr_put_entry(b, 1, 0, ext_type, 4096, 8000);
	mbr_put_entry(b, 2, 0, 0x83, 12096, 1000);
	mbr_put_boot_signature(b);
	ebr_put(b + 4096 * SECTOR, 0x83, 2048, 1000, 6000 - 4096, 100);
	ebr_put(b + 6000 * SECTOR, 0x82, 1, 999, 7000 - 4096, 100);
	ebr_put(b + 7000 * SECTOR, 0x00, 0, 0, 8000 - 4096, 100);
	mbr_put_entry(b + 7000 * SECTOR, 0, 0, 0x05, 10, 10); /* not a logical: takes no number */
	ebr_put(b + 8000 * SECTOR, 0x07, 63, 4033, 0, 0); /* ends at the extended partition end */
	return m;
}

static const struct want extended_want[] = {
	{ 1, 2048, 2048, 0x83, "" },
	{ 2, 4096, 8000, 0x0f, "" },
	{ 3, 12096, 1000, 0x83, "" },
	{ 5, 6144, 1000, 0x83, "" },
	{ 6, 6001, 999, 0x82, "" },
	{ 7, 8063, 4033, 0x07, "" },
};

static void test_mbr_logicals(void **state)
{
	static const u8 ext_types[] = { 0x05, 0x0f, 0x85 };
	struct want want[JB_ARRAY_LEN(extended_want)];
	char text[PART_UUID_TEXT_SIZE];

	(void)state;
	memcpy(want, extended_want, sizeof(want));
	for (size_t i = 0; i < JB_ARRAY_LEN(ext_types); i++) {
		struct mem_disk *m = make_extended(ext_types[i]);

		want[1].mbr_type = ext_types[i];
		expect_ok(m, NULL);
		expect_parts(want, JB_ARRAY_LEN(want));
		assert_int_equal(part_uuid_text(&tab, part_by_number(&tab, 6), text, sizeof(text)), 0);
		assert_string_equal(text, "1234abcd-06");
		/* Small and odd scratch sizes read the same table. */
		struct jb_diag d;

		assert_int_equal(scan_sized(m, 512, m->sectors, &d), 0);
		expect_parts(want, JB_ARRAY_LEN(want));
		assert_int_equal(scan_sized(m, 1000, m->sectors, &d), 0);
		expect_parts(want, JB_ARRAY_LEN(want));
		mem_disk_free(m);
	}
}

static void test_mbr_two_extended(void **state)
{
	/* Linux follows every extended partition in slot order, numbering on. */
	struct mem_disk *m = make_extended(0x05);
	static const struct want want[] = {
		{ 1, 2048, 2048, 0x83, "" },  { 2, 4096, 8000, 0x05, "" },  { 4, 14000, 2000, 0x0f, "" },
		{ 5, 6144, 1000, 0x83, "" },  { 6, 6001, 999, 0x82, "" },   { 7, 8063, 4033, 0x07, "" },
		{ 8, 14100, 500, 0x83, "" },
	};

	(void)state;
	mbr_put_entry(m->bytes, 2, 0, 0, 0, 0);
	mbr_put_entry(m->bytes, 3, 0, 0x0f, 14000, 2000);
	ebr_put(m->bytes + 14000 * SECTOR, 0x83, 100, 500, 0, 0);
	expect_ok(m, NULL);
	expect_parts(want, JB_ARRAY_LEN(want));
	mem_disk_free(m);
}

static void test_mbr_bad_chains(void **state)
{
	struct mem_disk *m;
	u8 *b;

	(void)state;
	/* A loop: the last EBR links back to the first. Logicals 5-7 are kept. */
	m = make_extended(0x0f);
	b = m->bytes;
	ebr_put(b + 8000 * SECTOR, 0x07, 63, 4033, 0, 100);
	expect_ok(m, "EBR at LBA 8000: link to LBA 4096 does not move forward");
	expect_parts(extended_want, JB_ARRAY_LEN(extended_want));
	/* An EBR that links to itself. */
	ebr_put(b + 8000 * SECTOR, 0x07, 63, 4033, 8000 - 4096, 100);
	expect_ok(m, "EBR at LBA 8000: link to LBA 8000 does not move forward");
	expect_parts(extended_want, JB_ARRAY_LEN(extended_want));
	/* A backwards link that is not a loop is refused too: the chain must move forward. */
	ebr_put(b + 6000 * SECTOR, 0x82, 1, 999, 5000 - 4096, 100);
	ebr_put(b + 5000 * SECTOR, 0x83, 1, 10, 0, 0);
	expect_ok(m, "EBR at LBA 6000: link to LBA 5000 does not move forward");
	expect_parts(extended_want, 5);
	/* A link past the extended partition's end. */
	ebr_put(b + 6000 * SECTOR, 0x82, 1, 999, 8000, 100);
	expect_ok(m, "EBR at LBA 6000: link to LBA 12096 lies outside extended partition 2");
	expect_parts(extended_want, 5);
	/* An EBR without its signature ends the chain. */
	ebr_put(b + 6000 * SECTOR, 0x82, 1, 999, 7000 - 4096, 100);
	b[7000 * SECTOR + 511] = 0;
	expect_ok(m, "EBR at LBA 7000: no 0x55AA signature");
	expect_parts(extended_want, 5);
	/* A logical partition that leaves its extended partition keeps its number, unused. */
	b[7000 * SECTOR + 511] = 0xaa;
	ebr_put(b + 8000 * SECTOR, 0x07, 63, 4034, 0, 0);
	expect_ok(m, "partition 7 (LBA 8063, 4034 sectors) lies outside extended partition 2 after"
		     " its EBR (LBAs 8001..12095); left out");
	expect_parts(extended_want, 5);
	/* ... and so does one at its own EBR (relative start 0). */
	ebr_put(b + 6000 * SECTOR, 0x82, 0, 999, 7000 - 4096, 100);
	ebr_put(b + 8000 * SECTOR, 0x07, 63, 4033, 0, 0);
	expect_ok(m, "partition 6 (LBA 6000");
	assert_int_equal(tab.n, 5);
	assert_null(part_by_number(&tab, 6));
	assert_non_null(part_by_number(&tab, 7));
	mem_disk_free(m);

	/* An extended partition running past the disk end: left out, its chain still read. */
	m = make_extended(0x05);
	mbr_put_entry(m->bytes, 1, 0, 0x05, 4096, 30000);
	ebr_put(m->bytes + 8000 * SECTOR, 0x07, 63, 4033, 12000 - 4096, 100);
	ebr_put(m->bytes + 12000 * SECTOR, 0x83, 100, 7900, 0, 0); /* ends at the disk end */
	expect_ok(m, "partition 2 (LBA 4096, 30000 sectors) lies past the disk end");
	assert_int_equal(tab.n, 6);
	assert_null(part_by_number(&tab, 2));
	assert_int_equal(part_by_number(&tab, 8)->first_lba, 12100);
	mem_disk_free(m);
}

static void test_mbr_runaway_chains(void **state)
{
	struct mem_disk *m = mem_disk_new(2000);
	u8 *b = m->bytes;
	struct jb_diag d;

	(void)state;
	/* 200 EBRs in a row, each with a one-sector logical: more than a table holds. */
	mbr_put_entry(b, 0, 0, 0x05, 100, 1000);
	mbr_put_boot_signature(b);
	for (u32 i = 0; i < 200; i++)
		ebr_put(b + (100 + 2 * i) * SECTOR, 0x83, 1, 1, 2 * i + 2, 2);
	expect_fail(m, -JB_ETOOBIG, "more than 128 partitions");
	/* Without logicals, the chain stops after EBR_CHAIN_MAX links with a warning. */
	for (u32 i = 0; i < 200; i++)
		ebr_put(b + (100 + 2 * i) * SECTOR, 0, 0, 0, 2 * i + 2, 2);
	assert_int_equal(scan(m, &d), 0);
	assert_non_null(strstr(d.text, "EBR chain longer than 128 links, stopped at LBA 356"));
	assert_int_equal(tab.n, 1);
	assert_true(m->reads <= 1 + 2 * 128 + 1);
	/* 124 logicals and 4 primaries fill the table exactly. */
	memset(b, 0, SECTOR);
	mbr_put_entry(b, 0, 0, 0x05, 100, 1000);
	mbr_put_entry(b, 1, 0, 0x83, 1100, 1);
	mbr_put_entry(b, 2, 0, 0x83, 1101, 1);
	mbr_put_entry(b, 3, 0, 0x83, 1102, 1);
	mbr_put_boot_signature(b);
	for (u32 i = 0; i < 124; i++)
		ebr_put(b + (100 + 2 * i) * SECTOR, 0x83, 1, 1, i < 123 ? 2 * i + 2 : 0, i < 123 ? 2 : 0);
	expect_ok(m, NULL);
	assert_int_equal(tab.n, PART_MAX);
	assert_int_equal(tab.part[PART_MAX - 1].number, 128);
	assert_int_equal(tab.part[PART_MAX - 1].first_lba, 100 + 2 * 123 + 1);
	mem_disk_free(m);
}

/* ---- GPT ---- */

static const u16 name_efi[] = { 'E', 'F', 'I', ' ', 's', 'y', 's', 't', 'e', 'm' };
static const u16 name_unicode[] = { 0xdc, 'n', 0xef, 'c', 0xf8, 'd', 0xe9, ' ', 0x2713 };
static const u16 name_emoji[] = { 's', 'w', 'a', 'p', ' ', 0xd83d, 0xde00 };
static const u16 name_lone[] = { 'a', 0xd800, 'b', 0xdc00 };
#define UTF8_UNICODE "\xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xe2\x9c\x93"
#define UTF8_EMOJI "swap \xf0\x9f\x98\x80"
#define UTF8_LONE "a\xef\xbf\xbd" "b\xef\xbf\xbd"

static u8 type_linux[16], type_efi[16], type_swap[16];

static void uuid_for(u8 *g, u32 index)
{
	/* 01234567-89ab-cdef-0123-4567890abcNN */
	guid_make(g, 0x01234567, 0x89ab, 0xcdef, 0x01234567890abc00ull + index);
}

/*
 * The standard test GPT on GPT_DISK sectors, 128 entries of esize bytes: entry 0 (EFI), entry 1
 * unused, entries 2-4 with non-ASCII names, entry 5 a 36-unit name, entry 6 with unpaired
 * surrogates, entry 127 (number 128) the last.
 */
static struct mem_disk *make_gpt(struct gpt_layout *l, u32 esize)
{
	struct mem_disk *m = mem_disk_new(GPT_DISK);
	u16 long_name[36], cjk[36];
	u8 uuid[16];

	guid_make(type_efi, 0xc12a7328, 0xf81f, 0x11d2, 0xba4b00a0c93ec93bull);
	guid_make(type_linux, 0x0fc63daf, 0x8483, 0x4772, 0x8e793d69d8477de4ull);
	guid_make(type_swap, 0x0657fd6d, 0xa4ab, 0x43c4, 0x84e50933c84b4f4full);
	for (u32 i = 0; i < 36; i++) {
		long_name[i] = (u16)(i < 26 ? 'a' + i : '0' + i - 26);
		cjk[i] = 0x4e2d;
	}
	gpt_layout_init(l, GPT_DISK, 128, esize);
	u64 f = l->first_usable;

	uuid_for(uuid, 0);
	gpt_put_entry(m->bytes, l, 0, type_efi, uuid, f, f + 99, name_efi, JB_ARRAY_LEN(name_efi));
	uuid_for(uuid, 2);
	gpt_put_entry(m->bytes, l, 2, type_linux, uuid, f + 100, f + 1099, name_unicode,
		      JB_ARRAY_LEN(name_unicode));
	uuid_for(uuid, 3);
	gpt_put_entry(m->bytes, l, 3, type_swap, uuid, f + 1100, f + 1100, name_emoji,
		      JB_ARRAY_LEN(name_emoji));
	uuid_for(uuid, 4);
	gpt_put_entry(m->bytes, l, 4, type_linux, uuid, f + 1200, f + 1299, cjk, 36);
	uuid_for(uuid, 5);
	gpt_put_entry(m->bytes, l, 5, type_linux, uuid, f + 1300, f + 1399, long_name, 36);
	uuid_for(uuid, 6);
	gpt_put_entry(m->bytes, l, 6, type_linux, uuid, f + 1400, f + 1499, name_lone,
		      JB_ARRAY_LEN(name_lone));
	uuid_for(uuid, 127);
	gpt_put_entry(m->bytes, l, 127, type_linux, uuid, f + 2000, l->last_usable, NULL, 0);
	gpt_seal(m->bytes, l);
	return m;
}

static void expect_std_gpt(const struct gpt_layout *l)
{
	u64 f = l->first_usable;
	char cjk[109];
	const struct want want[] = {
		{ 1, f, 100, 0, "EFI system" },
		{ 3, f + 100, 1000, 0, UTF8_UNICODE },
		{ 4, f + 1100, 1, 0, UTF8_EMOJI },
		{ 5, f + 1200, 100, 0, NULL },
		{ 6, f + 1300, 100, 0, "abcdefghijklmnopqrstuvwxyz0123456789" },
		{ 7, f + 1400, 100, 0, UTF8_LONE },
		{ 128, f + 2000, l->last_usable - f - 2000 + 1, 0, "" },
	};

	assert_true(tab.has_table);
	assert_true(tab.gpt);
	assert_int_equal(tab.mbr_signature, 0);
	assert_memory_equal(tab.disk_guid, l->disk_guid, 16);
	expect_parts(want, JB_ARRAY_LEN(want));
	for (int i = 0; i < 36; i++)
		memcpy(cjk + 3 * i, "\xe4\xb8\xad", 3);
	cjk[108] = '\0';
	assert_string_equal(tab.part[3].label, cjk);
	assert_memory_equal(tab.part[0].type_guid, type_efi, 16);
	assert_memory_equal(tab.part[1].type_guid, type_linux, 16);
	assert_memory_equal(tab.part[2].type_guid, type_swap, 16);
}

static void test_gpt_valid(void **state)
{
	struct gpt_layout l;
	struct mem_disk *m = make_gpt(&l, 128);
	char text[PART_UUID_TEXT_SIZE];
	struct jb_diag d;

	(void)state;
	expect_ok(m, NULL);
	assert_false(tab.used_backup_gpt);
	expect_std_gpt(&l);
	assert_int_equal(part_uuid_text(&tab, &tab.part[0], text, sizeof(text)), 0);
	assert_string_equal(text, "01234567-89ab-cdef-0123-4567890abc00");
	assert_int_equal(part_uuid_text(&tab, &tab.part[6], text, sizeof(text)), 0);
	assert_string_equal(text, "01234567-89ab-cdef-0123-4567890abc7f");
	assert_int_equal(part_uuid_text(&tab, &tab.part[0], text, 36), -JB_EINVAL);
	assert_string_equal(text, "");
	assert_int_equal(part_guid_text(tab.part[0].type_guid, text, sizeof(text)), 0);
	assert_string_equal(text, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
	/* Only the primary is read. */
	assert_true(m->sectors_read == 1 + 1 + 32);

	/* Scratch of one sector, and of a size that is not a whole number of sectors. */
	assert_int_equal(scan_sized(m, 512, m->sectors, &d), 0);
	expect_std_gpt(&l);
	assert_int_equal(scan_sized(m, 1500, m->sectors, &d), 0);
	expect_std_gpt(&l);
	/* An unknown disk size is fine while the primary is good. */
	assert_int_equal(scan_sized(m, sizeof(scratch), PART_DISK_SIZE_UNKNOWN, &d), 0);
	expect_std_gpt(&l);
	/* A hybrid MBR (0xEE not in the first slot, other entries beside it) still means GPT. */
	mbr_put_entry(m->bytes, 0, 0x80, 0x0c, 34, 100);
	mbr_put_entry(m->bytes, 1, 0, 0xee, 1, 33);
	expect_ok(m, NULL);
	expect_std_gpt(&l);
	mem_disk_free(m);
}

static void test_gpt_entry_sizes(void **state)
{
	/* 256-byte entries; 384-byte ones straddle sector and read boundaries. */
	static const u32 sizes[] = { 256, 384, 512, 4096 };

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(sizes); i++) {
		struct gpt_layout l;
		struct mem_disk *m = make_gpt(&l, sizes[i]);
		struct jb_diag d;

		expect_ok(m, NULL);
		expect_std_gpt(&l);
		assert_int_equal(scan_sized(m, 512, m->sectors, &d), 0);
		expect_std_gpt(&l);
		assert_int_equal(scan_sized(m, 2560, m->sectors, &d), 0);
		expect_std_gpt(&l);
		mem_disk_free(m);
	}
}

static void test_gpt_backup(void **state)
{
	struct gpt_layout l;
	struct mem_disk *m = make_gpt(&l, 128);
	u8 *primary = m->bytes + SECTOR;
	struct jb_diag d;

	(void)state;
	/* A damaged primary header: the backup at the disk's last LBA. */
	primary[60] ^= 1; /* disk GUID */
	assert_int_equal(scan(m, &d), 0);
	assert_non_null(strstr(d.text, "GPT header at LBA 1: CRC mismatch (stored 0x"));
	assert_non_null(strstr(d.text, "); using the backup at LBA 4095"));
	assert_true(tab.used_backup_gpt);
	expect_std_gpt(&l);
	primary[60] ^= 1;
	expect_ok(m, NULL);
	assert_false(tab.used_backup_gpt);

	/* A damaged primary array under a good header. */
	m->bytes[2 * SECTOR + 200] ^= 0x40;
	expect_ok(m, "GPT entry array at LBA 2: CRC mismatch (stored 0x");
	assert_true(tab.used_backup_gpt);
	expect_std_gpt(&l);

	/* Both arrays damaged. */
	m->bytes[l.backup_array * SECTOR + 5] ^= 1;
	expect_fail(m, -JB_EBADIMG, "GPT entry array at LBA 2: CRC mismatch");
	expect_fail(m, -JB_EBADIMG, "and no valid backup (GPT entry array at LBA 4063: CRC mismatch");
	assert_int_equal(tab.n, 0);
	assert_false(tab.gpt);
	m->bytes[l.backup_array * SECTOR + 5] ^= 1;

	/* Both headers damaged. */
	m->bytes[SECTOR + 1] = 'X';
	m->bytes[(GPT_DISK - 1) * SECTOR + 24] ^= 1; /* MyLBA, CRC fixed: wrong place */
	gpt_fix_header_crc(m->bytes + (GPT_DISK - 1) * SECTOR);
	expect_fail(m, -JB_EBADIMG, "GPT header at LBA 1: no \"EFI PART\" signature, and no valid"
				    " backup (GPT header at LBA 4095: MyLBA is 4094)");
	mem_disk_free(m);
}

static void test_gpt_backup_elsewhere(void **state)
{
	/* A disk image copied to a larger disk: the backup is where AlternateLBA says, not at
	 * the end; it is found while the primary header is good. */
	struct gpt_layout l;
	struct mem_disk *m = make_gpt(&l, 128);
	struct mem_disk *big = mem_disk_new(GPT_DISK + 1000);
	struct jb_diag d;

	(void)state;
	memcpy(big->bytes, m->bytes, (size_t)GPT_DISK * SECTOR);
	big->bytes[2 * SECTOR] ^= 1;
	assert_int_equal(scan(big, &d), 0);
	assert_non_null(strstr(d.text, "using the backup at LBA 4095"));
	expect_std_gpt(&l);
	/* With the primary header gone, only the disk's last LBA is tried. */
	big->bytes[SECTOR + 10] = 2;
	assert_int_equal(scan(big, &d), -JB_EBADIMG);
	assert_non_null(strstr(d.text, "GPT header at LBA 1: revision 0x00020000 is not 1.x"));
	assert_non_null(strstr(d.text, "no valid backup (GPT header at LBA 5095: no \"EFI PART\""));
	/* With the disk size unknown, there is nowhere to look. */
	assert_int_equal(scan_sized(big, sizeof(scratch), PART_DISK_SIZE_UNKNOWN, &d), -JB_EBADIMG);
	assert_non_null(strstr(d.text, "no backup GPT to try (disk size unknown)"));
	mem_disk_free(big);
	mem_disk_free(m);
}

/* Changes a 32-bit header field of both headers (CRC made right again) and scans. */
static void gpt_set_both(struct mem_disk *m, const struct gpt_layout *l, u32 off, u32 v)
{
	put32(m->bytes + SECTOR + off, v);
	put32(m->bytes + l->backup_header * SECTOR + off, v);
	gpt_fix_header_crc(m->bytes + SECTOR);
	gpt_fix_header_crc(m->bytes + l->backup_header * SECTOR);
}

static void test_gpt_header_fields(void **state)
{
	struct gpt_layout l;
	struct mem_disk *m = make_gpt(&l, 128);

	(void)state;
	gpt_set_both(m, &l, 12, 91);
	expect_fail(m, -JB_EBADIMG, "GPT header at LBA 1: header size 91 is outside 92..512");
	gpt_set_both(m, &l, 12, 513);
	expect_fail(m, -JB_EBADIMG, "header size 513 is outside 92..512");
	gpt_set_both(m, &l, 12, 512); /* legal: the CRC then covers the zero tail */
	expect_ok(m, NULL);
	gpt_set_both(m, &l, 12, 92);

	gpt_set_both(m, &l, 84, 100);
	expect_fail(m, -JB_EBADIMG, "partition entry size 100 is not a multiple of 128");
	gpt_set_both(m, &l, 84, 0);
	expect_fail(m, -JB_EBADIMG, "partition entry size 0 is not");
	gpt_set_both(m, &l, 84, 200);
	expect_fail(m, -JB_EBADIMG, "partition entry size 200 is not");
	gpt_set_both(m, &l, 84, 8192);
	expect_fail(m, -JB_EBADIMG, "partition entry size 8192 is not");
	gpt_set_both(m, &l, 84, 128);

	gpt_set_both(m, &l, 80, 0x80000000u);
	expect_fail(m, -JB_EBADIMG, "2147483648 partition entries of 128 bytes exceed");
	gpt_set_both(m, &l, 80, 129); /* spills into the usable area */
	expect_fail(m, -JB_EBADIMG, "entry array at LBA 2 (33 sectors) overlaps the usable LBAs");
	gpt_set_both(m, &l, 80, 128);

	gpt_set_both(m, &l, 8, 0x00020000);
	expect_fail(m, -JB_EBADIMG, "revision 0x00020000 is not 1.x");
	gpt_set_both(m, &l, 8, 0x00010001); /* a later 1.x is fine */
	expect_ok(m, NULL);
	gpt_set_both(m, &l, 8, 0x00010000);

	/* LastUsableLBA past the disk: a header written for a larger disk. */
	put64(m->bytes + SECTOR + 48, GPT_DISK);
	gpt_fix_header_crc(m->bytes + SECTOR);
	expect_ok(m, "GPT header at LBA 1: LastUsableLBA 4096 lies past the disk end (4096 sectors)");
	/* FirstUsable > LastUsable. */
	put64(m->bytes + SECTOR + 48, 30);
	gpt_fix_header_crc(m->bytes + SECTOR);
	expect_ok(m, "FirstUsableLBA 34 is past LastUsableLBA 30");
	/* The header inside its own usable range. */
	put64(m->bytes + SECTOR + 40, 1);
	put64(m->bytes + SECTOR + 48, l.last_usable);
	gpt_fix_header_crc(m->bytes + SECTOR);
	expect_ok(m, "lies inside its usable LBAs 1..4062");
	put64(m->bytes + SECTOR + 40, l.first_usable);
	/* The array past the disk end, and over the header. */
	put64(m->bytes + SECTOR + 72, GPT_DISK - 10);
	gpt_fix_header_crc(m->bytes + SECTOR);
	expect_ok(m, "entry array at LBA 4086 (32 sectors) lies past the disk end");
	put64(m->bytes + SECTOR + 72, 0);
	gpt_fix_header_crc(m->bytes + SECTOR);
	expect_ok(m, "entry array at LBA 0 (32 sectors) overlaps the header");
	put64(m->bytes + SECTOR + 72, 2);
	gpt_fix_header_crc(m->bytes + SECTOR);
	expect_ok(m, NULL);

	/* No entries at all is a valid, empty GPT. */
	gpt_set_both(m, &l, 80, 0);
	put32(m->bytes + SECTOR + 88, 0);
	gpt_fix_header_crc(m->bytes + SECTOR);
	expect_ok(m, NULL);
	assert_true(tab.gpt);
	assert_int_equal(tab.n, 0);
	mem_disk_free(m);
}

static void test_gpt_entries_outside(void **state)
{
	struct gpt_layout l;
	struct mem_disk *m = make_gpt(&l, 128);
	u8 uuid[16];

	(void)state;
	uuid_for(uuid, 10);
	gpt_put_entry(m->bytes, &l, 10, type_linux, uuid, l.last_usable, l.last_usable + 1, NULL, 0);
	gpt_put_entry(m->bytes, &l, 11, type_linux, uuid, 5, 40, NULL, 0);
	gpt_put_entry(m->bytes, &l, 12, type_linux, uuid, 3000, 2999, NULL, 0);
	gpt_put_entry(m->bytes, &l, 13, type_linux, uuid, 0, UINT64_MAX, NULL, 0);
	gpt_put_entry(m->bytes, &l, 14, type_linux, uuid, l.first_usable - 1, l.first_usable, NULL, 0);
	gpt_seal(m->bytes, &l);
	expect_ok(m, "GPT partition 11 (LBAs 4062..4063) lies outside the usable LBAs 34..4062;"
		     " left out, as are others");
	expect_std_gpt(&l);
	mem_disk_free(m);
}

static void test_gpt_too_many(void **state)
{
	struct gpt_layout l;
	struct mem_disk *m = mem_disk_new(GPT_DISK);
	u8 uuid[16];

	(void)state;
	guid_make(type_linux, 0x0fc63daf, 0x8483, 0x4772, 0x8e793d69d8477de4ull);
	gpt_layout_init(&l, GPT_DISK, 256, 128);
	for (u32 i = 0; i < 256; i += 2) {
		uuid_for(uuid, i);
		gpt_put_entry(m->bytes, &l, i, type_linux, uuid, l.first_usable + i, l.first_usable + i,
			      NULL, 0);
	}
	gpt_seal(m->bytes, &l);
	expect_ok(m, NULL);
	assert_int_equal(tab.n, 128);
	assert_int_equal(tab.part[127].number, 255);
	gpt_put_entry(m->bytes, &l, 255, type_linux, uuid, l.first_usable + 255, l.first_usable + 255,
		      NULL, 0);
	gpt_seal(m->bytes, &l);
	m->sectors_read = 0;
	expect_fail(m, -JB_ETOOBIG, "GPT at LBA 1: 129 partitions in use, more than 128");
	assert_int_equal(m->sectors_read, 1 + 1 + 64); /* the backup says the same: not read */
	mem_disk_free(m);
}

static void test_gpt_tiny_disks(void **state)
{
	(void)state;
	/* A protective MBR on a disk too small for any GPT: nothing past the end is read. */
	for (u64 sectors = 1; sectors <= 3; sectors++) {
		struct mem_disk *m = mem_disk_new(sectors);

		mbr_put_entry(m->bytes, 0, 0, 0xee, 1, 100);
		mbr_put_boot_signature(m->bytes);
		expect_fail(m, -JB_EBADIMG, "GPT header at LBA 1: ");
		if (sectors == 1)
			expect_fail(m, -JB_EBADIMG, "past the disk end (1 sectors), and no room for a"
						    " backup GPT");
		if (sectors == 2)
			expect_fail(m, -JB_EBADIMG, "no \"EFI PART\" signature, and no room");
		if (sectors == 3)
			expect_fail(m, -JB_EBADIMG, "no valid backup (GPT header at LBA 2: no \"EFI");
		mem_disk_free(m);
	}
}

/* ---- lookups ---- */

static void test_lookups(void **state)
{
	struct gpt_layout l;
	struct mem_disk *m = make_gpt(&l, 128);

	(void)state;
	expect_ok(m, NULL);
	assert_ptr_equal(part_by_number(&tab, 1), &tab.part[0]);
	assert_ptr_equal(part_by_number(&tab, 128), &tab.part[6]);
	assert_null(part_by_number(&tab, 2)); /* unused entry */
	assert_null(part_by_number(&tab, 0));
	assert_null(part_by_number(&tab, 129));

	assert_ptr_equal(part_by_uuid(&tab, "01234567-89ab-cdef-0123-4567890abc02"), &tab.part[1]);
	assert_ptr_equal(part_by_uuid(&tab, "01234567-89AB-CDEF-0123-4567890ABC02"), &tab.part[1]);
	assert_ptr_equal(part_by_uuid(&tab, "01234567-89aB-cDeF-0123-4567890AbC7F"), &tab.part[6]);
	assert_null(part_by_uuid(&tab, "01234567-89ab-cdef-0123-4567890abc01"));
	assert_null(part_by_uuid(&tab, "01234567-89ab-cdef-0123-4567890abc0"));
	assert_null(part_by_uuid(&tab, "01234567-89ab-cdef-0123-4567890abc022"));
	assert_null(part_by_uuid(&tab, "0123456789abcdef01234567890abc02"));
	assert_null(part_by_uuid(&tab, ""));
	assert_null(part_by_uuid(&tab, NULL));

	assert_ptr_equal(part_by_label(&tab, "EFI system"), &tab.part[0]);
	assert_ptr_equal(part_by_label(&tab, UTF8_UNICODE), &tab.part[1]);
	assert_ptr_equal(part_by_label(&tab, UTF8_EMOJI), &tab.part[2]);
	assert_ptr_equal(part_by_label(&tab, "abcdefghijklmnopqrstuvwxyz0123456789"), &tab.part[4]);
	assert_null(part_by_label(&tab, "efi system"));  /* exact match only */
	assert_null(part_by_label(&tab, "EFI"));
	assert_null(part_by_label(&tab, "EFI system "));
	assert_null(part_by_label(&tab, ""));             /* not the unnamed partition 128 */
	assert_null(part_by_label(&tab, NULL));
	mem_disk_free(m);

	/* MBR: PARTUUID ssssssss-nn, case-insensitively; no labels. */
	m = make_extended(0x05);
	expect_ok(m, NULL);
	assert_ptr_equal(part_by_uuid(&tab, "1234abcd-05"), part_by_number(&tab, 5));
	assert_ptr_equal(part_by_uuid(&tab, "1234ABCD-07"), part_by_number(&tab, 7));
	assert_ptr_equal(part_by_uuid(&tab, "1234abcd-02"), part_by_number(&tab, 2));
	assert_null(part_by_uuid(&tab, "1234abcd-04"));
	assert_null(part_by_uuid(&tab, "1234abcd-5"));
	assert_null(part_by_uuid(&tab, "1234abcd"));
	assert_null(part_by_label(&tab, ""));
	assert_null(part_by_label(&tab, "x"));
	mem_disk_free(m);
}

/* ---- read errors ---- */

static void expect_read_error(struct mem_disk *m, u64 lba, int rc, const char *want_text)
{
	m->nfail = 0;
	mem_disk_fail_at(m, lba);
	m->fail_rc = rc;
	expect_fail(m, rc, want_text);
	m->nfail = 0;
}

static void test_read_errors(void **state)
{
	struct mem_disk *m = make_extended(0x05);
	struct jb_diag d;

	(void)state;
	expect_read_error(m, 0, -JB_EIO, "MBR at LBA 0: mem disk: injected error at LBA 0");
	expect_read_error(m, 0, -JB_ETIMEDOUT, "MBR at LBA 0");
	expect_read_error(m, 7000, -JB_EIO, "EBR at LBA 7000: mem disk: injected error");
	mem_disk_free(m);

	struct gpt_layout l;

	m = make_gpt(&l, 128);
	/* The primary unreadable: the backup. */
	mem_disk_fail_at(m, 1);
	assert_int_equal(scan(m, &d), 0);
	assert_non_null(strstr(d.text, "GPT header at LBA 1: mem disk: injected error at LBA 1;"
				       " using the backup at LBA 4095"));
	expect_std_gpt(&l);
	m->nfail = 0;
	mem_disk_fail_at(m, 20);
	assert_int_equal(scan(m, &d), 0);
	assert_non_null(strstr(d.text, "GPT entry array at LBA 2: mem disk: injected error at LBA 20"));
	assert_true(tab.used_backup_gpt);
	/* Both unreadable: the read error is what comes back. */
	mem_disk_fail_at(m, GPT_DISK - 2);
	expect_fail(m, -JB_EIO, "and no valid backup (GPT entry array at LBA 4063: mem disk");
	m->nfail = 0;
	/* A damaged primary and an unreadable backup: still the read error. */
	m->bytes[SECTOR + 100] = 1; /* past HeaderSize: not covered by the CRC, harmless */
	expect_ok(m, NULL);
	m->bytes[SECTOR + 70] ^= 1;
	mem_disk_fail_at(m, GPT_DISK - 1);
	expect_fail(m, -JB_EIO, "GPT header at LBA 1: CRC mismatch");
	m->nfail = 0;
	/* A callback that gives no text of its own. */
	mem_disk_free(m);
}

static int read_silent_error(void *ctx, u64 lba, u32 count, void *buf, struct jb_diag *d)
{
	(void)ctx, (void)lba, (void)count, (void)buf, (void)d;
	return -JB_ERANGE;
}

static void test_read_error_no_text(void **state)
{
	struct jb_diag d;

	(void)state;
	assert_int_equal(part_scan(read_silent_error, NULL, 100, PART_SECTOR_SIZE, scratch, sizeof(scratch), &tab, &d),
			 -JB_ERANGE);
	assert_string_equal(d.text, "MBR at LBA 0: read past the end of the disk");
	/* d may be NULL, on failure and on a success with warnings. */
	struct mem_disk *m = make_extended(0x05);

	ebr_put(m->bytes + 8000 * SECTOR, 0x07, 63, 4033, 0, 100);
	m->scratch_len = sizeof(scratch);
	assert_int_equal(part_scan(mem_disk_read, m, m->sectors, PART_SECTOR_SIZE, scratch, sizeof(scratch), &tab, NULL), 0);
	assert_int_equal(tab.n, JB_ARRAY_LEN(extended_want));
	mem_disk_free(m);
	assert_int_equal(part_scan(read_silent_error, NULL, 100, PART_SECTOR_SIZE, scratch, sizeof(scratch), &tab, NULL),
			 -JB_ERANGE);
}

/* ---- random tables: never crash, never read out of bounds, invariants hold ---- */

static void random_mbr(struct test_rng *r, struct mem_disk *m)
{
	u8 *b = m->bytes;
	u32 n = (u32)m->sectors;

	for (u32 s = 0; s < 4; s++) {
		u8 type = (u8)(rng_chance(r, 40) ? (rng_chance(r, 50) ? 0x05 : 0x0f) : rng_next(r));

		mbr_put_entry(b, s, rng_chance(r, 80) ? 0 : 0x80, type, (u32)rng_below(r, n + 2),
			      (u32)rng_below(r, n + 2));
	}
	mbr_put_boot_signature(b);
	/* EBRs here and there, linking to each other in any direction. */
	for (u32 k = m->sectors > 1 ? (u32)rng_below(r, 20) : 0; k > 0; k--) {
		u64 at = rng_range(r, 1, m->sectors - 1);

		ebr_put(b + at * SECTOR, (u8)(rng_chance(r, 20) ? 0 : rng_next(r)),
			(u32)rng_below(r, n + 2), (u32)rng_below(r, n + 2), (u32)rng_below(r, n + 2),
			(u32)rng_below(r, 3));
		if (rng_chance(r, 10))
			b[at * SECTOR + 510] = 0;
	}
}

static void random_gpt(struct test_rng *r, struct mem_disk *m)
{
	static const u32 sizes[] = { 128, 256, 384, 512 };
	struct gpt_layout l;
	u8 uuid[16], type[16];

	u32 esize = sizes[rng_below(r, JB_ARRAY_LEN(sizes))];
	u32 count = (u32)rng_range(r, 1, 16);

	while (count > 1 && 4 + 2 * ((u64)count * esize + SECTOR - 1) / SECTOR > m->sectors)
		count--;
	if (4 + 2 * ((u64)count * esize + SECTOR - 1) / SECTOR > m->sectors)
		return;
	gpt_layout_init(&l, m->sectors, count, esize);
	for (u32 i = 0; i < l.count; i++) {
		u16 name[36];

		for (u32 k = 0; k < 36; k++)
			name[k] = (u16)(rng_chance(r, 70) ? 'a' + rng_below(r, 26) : rng_next(r));
		for (u32 k = 0; k < 16; k++) {
			uuid[k] = (u8)rng_next(r);
			type[k] = rng_chance(r, 20) ? 0 : (u8)rng_next(r);
		}
		u64 first = rng_below(r, m->sectors + 2), last = first + rng_below(r, 40) - 2;

		gpt_put_entry(m->bytes, &l, i, type, uuid, first, last, name, (u32)rng_below(r, 37));
	}
	gpt_seal(m->bytes, &l);
}

static void test_random_tables(void **state)
{
	struct test_rng r = { test_seed(0x9a27) };
	u64 ok = 0, gpt = 0;

	(void)state;
	for (int iter = 0; iter < 4000; iter++) {
		u64 sectors = rng_range(&r, 1, 200);
		struct mem_disk *m = mem_disk_new(sectors);
		struct jb_diag d = { "" };
		size_t scratch_len = rng_chance(&r, 50) ? sizeof(scratch)
							: (size_t)rng_range(&r, 512, 3000);
		int kind = (int)rng_below(&r, 3);

		if (kind == 0) {
			for (u64 i = 0; i < (sectors < 3 ? sectors : 3) * SECTOR; i++)
				m->bytes[i] = (u8)rng_next(&r);
			mbr_put_boot_signature(m->bytes);
		} else if (kind == 1) {
			random_mbr(&r, m);
		} else if (sectors >= 12) {
			random_gpt(&r, m);
		}
		/* Mutations, then (sometimes) CRCs made right so that the checks behind them run. */
		for (u32 k = (u32)rng_below(&r, 8); k > 0; k--) {
			u64 at = rng_below(&r, sectors * SECTOR);

			if (rng_chance(&r, 50))
				m->bytes[at] = (u8)rng_next(&r);
			else
				m->bytes[at] ^= (u8)(1u << rng_below(&r, 8));
		}
		if (rng_chance(&r, 50)) {
			gpt_fix_crcs(m->bytes, (size_t)sectors * SECTOR, 1);
			gpt_fix_crcs(m->bytes, (size_t)sectors * SECTOR, sectors - 1);
		}
		int rc = scan_sized(m, scratch_len, sectors, &d);

		if (rc == 0) {
			ok++;
			gpt += tab.gpt && tab.n > 0;
		} else if (rc != -JB_EBADIMG && rc != -JB_ETOOBIG) {
			fail_msg("iteration %d: rc %d (%s) \"%s\"", iter, rc, jb_strerror(rc), d.text);
		}
		/* Bounded work: the MBR, four chains of EBR_CHAIN_MAX, two GPTs of 1 MiB at most. */
		assert_true(m->sectors_read <= 1 + 4 * 128 + 2 * (1 + 2048));
		mem_disk_free(m);
	}
	/* The generator must reach the interesting paths, not just fail early. */
	assert_true(ok > 1000);
	assert_true(gpt > 100);
}

/* ---- 4096-byte logical blocks (4Kn): the same structures, LBAs counted in 4 KiB ---- */

#define BLK4K 4096u

struct disk4k {
	u8 *bytes;
	u64 blocks;
	u32 reads;
};

static int disk4k_read(void *ctx, u64 lba, u32 count, void *buf, struct jb_diag *d)
{
	struct disk4k *k = ctx;

	k->reads++;
	if (lba > k->blocks || count > k->blocks - lba || (u64)count * BLK4K > sizeof(scratch))
		return diag_fail(d, -JB_ERANGE, "4Kn disk: LBA %llu+%u", (unsigned long long)lba,
				 count);
	memcpy(buf, k->bytes + lba * BLK4K, (size_t)count * BLK4K);
	return 0;
}

/* A GPT header of a 4Kn disk at block my_lba describing the array at array_lba: 128 entries
 * of 128 bytes (4 blocks), usable blocks from 6 to the backup array. */
static void gpt4k_header(u8 *disk, u64 blocks, u64 my_lba, u64 alt_lba, u64 array_lba)
{
	struct gpt_layout l = { .disk_sectors = blocks, .count = 128, .esize = 128,
				.first_usable = 6, .last_usable = blocks - 6, .block = BLK4K };

	memset(l.disk_guid, 0x4b, sizeof(l.disk_guid));
	gpt_put_header(disk, &l, my_lba, alt_lba, array_lba);
}

/* A 4Kn disk of `blocks` blocks: partition 1 "other" at 8-15, partition 2 "hibernate" at
 * 16-271, as sgdisk or Linux write it on such a disk. */
static u8 *gpt4k_disk(u64 blocks)
{
	static const u16 other[] = { 'o', 't', 'h', 'e', 'r' };
	static const u16 hib[] = { 'h', 'i', 'b', 'e', 'r', 'n', 'a', 't', 'e' };
	u8 *disk = calloc(blocks, BLK4K);
	u8 type[16], uuid[16];

	assert_non_null(disk);
	guid_make(type, 0x0fc63daf, 0x8483, 0x4772, 0x8e793d69d8477de4ull);
	for (u64 array = 2; array <= blocks - 5; array += blocks - 7) {
		u8 *e = disk + array * BLK4K;

		guid_make(uuid, 0x11111111, 0x2222, 0x3333, 0x4444555566660001ull);
		memcpy(e, type, 16);
		memcpy(e + 16, uuid, 16);
		put64(e + 32, 8);
		put64(e + 40, 15);
		for (u32 i = 0; i < JB_ARRAY_LEN(other); i++)
			put16(e + 56 + 2 * i, other[i]);
		e += 128;
		guid_make(uuid, 0x11111111, 0x2222, 0x3333, 0x4444555566660002ull);
		memcpy(e, type, 16);
		memcpy(e + 16, uuid, 16);
		put64(e + 32, 16);
		put64(e + 40, 271);
		for (u32 i = 0; i < JB_ARRAY_LEN(hib); i++)
			put16(e + 56 + 2 * i, hib[i]);
	}
	mbr_put_entry(disk, 0, 0, 0xee, 1, (u32)(blocks - 1));
	mbr_put_boot_signature(disk);
	gpt4k_header(disk, blocks, 1, blocks - 1, 2);
	gpt4k_header(disk, blocks, blocks - 1, 1, blocks - 5);
	return disk;
}

static void test_gpt_4k_blocks(void **state)
{
	struct disk4k k = { .blocks = 512 };
	struct jb_diag d = { "" };

	(void)state;
	k.bytes = gpt4k_disk(k.blocks);
	assert_int_equal(part_scan(disk4k_read, &k, k.blocks, PART_SECTOR_SIZE_4K, scratch,
				   sizeof(scratch), &tab, &d), 0);
	assert_string_equal(d.text, "");
	assert_true(tab.gpt);
	assert_false(tab.used_backup_gpt);
	assert_int_equal(tab.n, 2);
	assert_int_equal(tab.part[1].number, 2);
	assert_int_equal(tab.part[1].first_lba, 16);
	assert_int_equal(tab.part[1].sectors, 256);
	assert_ptr_equal(part_by_label(&tab, "hibernate"), &tab.part[1]);
	check_table(&tab, k.blocks);

	/* The primary header damaged: the backup at the last 4 KiB block serves. */
	k.bytes[BLK4K + 30] ^= 1;
	assert_int_equal(part_scan(disk4k_read, &k, k.blocks, PART_SECTOR_SIZE_4K, scratch,
				   sizeof(scratch), &tab, &d), 0);
	assert_true(tab.used_backup_gpt);
	assert_int_equal(tab.n, 2);
	assert_int_equal(tab.part[1].first_lba, 16);
	k.bytes[BLK4K + 30] ^= 1;

	/* Read as 512-byte sectors, the same disk has no GPT header at LBA 1 (byte 512). */
	struct mem_disk *m = mem_disk_new(k.blocks * (BLK4K / SECTOR));

	memcpy(m->bytes, k.bytes, (size_t)k.blocks * BLK4K);
	m->scratch_len = sizeof(scratch);
	assert_int_equal(part_scan(mem_disk_read, m, m->sectors, PART_SECTOR_SIZE, scratch,
				   sizeof(scratch), &tab, &d),
			 -JB_EBADIMG);
	assert_non_null(strstr(d.text, "no \"EFI PART\" signature"));
	mem_disk_free(m);

	/* Only 512 and 4096 are logical block sizes. */
	assert_int_equal(part_scan(disk4k_read, &k, k.blocks, 2048, scratch, sizeof(scratch), &tab,
				   &d),
			 -JB_EINVAL);
	assert_non_null(strstr(d.text, "2048 bytes"));
	/* A scratch buffer must hold one whole 4 KiB block. */
	assert_int_equal(part_scan(disk4k_read, &k, k.blocks, PART_SECTOR_SIZE_4K, scratch, 4095,
				   &tab, &d),
			 -JB_EINVAL);
	free(k.bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_gpt_4k_blocks),
		cmocka_unit_test(test_no_table),
		cmocka_unit_test(test_mbr_primaries),
		cmocka_unit_test(test_mbr_past_disk_end),
		cmocka_unit_test(test_mbr_logicals),
		cmocka_unit_test(test_mbr_two_extended),
		cmocka_unit_test(test_mbr_bad_chains),
		cmocka_unit_test(test_mbr_runaway_chains),
		cmocka_unit_test(test_gpt_valid),
		cmocka_unit_test(test_gpt_entry_sizes),
		cmocka_unit_test(test_gpt_backup),
		cmocka_unit_test(test_gpt_backup_elsewhere),
		cmocka_unit_test(test_gpt_header_fields),
		cmocka_unit_test(test_gpt_entries_outside),
		cmocka_unit_test(test_gpt_too_many),
		cmocka_unit_test(test_gpt_tiny_disks),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_read_error_no_text),
		cmocka_unit_test(test_random_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
