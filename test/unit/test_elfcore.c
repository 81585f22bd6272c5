/* Unit tests for lib/elfcore.c: ELF64/ELF32 core headers built in memory, good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "elfcore.h"
#include "errors.h"
#include "unit_helpers.h"

#define IMG_CAP (64 + 600 * 56)
#define BIG_IMAGE (1ull << 40) /* image_size for header-only tests: the data "is on disk" */

static u8 img[IMG_CAP];
static struct elf_core core;

/* A typical kexec-tools vmcore layout: a note, two RAM ranges, the duplicated kernel text. */
static const struct core_phdr typical[] = {
	{ PT_NOTE, 0x1000, 0, 0x300, 0x300 },
	{ PT_LOAD, 0x2000, 0x100000, 0x200000, 0x200000 },
	{ PT_LOAD, 0x202000, 0x1000000, 0x1000000, 0x1000000 },
	{ PT_LOAD, 0x2000, 0x100000, 0x200000, 0x200000 },
	{ PT_LOAD, 0x1202000, 0x4000000, 0x1000, 0x3000 }, /* zero-filled tail */
};

/* Parses buf[0, len) both ways and checks the two calls agree on the outcome. */
static int parse(size_t len, u64 image_size, struct jb_diag *d)
{
	u64 need = 0xdeadbeef;
	int rc1 = elfcore_headers_len(img, len, image_size, &need, d);
	int rc2 = elfcore_parse(img, len, image_size, &core, d);

	if (rc1 == 0)
		assert_true(need <= image_size);
	/* headers_len only looks at the ELF header, so it may pass where parse fails later. */
	if (rc1 != 0)
		assert_int_equal(rc2, rc1);
	return rc2;
}

static void expect_fail(size_t len, u64 image_size, int want_rc, const char *want_text)
{
	struct jb_diag d = { "" };
	int rc = parse(len, image_size, &d);

	if (rc != want_rc || !strstr(d.text, want_text))
		fail_msg("rc %d (%s) \"%s\"; want %d (%s) containing \"%s\"", rc, jb_strerror(rc),
			 d.text, want_rc, jb_strerror(want_rc), want_text);
}

static void expect_segs(const struct core_phdr *ph, u32 n, int elf_class, u16 machine)
{
	u32 k = 0, notes = 0;

	assert_int_equal(core.elf_class, elf_class);
	assert_int_equal(core.machine, machine);
	for (u32 i = 0; i < n; i++) {
		if (ph[i].type == PT_NOTE)
			notes++;
		if (ph[i].type != PT_LOAD || ph[i].memsz == 0)
			continue;
		assert_true(k < core.nseg);
		assert_int_equal(core.seg[k].phdr_index, i);
		assert_int_equal(core.seg[k].paddr, ph[i].paddr);
		assert_int_equal(core.seg[k].offset, ph[i].offset);
		assert_int_equal(core.seg[k].filesz, ph[i].filesz);
		assert_int_equal(core.seg[k].memsz, ph[i].memsz);
		k++;
	}
	assert_int_equal(core.nseg, k);
	assert_int_equal(core.nnotes, notes);
}

static void test_valid_cores(void **state)
{
	static const struct {
		int elf_class;
		u16 machine;
	} kinds[] = { { 64, EM_X86_64 }, { 64, EM_386 }, { 32, EM_386 }, { 32, EM_X86_64 } };

	(void)state;
	for (size_t k = 0; k < JB_ARRAY_LEN(kinds); k++) {
		struct jb_diag d = { "" };
		u64 need = 0;
		size_t len = core_write(img, kinds[k].elf_class, kinds[k].machine, typical,
					JB_ARRAY_LEN(typical));
		u64 image_size = 0x1202000 + 0x1000;

		assert_int_equal(len, core_ehsize(kinds[k].elf_class) +
					      JB_ARRAY_LEN(typical) * core_phentsize(kinds[k].elf_class));
		assert_int_equal(elfcore_headers_len(img, len, image_size, &need, &d), 0);
		assert_int_equal(need, len);
		assert_int_equal(elfcore_parse(img, len, image_size, &core, &d), 0);
		expect_segs(typical, JB_ARRAY_LEN(typical), kinds[k].elf_class, kinds[k].machine);
		assert_int_equal(core.nseg, 4);
		assert_int_equal(core.nnotes, 1);
		/* Exactly as long as the last segment's data: still fine. One byte less: truncated. */
		expect_fail(len, image_size - 1, -JB_ETRUNC, "program header 4");
	}
}

/* elfcore_headers_len works from the first ELFCORE_IDENT_LEN bytes alone, wherever phoff is. */
static void test_headers_len(void **state)
{
	(void)state;
	for (int cls = 32; cls <= 64; cls += 32) {
		static const u64 phoffs[] = { 52, 64, 0x1000, 0x12345 };

		for (size_t i = 0; i < JB_ARRAY_LEN(phoffs); i++) {
			u64 need = 0;
			struct jb_diag d;

			core_write_ehdr(img, cls, EM_X86_64, phoffs[i], 300);
			assert_int_equal(elfcore_headers_len(img, ELFCORE_IDENT_LEN, BIG_IMAGE, &need, &d), 0);
			assert_int_equal(need, phoffs[i] + 300 * core_phentsize(cls));
			/* The table must fit the image exactly, not a byte more. */
			assert_int_equal(elfcore_headers_len(img, ELFCORE_IDENT_LEN, need, &need, &d), 0);
			assert_int_equal(elfcore_headers_len(img, ELFCORE_IDENT_LEN, need - 1, &need, &d),
					 -JB_ETRUNC);
			assert_non_null(strstr(d.text, "past the image end"));
		}
	}
}

static void test_machines(void **state)
{
	static const struct {
		u16 machine;
		int rc;
	} cases[] = {
		{ EM_386, 0 },           { EM_X86_64, 0 },        { 0, -JB_EBADIMG },
		{ 8, -JB_EBADIMG },      { 40, -JB_EBADIMG },     { 183, -JB_EBADIMG },
		{ 0x3e00, -JB_EBADIMG }, { 0x0300, -JB_EBADIMG }, { 0xffff, -JB_EBADIMG },
	};

	(void)state;
	for (int cls = 32; cls <= 64; cls += 32) {
		for (size_t i = 0; i < JB_ARRAY_LEN(cases); i++) {
			size_t len = core_write(img, cls, cases[i].machine, typical, JB_ARRAY_LEN(typical));

			if (cases[i].rc == 0) {
				struct jb_diag d;

				assert_int_equal(parse(len, BIG_IMAGE, &d), 0);
			} else {
				char text[64];

				snprintf(text, sizeof(text), "e_machine=%u", cases[i].machine);
				expect_fail(len, BIG_IMAGE, cases[i].rc, text);
			}
		}
	}
}

static void test_types(void **state)
{
	static const u16 bad_types[] = { 0, 1, 2, 3, 5, 0x400, 0xfe00, 0xffff };

	(void)state;
	for (int cls = 32; cls <= 64; cls += 32) {
		for (size_t i = 0; i < JB_ARRAY_LEN(bad_types); i++) {
			char text[64];
			size_t len = core_write(img, cls, EM_X86_64, typical, JB_ARRAY_LEN(typical));

			put16(img + EH_TYPE, bad_types[i]);
			snprintf(text, sizeof(text), "e_type=%u is not ET_CORE", bad_types[i]);
			expect_fail(len, BIG_IMAGE, -JB_EBADIMG, text);
		}
	}
}

static void test_magic_and_compressed(void **state)
{
	size_t len = core_write(img, 64, EM_X86_64, typical, JB_ARRAY_LEN(typical));

	(void)state;
	memcpy(img, "\177ELG", 4);
	expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "no ELF magic");
	expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "found 7f 45 4c 47");
	memcpy(img, "MZ\x90\x00", 4);
	expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "no ELF magic");
	memset(img, 0, 64);
	expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "found 00 00 00 00");

	/* Shorter than the magic: still a clean "no ELF magic", no read past len. */
	memcpy(img, "\177EL", 3);
	expect_fail(3, 3, -JB_EBADIMG, "found 7f 45 4c 00");
	expect_fail(0, 0, -JB_EBADIMG, "no ELF magic");

	/* kdump-compressed (makedumpfile -c, dump-guest-memory -z) */
	memset(img, 0, 4096);
	memcpy(img, "KDUMP   ", 8);
	put32(img + 8, 6); /* header_version */
	expect_fail(4096, 1 << 20, -JB_ECOMPRESSED, "kdump-compressed");
	expect_fail(8, 8, -JB_ECOMPRESSED, "kdump-compressed");
	/* "KDUMP" with the wrong padding is just not an ELF. */
	memcpy(img, "KDUMP  x", 8);
	expect_fail(4096, 1 << 20, -JB_EBADIMG, "no ELF magic");
	/* makedumpfile's flattened format */
	memset(img, 0, 4096);
	memcpy(img, "makedumpfile", 12);
	expect_fail(4096, 1 << 20, -JB_ECOMPRESSED, "flattened");
	expect_fail(12, 12, -JB_ECOMPRESSED, "makedumpfile -R");
	expect_fail(11, 11, -JB_EBADIMG, "no ELF magic");
}

static void test_ident_fields(void **state)
{
	(void)state;
	for (int cls = 32; cls <= 64; cls += 32) {
		size_t len = core_write(img, cls, EM_X86_64, typical, JB_ARRAY_LEN(typical));

		img[EI_DATA] = 2; /* ELFDATA2MSB */
		expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "EI_DATA=2, not little-endian");
		img[EI_DATA] = 0;
		expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "not little-endian");
		img[EI_DATA] = ELFDATA2LSB;
		img[EI_CLASS] = 0;
		expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "EI_CLASS=0");
		img[EI_CLASS] = 3;
		expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "EI_CLASS=3");
	}
	/* An ELF header cut short: the caller must supply ELFCORE_IDENT_LEN bytes. */
	size_t len = core_write(img, 64, EM_X86_64, typical, JB_ARRAY_LEN(typical));

	(void)len;
	expect_fail(ELFCORE_IDENT_LEN - 1, ELFCORE_IDENT_LEN - 1, -JB_ETRUNC, "inside the ELF header");
	expect_fail(4, 4, -JB_ETRUNC, "(4 of 64 bytes)");
}

static void test_phentsize_and_phnum(void **state)
{
	static const u16 bad64[] = { 0, 32, 55, 57, 64, 0xffff };
	static const u16 bad32[] = { 0, 31, 33, 56 };

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(bad64); i++) {
		char text[64];
		size_t len = core_write(img, 64, EM_X86_64, typical, JB_ARRAY_LEN(typical));

		put16(img + EH64_PHENTSIZE, bad64[i]);
		snprintf(text, sizeof(text), "e_phentsize=%u, but ELF64 program headers are 56 bytes", bad64[i]);
		expect_fail(len, BIG_IMAGE, -JB_EBADIMG, text);
	}
	for (size_t i = 0; i < JB_ARRAY_LEN(bad32); i++) {
		char text[64];
		size_t len = core_write(img, 32, EM_386, typical, JB_ARRAY_LEN(typical));

		put16(img + EH32_PHENTSIZE, bad32[i]);
		snprintf(text, sizeof(text), "e_phentsize=%u, but ELF32 program headers are 32 bytes", bad32[i]);
		expect_fail(len, BIG_IMAGE, -JB_EBADIMG, text);
	}
	for (int cls = 32; cls <= 64; cls += 32) {
		size_t len = core_write(img, cls, EM_X86_64, typical, JB_ARRAY_LEN(typical));
		size_t phnum_at = cls == 64 ? EH64_PHNUM : EH32_PHNUM;

		put16(img + phnum_at, 0);
		expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "e_phnum=0");
		put16(img + phnum_at, PN_XNUM);
		expect_fail(len, BIG_IMAGE, -JB_EUNSUPPORTED, "PN_XNUM");
	}
}

static void test_program_headers_out_of_bounds(void **state)
{
	(void)state;
	for (int cls = 32; cls <= 64; cls += 32) {
		size_t len = core_write(img, cls, EM_X86_64, typical, JB_ARRAY_LEN(typical));
		size_t phoff_at = cls == 64 ? EH64_PHOFF : EH32_PHOFF;
		u64 need = 0;
		struct jb_diag d;

		/* The image ends one byte before the end of the table. */
		expect_fail(len, len - 1, -JB_ETRUNC, "past the image end");
		/* The table lies past the image end altogether. */
		if (cls == 64) {
			static const u64 far[] = { 1ull << 40, UINT64_MAX, UINT64_MAX - 55,
						   UINT64_MAX - 5 * 56 + 1 };

			for (size_t i = 0; i < JB_ARRAY_LEN(far); i++) {
				put64(img + phoff_at, far[i]);
				if (far[i] > UINT64_MAX - 5 * 56)
					expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "wraps past 2^64");
				else
					expect_fail(len, BIG_IMAGE, -JB_ETRUNC, "past the image end");
				if (far[i] > UINT64_MAX - 5 * 56) /* table end wraps: no image is big enough */
					expect_fail(len, UINT64_MAX, -JB_EBADIMG, "wraps past 2^64");
			}
		} else {
			put32(img + phoff_at, 0xffffffff);
			expect_fail(len, 1ull << 32, -JB_ETRUNC, "past the image end");
			assert_int_equal(elfcore_headers_len(img, len, UINT64_MAX, &need, &d), 0);
			assert_int_equal(need, 0xffffffffull + 5 * 32);
		}
		/* The table fits the image but the caller's buffer is shorter than it. */
		core_write(img, cls, EM_X86_64, typical, JB_ARRAY_LEN(typical));
		expect_fail(len - 1, BIG_IMAGE, -JB_EINVAL, "program headers need");
		put16(img + (cls == 64 ? EH64_PHNUM : EH32_PHNUM), 1000);
		expect_fail(len, BIG_IMAGE, -JB_EINVAL, "program headers need");
	}
}

static void test_segment_bounds(void **state)
{
	static const struct {
		struct core_phdr ph;
		u64 image_size;
		int rc;
		const char *text;
	} cases[] = {
		/* ends exactly at the image end */
		{ { PT_LOAD, 0x1000, 0x100000, 0x1000, 0x1000 }, 0x2000, 0, "" },
		{ { PT_LOAD, 0x1000, 0x100000, 0x1001, 0x2000 }, 0x2000, -JB_ETRUNC, "program header 2: data at 0x1000 (+0x1001)" },
		{ { PT_LOAD, 0x2001, 0x100000, 0, 0x1000 }, 0x2000, -JB_ETRUNC, "program header 2" },
		{ { PT_LOAD, 0x2000, 0x100000, 0, 0x1000 }, 0x2000, 0, "" },
		{ { PT_LOAD, UINT64_MAX, 0x100000, 1, 0x1000 }, UINT64_MAX, -JB_EBADIMG, "program header 2: p_offset 0xffffffffffffffff + p_filesz 0x1 wraps past 2^64" },
		{ { PT_LOAD, UINT64_MAX - 0xfff, 0x100000, 0x2000, 0x2000 }, UINT64_MAX, -JB_EBADIMG, "wraps past 2^64" },
		{ { PT_LOAD, 0x1000, 0x100000, UINT64_MAX, UINT64_MAX }, UINT64_MAX, -JB_EBADIMG, "program header 2: p_offset 0x1000 + p_filesz 0xffffffffffffffff wraps" },
		{ { PT_LOAD, 0x1000, 0x100000, 0x2000, 0x1000 }, 0x100000, -JB_EBADIMG, "program header 2: p_filesz 0x2000 exceeds p_memsz 0x1000" },
		/* unaligned offsets are fine (QEMU dump-guest-memory writes them) */
		{ { PT_LOAD, 0x1235, 0x100000, 0x777, 0x1000 }, 0x1235 + 0x777, 0, "" },
		/* physical range wrapping or beyond 52 bits */
		{ { PT_LOAD, 0x1000, UINT64_MAX - 0xfff, 0, 0x2000 }, 0x100000, -JB_EBADIMG, "program header 2: p_paddr 0xfffffffffffff000 + p_memsz 0x2000 wraps past 2^64" },
		{ { PT_LOAD, 0x1000, UINT64_MAX, 0, 1 }, 0x100000, -JB_EBADIMG, "p_paddr 0xffffffffffffffff + p_memsz 0x1 wraps past 2^64" },
		{ { PT_LOAD, 0x1000, 0x100000, 0, UINT64_MAX }, 0x100000, -JB_EBADIMG, "p_paddr 0x100000 + p_memsz 0xffffffffffffffff wraps past 2^64" },
		{ { PT_LOAD, 0x1000, 1ull << 52, 0, 0x1000 }, 0x100000, -JB_EBADIMG, "physical range" },
		{ { PT_LOAD, 0x1000, (1ull << 52) - 0x1000, 0, 0x1000 }, 0x100000, 0, "" },
		{ { PT_LOAD, 0x1000, (1ull << 52) - 0x1000, 0, 0x1001 }, 0x100000, -JB_EBADIMG, "physical range" },
		/* memsz 0: skipped whatever else it says */
		{ { PT_LOAD, UINT64_MAX, UINT64_MAX, UINT64_MAX, 0 }, 0x1000, 0, "" },
		/* other types are not checked at all */
		{ { PT_NOTE, UINT64_MAX, 0, UINT64_MAX, 5 }, 0x1000, 0, "" },
		{ { PT_NULL, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX }, 0x1000, 0, "" },
		{ { 0x6474e551, UINT64_MAX, UINT64_MAX, 2, 1 }, 0x1000, 0, "" },
	};

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(cases); i++) {
		/* ELF64: a good PT_LOAD, a note, then the case under test, then another good one. */
		struct core_phdr ph[4] = {
			{ PT_LOAD, 0x100, 0x200000, 0x10, 0x10 },
			{ PT_NOTE, 0x200, 0, 0x10, 0x10 },
			cases[i].ph,
			{ PT_LOAD, 0x300, 0x300000, 0x10, 0x10 },
		};
		size_t len = core_write(img, 64, EM_X86_64, ph, 4);
		struct jb_diag d = { "" };

		if (cases[i].rc == 0) {
			int rc = parse(len, cases[i].image_size, &d);

			if (rc != 0)
				fail_msg("case %zu: rc %d \"%s\"", i, rc, d.text);
			expect_segs(ph, 4, 64, EM_X86_64);
		} else {
			expect_fail(len, cases[i].image_size, cases[i].rc, cases[i].text);
		}
	}
}

/* ELF32 fields are 32-bit: the top of the 4 GiB space is reachable, nothing wraps. */
static void test_elf32_limits(void **state)
{
	struct core_phdr ph[] = {
		{ PT_LOAD, 0xfffff000, 0xfffff000, 0x1000, 0x1000 },
		{ PT_LOAD, 0x1000, 0xffffffff, 0, 1 },
		{ PT_LOAD, 0x1000, 0x0, 0xffffffff, 0xffffffff },
	};
	size_t len = core_write(img, 32, EM_386, ph, JB_ARRAY_LEN(ph));
	struct jb_diag d;

	(void)state;
	assert_int_equal(parse(len, 0x100000fffull, &d), 0);
	expect_segs(ph, JB_ARRAY_LEN(ph), 32, EM_386);
	assert_int_equal(core.seg[0].paddr + core.seg[0].memsz, 1ull << 32);
	assert_int_equal(core.seg[2].offset + core.seg[2].filesz, 0x100000fffull);
	expect_fail(len, 0x100000ffeull, -JB_ETRUNC, "program header 2");
	expect_fail(len, (1ull << 32) - 1, -JB_ETRUNC, "program header 0");
}

static void test_notes_and_empty(void **state)
{
	struct core_phdr ph[6];
	struct jb_diag d;

	(void)state;
	for (u32 i = 0; i < 6; i++)
		ph[i] = (struct core_phdr){ PT_NOTE, 0x1000 * i, 0, 0x100, 0 };
	size_t len = core_write(img, 64, EM_X86_64, ph, 6);

	expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "no PT_LOAD");
	ph[3] = (struct core_phdr){ PT_LOAD, 0x8000, 0x100000, 0x1000, 0 };
	len = core_write(img, 64, EM_X86_64, ph, 6);
	expect_fail(len, BIG_IMAGE, -JB_EBADIMG, "no PT_LOAD");
	ph[4] = (struct core_phdr){ PT_LOAD, 0x9000, 0x100000, 0, 0x1000 }; /* all zero-fill */
	len = core_write(img, 64, EM_X86_64, ph, 6);
	assert_int_equal(parse(len, BIG_IMAGE, &d), 0);
	assert_int_equal(core.nnotes, 4);
	assert_int_equal(core.nseg, 1);
	assert_int_equal(core.seg[0].phdr_index, 4);
	assert_int_equal(core.seg[0].filesz, 0);
}

static void test_segment_limit(void **state)
{
	static struct core_phdr ph[ELFCORE_MAX_SEGS + 2];
	struct jb_diag d;

	(void)state;
	for (u32 i = 0; i < JB_ARRAY_LEN(ph); i++)
		ph[i] = (struct core_phdr){ PT_LOAD, 0x100000 + 0x1000ull * i, 0x100000 + 0x1000ull * i,
					     0x1000, 0x1000 };
	/* Exactly the limit. */
	size_t len = core_write(img, 64, EM_X86_64, ph, ELFCORE_MAX_SEGS);

	assert_int_equal(parse(len, BIG_IMAGE, &d), 0);
	assert_int_equal(core.nseg, ELFCORE_MAX_SEGS);
	expect_segs(ph, ELFCORE_MAX_SEGS, 64, EM_X86_64);
	/* One more. */
	len = core_write(img, 64, EM_X86_64, ph, ELFCORE_MAX_SEGS + 1);
	expect_fail(len, BIG_IMAGE, -JB_ETOOBIG, "more than 512 PT_LOAD");
	/* More program headers than the limit is fine when the extra ones are not loads. */
	ph[7].type = PT_NOTE;
	ph[100].memsz = 0;
	len = core_write(img, 64, EM_X86_64, ph, ELFCORE_MAX_SEGS + 2);
	assert_int_equal(parse(len, BIG_IMAGE, &d), 0);
	assert_int_equal(core.nseg, ELFCORE_MAX_SEGS);
	assert_int_equal(core.nnotes, 1);
	assert_int_equal(core.seg[ELFCORE_MAX_SEGS - 1].phdr_index, ELFCORE_MAX_SEGS + 1);
}

/* The program header table need not follow the ELF header directly. */
static void test_phoff_elsewhere(void **state)
{
	struct jb_diag d;
	u64 need;

	(void)state;
	memset(img, 0xee, sizeof(img));
	core_write_ehdr(img, 64, EM_X86_64, 0x1003, 2); /* unaligned, after a gap */
	core_write_phdr(img, 64, 0x1003, 0, &typical[1]);
	core_write_phdr(img, 64, 0x1003, 1, &typical[4]);
	assert_int_equal(elfcore_headers_len(img, 64, BIG_IMAGE, &need, &d), 0);
	assert_int_equal(need, 0x1003 + 2 * 56);
	assert_int_equal(elfcore_parse(img, (size_t)need, BIG_IMAGE, &core, &d), 0);
	assert_int_equal(core.nseg, 2);
	assert_int_equal(core.seg[1].paddr, typical[4].paddr);
	assert_int_equal(core.seg[1].memsz, typical[4].memsz);
}

/*
 * Seeded random corruption of valid cores: the parser must never crash (ASan/UBSan watch),
 * and when it accepts, its output must satisfy every documented guarantee.
 */
static void test_random_corruption(void **state)
{
	u64 seed = test_seed(0xe1f);
	struct test_rng rng = { seed };
	int iterations = 20000;
	int accepted = 0;

	(void)state;
	print_message("elfcore random: seed 0x%llx, %d images\n", (unsigned long long)seed, iterations);
	for (int iter = 0; iter < iterations; iter++) {
		struct core_phdr ph[12];
		u32 n = (u32)rng_range(&rng, 1, JB_ARRAY_LEN(ph));
		int cls = rng_chance(&rng, 50) ? 64 : 32;
		u64 file_end = 0;

		for (u32 i = 0; i < n; i++) {
			u64 filesz = rng_below(&rng, 0x10000), memsz = filesz + rng_below(&rng, 0x100);

			ph[i] = (struct core_phdr){ rng_chance(&rng, 80) ? PT_LOAD : PT_NOTE,
						    0x1000 + rng_below(&rng, 0x100000),
						    rng_below(&rng, 1ull << 31), filesz, memsz };
			if (ph[i].offset + filesz > file_end)
				file_end = ph[i].offset + filesz;
		}
		size_t len = core_write(img, cls, rng_chance(&rng, 50) ? EM_386 : EM_X86_64, ph, n);
		u64 image_size = file_end;

		/* A few random corruptions: bytes, whole fields, the size. */
		int flips = (int)rng_below(&rng, 4);

		for (int f = 0; f < flips; f++) {
			size_t at = (size_t)rng_below(&rng, len);

			switch (rng_below(&rng, 4)) {
			case 0:
				img[at] ^= (u8)(1u << rng_below(&rng, 8));
				break;
			case 1:
				img[at] = (u8)rng_next(&rng);
				break;
			case 2:
				if (at + 8 <= len)
					put64(img + at, rng_chance(&rng, 50) ? UINT64_MAX - rng_below(&rng, 4)
									      : rng_next(&rng));
				break;
			default:
				image_size = rng_below(&rng, file_end + 2);
				break;
			}
		}
		struct jb_diag d = { "" };
		size_t give = rng_chance(&rng, 10) ? (size_t)rng_below(&rng, len + 1) : len;
		/* An exact-size copy, so ASan sees any read past what the caller supplied. */
		u8 *exact = malloc(give ? give : 1);

		assert_non_null(exact);
		memcpy(exact, img, give);
		int rc = elfcore_parse(exact, give, image_size, &core, &d);

		free(exact);

		if (rc != 0) {
			assert_true(rc < 0);
			assert_string_not_equal(jb_strerror(rc), "unknown error");
			assert_true(strlen(d.text) > 0 && strlen(d.text) < sizeof(d.text));
			continue;
		}
		accepted++;
		assert_true(core.elf_class == 32 || core.elf_class == 64);
		assert_true(core.machine == EM_386 || core.machine == EM_X86_64);
		assert_true(core.nseg >= 1 && core.nseg <= ELFCORE_MAX_SEGS);
		for (u32 i = 0; i < core.nseg; i++) {
			const struct elf_seg *s = &core.seg[i];

			assert_true(s->memsz > 0);
			assert_true(s->filesz <= s->memsz);
			assert_true(s->offset <= image_size && s->filesz <= image_size - s->offset);
			assert_true(s->paddr < (1ull << 52) && s->memsz <= (1ull << 52) - s->paddr);
			if (i)
				assert_true(s->phdr_index > core.seg[i - 1].phdr_index);
		}
	}
	print_message("elfcore random: %d accepted\n", accepted);
	assert_true(accepted > iterations / 10); /* the generator still makes mostly-valid cores */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_cores),
		cmocka_unit_test(test_headers_len),
		cmocka_unit_test(test_machines),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_magic_and_compressed),
		cmocka_unit_test(test_ident_fields),
		cmocka_unit_test(test_phentsize_and_phnum),
		cmocka_unit_test(test_program_headers_out_of_bounds),
		cmocka_unit_test(test_segment_bounds),
		cmocka_unit_test(test_elf32_limits),
		cmocka_unit_test(test_notes_and_empty),
		cmocka_unit_test(test_segment_limit),
		cmocka_unit_test(test_phoff_elsewhere),
		cmocka_unit_test(test_random_corruption),
	};

	return cmocka_run_group_tests_name("elfcore", tests, NULL, NULL);
}
