/* Unit tests for lib/plan.c: fixed layouts, error cases, and a seeded random model check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "plan.h"
#include "unit_helpers.h"

#define MB (1ull << 20)
#define GB (1ull << 30)
#define A 0x1000000ull /* 16 MiB: a roomy place for the fixed layouts */

static struct elf_core core;
static struct plan plan;
static struct ram_map ram;

/* RAM with the usual holes below 1 MiB, a one-page hole at 512 MiB, and RAM above 4 GiB (not adjacent). */
static const struct mem_entry machine_map[] = {
	{ 0, 0x9fc00, 1 },
	{ 0x9fc00, 0x400, 2 },
	{ 0xf0000, 0x10000, 2 },
	{ MB, 4 * GB - MB, 1 },
	{ 0x20000000, 0x1000, 2 },
	{ 0xfec00000, 0x1400000, 2 },
	{ 4 * GB + 0x1000, 4 * GB, 1 },
};

static const struct live_range stub_live[] = {
	{ 0, 0x500, "IVT/BDA" },
	{ 0x100000, 0x120000, "stub image" },
	{ 0x200000, 0x204000, "page tables" },
};

static void set_core(const struct elf_seg *segs, u32 n)
{
	memset(&core, 0, sizeof(core));
	core.elf_class = 64;
	core.machine = EM_X86_64;
	core.nseg = n;
	for (u32 i = 0; i < n; i++) {
		core.seg[i] = segs[i];
		core.seg[i].phdr_index = i + 1;
	}
}

static int run(const struct elf_seg *segs, u32 n, u64 addr_limit, struct jb_diag *d)
{
	struct plan_input in = { &core, &ram, stub_live, JB_ARRAY_LEN(stub_live), addr_limit };

	assert_int_equal(ram_map_build(machine_map, JB_ARRAY_LEN(machine_map), &ram, NULL), 0);
	set_core(segs, n);
	memset(&plan, 0xcc, sizeof(plan));
	return plan_build(&in, &plan, d);
}

static const char *kind_name(enum plan_op_kind k)
{
	switch (k) {
	case PLAN_READ:
		return "READ";
	case PLAN_ZERO:
		return "ZERO";
	case PLAN_CHECK:
		return "CHECK";
	case PLAN_CHECK_ZERO:
		return "CHECK_ZERO";
	}
	return "?";
}

#define MAX_CASE_SEGS 6
#define MAX_CASE_OPS 12

/* Expected ops; file_off is compared for READ and CHECK only (zero-fills read no file). */
static const struct {
	const char *name;
	u32 nseg;
	struct elf_seg seg[MAX_CASE_SEGS]; /* paddr, offset, filesz, memsz */
	u32 nops;
	struct plan_op op[MAX_CASE_OPS]; /* kind, seg, dest, file_off, len */
	u64 bytes_read, bytes_zero, bytes_checked;
} cases[] = {
	{ "disjoint",
	  2,
	  { { A, 0x1000, 0x2000, 0x2000, 0 }, { A + 0x10000, 0x3000, 0x1000, 0x1000, 0 } },
	  2,
	  { { PLAN_READ, 0, A, 0x1000, 0x2000 }, { PLAN_READ, 1, A + 0x10000, 0x3000, 0x1000 } },
	  0x3000, 0, 0 },
	{ "reverse order, unaligned offsets",
	  2,
	  { { A + 0x10000, 0x1235, 0x1000, 0x1000, 0 }, { A, 0x77, 0x1000, 0x1000, 0 } },
	  2,
	  { { PLAN_READ, 0, A + 0x10000, 0x1235, 0x1000 }, { PLAN_READ, 1, A, 0x77, 0x1000 } },
	  0x2000, 0, 0 },
	{ "zero-fill tail",
	  1,
	  { { A, 0x1000, 0x1000, 0x3000, 0 } },
	  2,
	  { { PLAN_READ, 0, A, 0x1000, 0x1000 }, { PLAN_ZERO, 0, A + 0x1000, 0, 0x2000 } },
	  0x1000, 0x2000, 0 },
	{ "all zero-fill", 1, { { A, 0x1234, 0, 0x1000, 0 } }, 1, { { PLAN_ZERO, 0, A, 0, 0x1000 } }, 0, 0x1000, 0 },
	{ "exact duplicate",
	  2,
	  { { A, 0x1000, 0x2000, 0x2000, 0 }, { A, 0x1000, 0x2000, 0x2000, 0 } },
	  2,
	  { { PLAN_READ, 0, A, 0x1000, 0x2000 }, { PLAN_CHECK, 1, A, 0x1000, 0x2000 } },
	  0x4000, 0, 0x2000 },
	{ "duplicate with a zero tail",
	  2,
	  { { A, 0x1000, 0x1000, 0x2000, 0 }, { A, 0x1000, 0x1000, 0x2000, 0 } },
	  4,
	  { { PLAN_READ, 0, A, 0x1000, 0x1000 },
	    { PLAN_ZERO, 0, A + 0x1000, 0, 0x1000 },
	    { PLAN_CHECK, 1, A, 0x1000, 0x1000 },
	    { PLAN_CHECK_ZERO, 1, A + 0x1000, 0, 0x1000 } },
	  0x2000, 0x1000, 0x2000 },
	{ "same place, data stored twice (kexec-tools' kernel text)",
	  2,
	  { { A, 0x1000, 0x2000, 0x2000, 0 }, { A, 0x9000, 0x2000, 0x2000, 0 } },
	  2,
	  { { PLAN_READ, 0, A, 0x1000, 0x2000 }, { PLAN_CHECK, 1, A, 0x9000, 0x2000 } },
	  0x4000, 0, 0x2000 },
	{ "partial overlap at the end",
	  2,
	  { { A, 0x1000, 0x2000, 0x2000, 0 }, { A + 0x1000, 0x5000, 0x3000, 0x3000, 0 } },
	  3,
	  { { PLAN_READ, 0, A, 0x1000, 0x2000 },
	    { PLAN_CHECK, 1, A + 0x1000, 0x5000, 0x1000 },
	    { PLAN_READ, 1, A + 0x2000, 0x6000, 0x2000 } },
	  0x5000, 0, 0x1000 },
	{ "partial overlap at the start",
	  2,
	  { { A + 0x1000, 0x1000, 0x1000, 0x1000, 0 }, { A, 0x8000, 0x3000, 0x3000, 0 } },
	  4,
	  { { PLAN_READ, 0, A + 0x1000, 0x1000, 0x1000 },
	    { PLAN_READ, 1, A, 0x8000, 0x1000 },
	    { PLAN_CHECK, 1, A + 0x1000, 0x9000, 0x1000 },
	    { PLAN_READ, 1, A + 0x2000, 0xa000, 0x1000 } },
	  0x4000, 0, 0x1000 },
	{ "spanning two earlier segments",
	  3,
	  { { A + 0x1000, 0x100, 0x1000, 0x1000, 0 },
	    { A + 0x3000, 0x1100, 0x1000, 0x1000, 0 },
	    { A, 0x10000, 0x5000, 0x5000, 0 } },
	  7,
	  { { PLAN_READ, 0, A + 0x1000, 0x100, 0x1000 },
	    { PLAN_READ, 1, A + 0x3000, 0x1100, 0x1000 },
	    { PLAN_READ, 2, A, 0x10000, 0x1000 },
	    { PLAN_CHECK, 2, A + 0x1000, 0x11000, 0x1000 },
	    { PLAN_READ, 2, A + 0x2000, 0x12000, 0x1000 },
	    { PLAN_CHECK, 2, A + 0x3000, 0x13000, 0x1000 },
	    { PLAN_READ, 2, A + 0x4000, 0x14000, 0x1000 } },
	  0x7000, 0, 0x2000 },
	{ "zero-fill over earlier data",
	  2,
	  { { A, 0x1000, 0x2000, 0x2000, 0 }, { A, 0x9000, 0, 0x3000, 0 } },
	  3,
	  { { PLAN_READ, 0, A, 0x1000, 0x2000 },
	    { PLAN_CHECK_ZERO, 1, A, 0, 0x2000 },
	    { PLAN_ZERO, 1, A + 0x2000, 0, 0x1000 } },
	  0x2000, 0x1000, 0x2000 },
	{ "data over an earlier zero-fill",
	  2,
	  { { A, 0x1000, 0, 0x2000, 0 }, { A + 0x1000, 0x7000, 0x2000, 0x2000, 0 } },
	  3,
	  { { PLAN_ZERO, 0, A, 0, 0x2000 },
	    { PLAN_CHECK, 1, A + 0x1000, 0x7000, 0x1000 },
	    { PLAN_READ, 1, A + 0x2000, 0x8000, 0x1000 } },
	  0x2000, 0x2000, 0x1000 },
	{ "data and zero parts of one segment both overlap",
	  2,
	  { { A + 0x1000, 0x100, 0x2000, 0x2000, 0 }, { A, 0x5000, 0x2000, 0x4000, 0 } },
	  5,
	  { { PLAN_READ, 0, A + 0x1000, 0x100, 0x2000 },
	    { PLAN_READ, 1, A, 0x5000, 0x1000 },
	    { PLAN_CHECK, 1, A + 0x1000, 0x6000, 0x1000 },
	    { PLAN_CHECK_ZERO, 1, A + 0x2000, 0, 0x1000 },
	    { PLAN_ZERO, 1, A + 0x3000, 0, 0x1000 } },
	  0x4000, 0x1000, 0x2000 },
	{ "touching earlier segments are one written range",
	  3,
	  { { A, 0x1000, 0x1000, 0x1000, 0 }, { A + 0x1000, 0x2000, 0x1000, 0x1000, 0 }, { A, 0x1000, 0x2000, 0x2000, 0 } },
	  3,
	  { { PLAN_READ, 0, A, 0x1000, 0x1000 },
	    { PLAN_READ, 1, A + 0x1000, 0x2000, 0x1000 },
	    { PLAN_CHECK, 2, A, 0x1000, 0x2000 } },
	  0x4000, 0, 0x2000 },
	{ "a segment touching an earlier one from below joins its written range",
	  3,
	  { { A + 0x1000, 0x1000, 0x1000, 0x1000, 0 }, { A, 0x2000, 0x1000, 0x1000, 0 }, { A, 0x5000, 0x2000, 0x2000, 0 } },
	  3,
	  { { PLAN_READ, 0, A + 0x1000, 0x1000, 0x1000 },
	    { PLAN_READ, 1, A, 0x2000, 0x1000 },
	    { PLAN_CHECK, 2, A, 0x5000, 0x2000 } },
	  0x4000, 0, 0x2000 },
	{ "inside an earlier segment",
	  3,
	  { { A, 0x1000, 0x3000, 0x3000, 0 }, { A + 0x1000, 0x2000, 0x1000, 0x1000, 0 }, { A + 0x2800, 0x9000, 0x1800, 0x1800, 0 } },
	  4,
	  { { PLAN_READ, 0, A, 0x1000, 0x3000 },
	    { PLAN_CHECK, 1, A + 0x1000, 0x2000, 0x1000 },
	    { PLAN_CHECK, 2, A + 0x2800, 0x9000, 0x800 },
	    { PLAN_READ, 2, A + 0x3000, 0x9800, 0x1000 } },
	  0x5800, 0, 0x1800 },
	{ "earlier ranges inserted before, between and after",
	  5,
	  { { A + 0x4000, 0x10, 0x1000, 0x1000, 0 },
	    { A, 0x20, 0x1000, 0x1000, 0 },
	    { A + 0x8000, 0x30, 0x1000, 0x1000, 0 },
	    { A + 0x2000, 0x40, 0x1000, 0x1000, 0 },
	    { A + 0x800, 0x50, 0x7000, 0x7000, 0 } },
	  10,
	  { { PLAN_READ, 0, A + 0x4000, 0x10, 0x1000 },
	    { PLAN_READ, 1, A, 0x20, 0x1000 },
	    { PLAN_READ, 2, A + 0x8000, 0x30, 0x1000 },
	    { PLAN_READ, 3, A + 0x2000, 0x40, 0x1000 },
	    { PLAN_CHECK, 4, A + 0x800, 0x50, 0x800 },
	    { PLAN_READ, 4, A + 0x1000, 0x850, 0x1000 },
	    { PLAN_CHECK, 4, A + 0x2000, 0x1850, 0x1000 },
	    { PLAN_READ, 4, A + 0x3000, 0x2850, 0x1000 },
	    { PLAN_CHECK, 4, A + 0x4000, 0x3850, 0x1000 },
	    { PLAN_READ, 4, A + 0x5000, 0x4850, 0x2800 } },
	  0xb000, 0, 0x2800 },
	{ "above 4 GiB, up to the end of a RAM range",
	  2,
	  { { 4 * GB + 0x1000, 0x1000, 0x1000, 0x2000, 0 }, { 8 * GB, 0x5000, 0x800, 0x1000, 0 } },
	  4,
	  { { PLAN_READ, 0, 4 * GB + 0x1000, 0x1000, 0x1000 },
	    { PLAN_ZERO, 0, 4 * GB + 0x2000, 0, 0x1000 },
	    { PLAN_READ, 1, 8 * GB, 0x5000, 0x800 },
	    { PLAN_ZERO, 1, 8 * GB + 0x800, 0, 0x800 } },
	  0x1800, 0x1800, 0 },
	{ "next to live ranges and RAM edges",
	  3,
	  { { 0x500, 0x10, 0x9f700, 0x9f700, 0 }, { 0x120000, 0x20, 0xe0000, 0xe0000, 0 }, { 0x204000, 0x30, 0, 0x1fdfc000, 0 } },
	  3,
	  { { PLAN_READ, 0, 0x500, 0x10, 0x9f700 },
	    { PLAN_READ, 1, 0x120000, 0x20, 0xe0000 },
	    { PLAN_ZERO, 2, 0x204000, 0, 0x1fdfc000 } },
	  0x9f700 + 0xe0000, 0x1fdfc000, 0 },
	{ "no segments", 0, { { 0, 0, 0, 0, 0 } }, 0, { { PLAN_READ, 0, 0, 0, 0 } }, 0, 0, 0 },
};

static void test_layouts(void **state)
{
	(void)state;
	for (size_t c = 0; c < JB_ARRAY_LEN(cases); c++) {
		struct jb_diag d = { "" };
		int rc = run(cases[c].seg, cases[c].nseg, UINT64_MAX, &d);

		if (rc != 0)
			fail_msg("%s: rc %d \"%s\"", cases[c].name, rc, d.text);
		if (plan.nops != cases[c].nops)
			fail_msg("%s: %u ops, want %u", cases[c].name, plan.nops, cases[c].nops);
		for (u32 i = 0; i < plan.nops; i++) {
			const struct plan_op *got = &plan.op[i], *want = &cases[c].op[i];
			bool has_file = want->kind == PLAN_READ || want->kind == PLAN_CHECK;

			if (got->kind != want->kind || got->seg != want->seg || got->dest != want->dest ||
			    got->len != want->len || (has_file && got->file_off != want->file_off))
				fail_msg("%s: op %u is %s seg %u dest 0x%llx file 0x%llx len 0x%llx; want %s"
					 " seg %u dest 0x%llx file 0x%llx len 0x%llx",
					 cases[c].name, i, kind_name(got->kind), got->seg,
					 (unsigned long long)got->dest, (unsigned long long)got->file_off,
					 (unsigned long long)got->len, kind_name(want->kind), want->seg,
					 (unsigned long long)want->dest, (unsigned long long)want->file_off,
					 (unsigned long long)want->len);
		}
		if (plan.bytes_read != cases[c].bytes_read || plan.bytes_zero != cases[c].bytes_zero ||
		    plan.bytes_checked != cases[c].bytes_checked)
			fail_msg("%s: read 0x%llx zero 0x%llx checked 0x%llx; want 0x%llx 0x%llx 0x%llx",
				 cases[c].name, (unsigned long long)plan.bytes_read,
				 (unsigned long long)plan.bytes_zero, (unsigned long long)plan.bytes_checked,
				 (unsigned long long)cases[c].bytes_read, (unsigned long long)cases[c].bytes_zero,
				 (unsigned long long)cases[c].bytes_checked);
	}
}

/* Segments the plan must refuse; `texts` are all expected in the diagnostic. */
static const struct {
	const char *name;
	u32 nseg;
	struct elf_seg seg[3];
	u64 addr_limit;
	int rc;
	const char *texts[3];
} bad_cases[] = {
	{ "in the hole below 1 MiB", 2, { { A, 0, 0x1000, 0x1000, 0 }, { 0xa0000, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX,
	  -JB_ENOTRAM, { "segment 1 (0xa0000-0xa1000)", "not inside usable RAM", NULL } },
	{ "reaching into reserved at 0x9fc00", 1, { { 0x9f000, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, -JB_ENOTRAM,
	  { "segment 0 (0x9f000-0xa0000)", NULL, NULL } },
	{ "on the IVT", 1, { { 0x400, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, -JB_ELIVE,
	  { "segment 0 (0x400-0x1400)", "overlaps the IVT/BDA (0x0-0x500)", NULL } },
	{ "across a one-page hole", 1, { { 0x1ffff000, 0, 0x1000, 0x3000, 0 } }, UINT64_MAX, -JB_ENOTRAM,
	  { "segment 0 (0x1ffff000-0x20002000)", NULL, NULL } },
	{ "zero tail runs out of RAM", 1, { { 8 * GB, 0, 0x1000, 0x1001, 0 } }, UINT64_MAX, -JB_ENOTRAM,
	  { "segment 0", NULL, NULL } },
	{ "spanning two RAM ranges at 4 GiB", 1, { { 0xfe000000, 0, 0, 0x3000000, 0 } }, UINT64_MAX, -JB_ENOTRAM,
	  { "segment 0", NULL, NULL } },
	{ "beyond all RAM", 3, { { A, 0, 1, 1, 0 }, { A, 0, 1, 1, 0 }, { 64 * GB, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX,
	  -JB_ENOTRAM, { "segment 2 (0x1000000000-0x1000001000)", NULL, NULL } },
	{ "reserved just below the stub image", 2, { { A, 0, 0x1000, 0x1000, 0 }, { 0xff000, 0, 0x2000, 0x2000, 0 } }, UINT64_MAX,
	  -JB_ENOTRAM /* 0xf0000-0x100000 is reserved: RAM is checked before live ranges */, { "segment 1", NULL, NULL } },
	{ "on the stub image's last byte", 2, { { A, 0, 0x1000, 0x1000, 0 }, { 0x11ffff, 0, 0, 0x1001, 0 } }, UINT64_MAX,
	  -JB_ELIVE, { "segment 1 (0x11ffff-0x121000)", "overlaps the stub image (0x100000-0x120000)", "elsewhere" } },
	{ "inside the page tables", 1, { { 0x201000, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, -JB_ELIVE,
	  { "segment 0", "page tables (0x200000-0x204000)", NULL } },
	{ "just above the IVT", 1, { { 0x1000, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, 0, { NULL, NULL, NULL } },
	{ "above the limit", 2, { { A, 0, 0x1000, 0x1000, 0 }, { 4 * GB + 0x1000, 0, 0x1000, 0x1000, 0 } }, 4 * GB,
	  -JB_EUNSUPPORTED, { "segment 1 (0x100001000-0x100002000)", "above 0x100000000", NULL } },
	{ "zero tail crosses the limit", 1, { { A, 0, 0x1000, 0x2000, 0 } }, A + 0x1fff, -JB_EUNSUPPORTED,
	  { "segment 0", NULL, NULL } },
	{ "ends exactly at the limit", 1, { { A, 0, 0x1000, 0x2000, 0 } }, A + 0x2000, 0, { NULL, NULL, NULL } },
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t c = 0; c < JB_ARRAY_LEN(bad_cases); c++) {
		struct jb_diag d = { "" };
		int rc = run(bad_cases[c].seg, bad_cases[c].nseg, bad_cases[c].addr_limit, &d);

		if (rc != bad_cases[c].rc)
			fail_msg("%s: rc %d \"%s\", want %d", bad_cases[c].name, rc, d.text, bad_cases[c].rc);
		for (size_t t = 0; t < 3 && bad_cases[c].texts[t]; t++)
			if (!strstr(d.text, bad_cases[c].texts[t]))
				fail_msg("%s: diag \"%s\" lacks \"%s\"", bad_cases[c].name, d.text,
					 bad_cases[c].texts[t]);
	}
}

/* The plan_build state (the set of written ranges) does not leak from one call to the next. */
static void test_repeatable(void **state)
{
	static const struct elf_seg segs[] = { { A, 0x1000, 0x2000, 0x2000, 0 } };
	struct plan first;
	struct jb_diag d;

	(void)state;
	assert_int_equal(run(segs, 1, UINT64_MAX, &d), 0);
	first = plan;
	static const struct elf_seg other[] = { { A + 0x1000, 0, 0x1000, 0x1000, 0 }, { A, 0, 0x3000, 0x3000, 0 } };

	assert_int_equal(run(other, 2, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nops, 4);
	assert_int_equal(run(segs, 1, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nops, 1);
	assert_int_equal(plan.op[0].kind, PLAN_READ);
	assert_memory_equal(&plan.op[0], &first.op[0], sizeof(plan.op[0]));
	assert_int_equal(plan.bytes_read, first.bytes_read);
	/* A failed build followed by a good one. */
	static const struct elf_seg bad[] = { { A, 0, 0x1000, 0x1000, 0 }, { 0xa0000, 0, 1, 1, 0 } };

	assert_int_equal(run(bad, 2, UINT64_MAX, &d), -JB_ENOTRAM);
	assert_int_equal(run(segs, 1, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nops, 1);
	assert_int_equal(plan.op[0].kind, PLAN_READ);
}

/*
 * The worst case for the number of operations: every segment straddles all earlier ones, with
 * its data/zero boundary in the middle. Each adds 4 ops; PLAN_MAX_OPS must hold 512 of them.
 */
static void test_most_ops(void **state)
{
	static struct elf_seg segs[ELFCORE_MAX_SEGS];
	struct jb_diag d = { "" };

	(void)state;
	for (u32 i = 0; i < ELFCORE_MAX_SEGS; i++) {
		u64 half = 0x1000ull * (i + 1);

		segs[i] = (struct elf_seg){ 64 * MB - half, 0x100000ull * i, half, 2 * half, 0 };
	}
	assert_int_equal(run(segs, ELFCORE_MAX_SEGS, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nops, 2 + 4 * (ELFCORE_MAX_SEGS - 1));
	assert_true(plan.nops <= PLAN_MAX_OPS);
	/* The last segment: fresh data, checked data, checked zeros, fresh zeros. */
	const struct plan_op *op = &plan.op[plan.nops - 4];

	assert_int_equal(op[0].kind, PLAN_READ);
	assert_int_equal(op[0].len, 0x1000);
	assert_int_equal(op[1].kind, PLAN_CHECK);
	assert_int_equal(op[1].file_off, segs[ELFCORE_MAX_SEGS - 1].offset + 0x1000);
	assert_int_equal(op[2].kind, PLAN_CHECK_ZERO);
	assert_int_equal(op[3].kind, PLAN_ZERO);
	assert_int_equal(op[3].dest + op[3].len, 64 * MB + 0x1000ull * ELFCORE_MAX_SEGS);
}

/* ---- seeded random layouts checked against a byte-map model ---- */

#define GRID 1024 /* model address units; each is `scale` bytes at `base` */
#define RAND_SEGS 12
#define RAND_LIVE 3

struct model {
	u64 base, scale, limit;
	bool usable[GRID];
	int live[GRID]; /* live range index + 1, or 0 */
	u32 nseg;
	u32 s_unit[RAND_SEGS], e_unit[RAND_SEGS], data_unit[RAND_SEGS];
};

static u64 unit_addr(const struct model *m, u64 u)
{
	return m->base + u * m->scale;
}

/* The first segment that plan_build must refuse, and why; -1 when all are fine. */
static int model_first_bad(const struct model *m, int *why)
{
	for (u32 i = 0; i < m->nseg; i++) {
		if (unit_addr(m, m->e_unit[i]) > m->limit) {
			*why = -JB_EUNSUPPORTED;
			return (int)i;
		}
		for (u32 u = m->s_unit[i]; u < m->e_unit[i]; u++) {
			if (!m->usable[u]) {
				*why = -JB_ENOTRAM;
				return (int)i;
			}
		}
		for (u32 u = m->s_unit[i]; u < m->e_unit[i]; u++) {
			if (m->live[u]) {
				*why = -JB_ELIVE;
				return (int)i;
			}
		}
	}
	return -1;
}

static void random_layout(struct test_rng *rng, struct model *m, struct mem_entry *e, u32 *ne,
			  struct live_range *live, u32 *nlive)
{
	static const char *const live_names[RAND_LIVE] = { "live zero", "live one", "live two" };
	bool covered[GRID] = { false }, reserved[GRID] = { false };
	static const u64 scales[] = { 1, 0x10, 0x1000 };

	m->scale = scales[rng_below(rng, JB_ARRAY_LEN(scales))];
	m->base = rng_chance(rng, 25) ? 4 * GB + 0x1000 * rng_below(rng, 4) : 0x1000 * rng_below(rng, 4);

	/* RAM: one big usable entry and a few random ones of any type. */
	*ne = (u32)rng_range(rng, 1, 6);
	for (u32 i = 0; i < *ne; i++) {
		u64 s = i == 0 ? rng_below(rng, GRID / 8) : rng_below(rng, GRID);
		u64 len = i == 0 ? rng_range(rng, GRID / 2, GRID - s) : rng_range(rng, 1, 64);
		u32 type = i == 0 || rng_chance(rng, 40) ? 1 : (u32)rng_range(rng, 2, 5);

		if (s + len > GRID)
			len = GRID - s;
		e[i] = (struct mem_entry){ unit_addr(m, s), len * m->scale, type };
		for (u64 u = s; u < s + len; u++)
			*(type == 1 ? &covered[u] : &reserved[u]) = true;
	}
	for (u32 u = 0; u < GRID; u++)
		m->usable[u] = covered[u] && !reserved[u];

	memset(m->live, 0, sizeof(m->live));
	*nlive = (u32)rng_below(rng, RAND_LIVE + 1);
	for (u32 k = 0; k < *nlive; k++) {
		u64 s = rng_below(rng, GRID), len = rng_range(rng, 1, 24);

		if (s + len > GRID)
			len = GRID - s;
		live[k] = (struct live_range){ unit_addr(m, s), unit_addr(m, s + len), live_names[k] };
		for (u64 u = s; u < s + len; u++)
			if (!m->live[u])
				m->live[u] = (int)k + 1;
	}

	/* Usually no limit; sometimes one inside the grid, possibly not on a unit boundary. */
	m->limit = rng_chance(rng, 75) ? UINT64_MAX : unit_addr(m, rng_range(rng, GRID / 2, GRID)) - rng_below(rng, 2);

	/* Segments: fresh ones (mostly inside one usable run), overlapping ones and duplicates. */
	m->nseg = (u32)rng_range(rng, 1, RAND_SEGS);
	for (u32 i = 0; i < m->nseg; i++) {
		u32 s, e_u;
		unsigned int pick = (unsigned int)rng_below(rng, 100);

		if (i > 0 && pick < 15) { /* exact duplicate of an earlier segment */
			u32 j = (u32)rng_below(rng, i);

			s = m->s_unit[j];
			e_u = m->e_unit[j];
			m->data_unit[i] = m->data_unit[j];
			core.seg[i] = core.seg[j];
			m->s_unit[i] = s;
			m->e_unit[i] = e_u;
			continue;
		}
		if (i > 0 && pick < 45) { /* overlapping an earlier one */
			u32 j = (u32)rng_below(rng, i);
			u64 lo = m->s_unit[j] > 16 ? m->s_unit[j] - 16 : 0;

			s = (u32)rng_range(rng, lo, m->e_unit[j] - 1);
			e_u = s + (u32)rng_range(rng, 1, 48);
		} else {
			/* Mostly start on a unit that can be written, to get plans that succeed. */
			s = (u32)rng_below(rng, GRID);
			for (int tries = 0; tries < 8 && (!m->usable[s] || m->live[s]) && rng_chance(rng, 90); tries++)
				s = (u32)rng_below(rng, GRID);
			u32 run_end = s;

			while (run_end < GRID && m->usable[run_end] && !m->live[run_end])
				run_end++;
			if (run_end > s && rng_chance(rng, 85))
				e_u = (u32)rng_range(rng, s + 1, s + 1 + (run_end - s - 1) % 64);
			else
				e_u = s + (u32)rng_range(rng, 1, 64);
		}
		if (e_u > GRID)
			e_u = GRID;
		m->s_unit[i] = s;
		m->e_unit[i] = e_u;
		m->data_unit[i] = rng_chance(rng, 55) ? e_u : (u32)rng_range(rng, s, e_u);
		core.seg[i] = (struct elf_seg){
			.paddr = unit_addr(m, s),
			.offset = rng_chance(rng, 50) ? rng_below(rng, 1ull << 40) : 0x1000ull * i,
			.filesz = (u64)(m->data_unit[i] - s) * m->scale,
			.memsz = (u64)(e_u - s) * m->scale,
			.phdr_index = i,
		};
	}
	core.nseg = m->nseg;
	core.elf_class = 64;
	core.machine = EM_X86_64;
}

/* Walks the plan against the model; fails the test on the first broken promise. */
static void model_check_plan(const struct model *m, int iter)
{
	static int owner[GRID];    /* segment whose READ/ZERO wrote the unit, or -1 */
	static int seen_by[GRID];  /* last segment with an op on the unit, + 1 */
	u64 sum_read = 0, sum_zero = 0, sum_checked = 0;
	u32 cur = 0;

	for (u32 u = 0; u < GRID; u++) {
		owner[u] = -1;
		seen_by[u] = 0;
	}
#define MODEL_FAIL(...)                                                                  \
	do {                                                                             \
		print_message("random layout %d, op %u: ", iter, k);                     \
		fail_msg(__VA_ARGS__);                                                   \
	} while (0)
	for (u32 k = 0; k <= plan.nops; k++) {
		/* Segment boundary (or the end): every unit of the finished segments was covered. */
		u32 next = k < plan.nops ? plan.op[k].seg : m->nseg;

		if (next < cur)
			MODEL_FAIL("op for segment %u after segment %u", next, cur);
		for (; cur < next; cur++)
			for (u32 u = m->s_unit[cur]; u < m->e_unit[cur]; u++)
				if (seen_by[u] != (int)cur + 1)
					MODEL_FAIL("segment %u: unit 0x%llx not covered by any of its ops", cur,
						   (unsigned long long)unit_addr(m, u));
		if (k == plan.nops)
			break;

		const struct plan_op *op = &plan.op[k];
		const struct elf_seg *s = &core.seg[op->seg];

		if (op->len == 0 || op->len % m->scale || (op->dest - m->base) % m->scale)
			MODEL_FAIL("odd length 0x%llx or dest 0x%llx", (unsigned long long)op->len,
				   (unsigned long long)op->dest);
		if (op->dest < s->paddr || op->dest + op->len > s->paddr + s->memsz)
			MODEL_FAIL("op outside its segment %u", op->seg);
		if (op->dest + op->len > m->limit)
			MODEL_FAIL("op above the address limit");
		bool data = op->kind == PLAN_READ || op->kind == PLAN_CHECK;
		bool fresh = op->kind == PLAN_READ || op->kind == PLAN_ZERO;

		if (data && op->dest + op->len > s->paddr + s->filesz)
			MODEL_FAIL("%s past the segment's file data", kind_name(op->kind));
		if (!data && op->dest < s->paddr + s->filesz)
			MODEL_FAIL("%s over the segment's file data", kind_name(op->kind));
		if (data && op->file_off - s->offset != op->dest - s->paddr)
			MODEL_FAIL("file offset 0x%llx does not match dest 0x%llx (segment at 0x%llx,"
				   " offset 0x%llx)",
				   (unsigned long long)op->file_off, (unsigned long long)op->dest,
				   (unsigned long long)s->paddr, (unsigned long long)s->offset);
		u32 u0 = (u32)((op->dest - m->base) / m->scale), u1 = u0 + (u32)(op->len / m->scale);

		for (u32 u = u0; u < u1; u++) {
			if (!m->usable[u])
				MODEL_FAIL("op touches non-RAM at 0x%llx", (unsigned long long)unit_addr(m, u));
			if (m->live[u])
				MODEL_FAIL("op touches a live range at 0x%llx",
					   (unsigned long long)unit_addr(m, u));
			if (seen_by[u] == (int)op->seg + 1)
				MODEL_FAIL("unit 0x%llx covered twice by segment %u",
					   (unsigned long long)unit_addr(m, u), op->seg);
			seen_by[u] = (int)op->seg + 1;
			if (fresh && owner[u] != -1)
				MODEL_FAIL("%s rewrites 0x%llx, written by segment %d first",
					   kind_name(op->kind), (unsigned long long)unit_addr(m, u), owner[u]);
			if (!fresh && (owner[u] == -1 || owner[u] >= (int)op->seg))
				MODEL_FAIL("%s of 0x%llx, which no earlier segment wrote",
					   kind_name(op->kind), (unsigned long long)unit_addr(m, u));
			if (fresh)
				owner[u] = (int)op->seg;
		}
		switch (op->kind) {
		case PLAN_READ:
			sum_read += op->len;
			break;
		case PLAN_ZERO:
			sum_zero += op->len;
			break;
		case PLAN_CHECK:
			sum_read += op->len;
			sum_checked += op->len;
			break;
		case PLAN_CHECK_ZERO:
			sum_checked += op->len;
			break;
		}
	}
#undef MODEL_FAIL
	assert_int_equal(plan.bytes_read, sum_read);
	assert_int_equal(plan.bytes_zero, sum_zero);
	assert_int_equal(plan.bytes_checked, sum_checked);
}

static void test_random_layouts(void **state)
{
	u64 seed = test_seed(0x91a);
	struct test_rng rng = { seed };
	int iterations = 30000;
	int ok = 0, refused[4] = { 0 };
	static struct model m;

	(void)state;
	print_message("plan random: seed 0x%llx, %d layouts\n", (unsigned long long)seed, iterations);
	for (int iter = 0; iter < iterations; iter++) {
		struct mem_entry e[8];
		struct live_range live[RAND_LIVE];
		u32 ne, nlive;
		struct jb_diag d = { "" };

		random_layout(&rng, &m, e, &ne, live, &nlive);
		assert_int_equal(ram_map_build(e, ne, &ram, NULL), 0);

		struct plan_input in = { &core, &ram, live, nlive, m.limit };
		int why = 0, bad = model_first_bad(&m, &why);
		int rc = plan_build(&in, &plan, &d);

		if (bad < 0) {
			if (rc != 0)
				fail_msg("layout %d: plan_build refused (%d: %s) a layout the model accepts",
					 iter, rc, d.text);
			model_check_plan(&m, iter);
			ok++;
			continue;
		}
		if (rc != why)
			fail_msg("layout %d: rc %d (%s), model says %d for segment %d", iter, rc, d.text, why,
				 bad);
		char want[32];

		snprintf(want, sizeof(want), "segment %d (", bad);
		if (!strstr(d.text, want))
			fail_msg("layout %d: diag \"%s\" does not name %s", iter, d.text, want);
		if (why == -JB_ELIVE) {
			/* The diag names one of the live ranges this segment overlaps. */
			const struct elf_seg *s = &core.seg[bad];
			bool named = false;

			for (u32 k = 0; k < nlive; k++)
				if (live[k].start < s->paddr + s->memsz && s->paddr < live[k].end &&
				    strstr(d.text, live[k].name))
					named = true;
			if (!named)
				fail_msg("layout %d: diag \"%s\" names no live range segment %d hits", iter,
					 d.text, bad);
		}
		refused[why == -JB_ENOTRAM ? 0 : why == -JB_ELIVE ? 1 : why == -JB_EUNSUPPORTED ? 2 : 3]++;
	}
	print_message("plan random: %d planned, refused %d not-RAM, %d live, %d over the limit\n", ok,
		      refused[0], refused[1], refused[2]);
	/* The generator must keep exercising every branch. */
	assert_true(ok > iterations / 5);
	assert_true(refused[0] > iterations / 50);
	assert_true(refused[1] > iterations / 50);
	assert_true(refused[2] > iterations / 50);
	assert_int_equal(refused[3], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_repeatable),
		cmocka_unit_test(test_most_ops),
		cmocka_unit_test(test_random_layouts),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
