/*
 * Unit tests for lib/plan.c: fixed layouts (with and without staging), refusals, and a seeded
 * random property test that simulates each plan on a byte model of memory (DESIGN.md §4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "errors.h"
#include "plan.h"
#include "unit_helpers.h"

#define MB (1ull << 20)
#define GB (1ull << 30)
#define A 0x1000000ull   /* 16 MiB: a roomy place for the fixed layouts */
#define STUB_END 0x120000 /* the first hole at or above 1 MiB on the fixed machine */
#define FINAL_SIZE 0x3000 /* what the fixed machine's final stage asks for */

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

/* Where plan_build runs: the RAM map, the live ranges and the limits of the staging holes. */
struct machine {
	const struct mem_entry *map;
	u32 nmap;
	const struct live_range *live;
	u32 nlive;
	u64 stage_limit, final_size;
};

static const struct machine pc = { machine_map, JB_ARRAY_LEN(machine_map), stub_live,
				   JB_ARRAY_LEN(stub_live), 4 * GB, FINAL_SIZE };

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

static int run_on(const struct machine *m, const struct elf_seg *segs, u32 n, u64 addr_limit,
		  struct jb_diag *d)
{
	struct plan_input in = {
		.core = &core,
		.ram = &ram,
		.live = m->live,
		.nlive = m->nlive,
		.addr_limit = addr_limit,
		.stage_limit = m->stage_limit,
		.final_size = m->final_size,
	};

	assert_int_equal(ram_map_build(m->map, m->nmap, &ram, NULL), 0);
	set_core(segs, n);
	memset(&plan, 0xcc, sizeof(plan));
	return plan_build(&in, &plan, d);
}

static int run(const struct elf_seg *segs, u32 n, u64 addr_limit, struct jb_diag *d)
{
	return run_on(&pc, segs, n, addr_limit, d);
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
#define MAX_CASE_STAGES 2
#define MAX_CASE_COPIES 3

/* An op written straight to its destination, and one written to a staging copy at `target`. */
#define OP(kind, seg, dest, file_off, len) { kind, seg, dest, dest, file_off, len }
#define SOP(kind, seg, dest, target, file_off, len) { kind, seg, dest, target, file_off, len }

/*
 * Plans on the fixed machine (stage_limit 4 GiB, final stage FINAL_SIZE bytes unless a case says
 * otherwise). file_off is compared for READ and CHECK only (zero-fills read no file).
 */
static const struct {
	const char *name;
	u32 nseg;
	struct elf_seg seg[MAX_CASE_SEGS]; /* paddr, offset, filesz, memsz */
	u32 nops;
	struct plan_op op[MAX_CASE_OPS]; /* kind, seg, dest, target, file_off, len */
	u64 bytes_read, bytes_zero, bytes_checked;
	u64 final_at;
	u32 nstages;
	struct plan_stage stage[MAX_CASE_STAGES]; /* start, end, at, live */
	u32 ncopies;
	struct plan_copy copy[MAX_CASE_COPIES]; /* src, dst, len */
	u64 bytes_staged;
	u64 stage_limit; /* 0: the machine's 4 GiB */
} cases[] = {
	{ "disjoint",
	  2,
	  { { A, 0x1000, 0x2000, 0x2000, 0 }, { A + 0x10000, 0x3000, 0x1000, 0x1000, 0 } },
	  2,
	  { OP(PLAN_READ, 0, A, 0x1000, 0x2000), OP(PLAN_READ, 1, A + 0x10000, 0x3000, 0x1000) },
	  0x3000, 0, 0, .final_at = STUB_END },
	{ "reverse order, unaligned offsets",
	  2,
	  { { A + 0x10000, 0x1235, 0x1000, 0x1000, 0 }, { A, 0x77, 0x1000, 0x1000, 0 } },
	  2,
	  { OP(PLAN_READ, 0, A + 0x10000, 0x1235, 0x1000), OP(PLAN_READ, 1, A, 0x77, 0x1000) },
	  0x2000, 0, 0, .final_at = STUB_END },
	{ "zero-fill tail",
	  1,
	  { { A, 0x1000, 0x1000, 0x3000, 0 } },
	  2,
	  { OP(PLAN_READ, 0, A, 0x1000, 0x1000), OP(PLAN_ZERO, 0, A + 0x1000, 0, 0x2000) },
	  0x1000, 0x2000, 0, .final_at = STUB_END },
	{ "all zero-fill", 1, { { A, 0x1234, 0, 0x1000, 0 } }, 1, { OP(PLAN_ZERO, 0, A, 0, 0x1000) }, 0, 0x1000, 0, .final_at = STUB_END },
	{ "exact duplicate",
	  2,
	  { { A, 0x1000, 0x2000, 0x2000, 0 }, { A, 0x1000, 0x2000, 0x2000, 0 } },
	  2,
	  { OP(PLAN_READ, 0, A, 0x1000, 0x2000), OP(PLAN_CHECK, 1, A, 0x1000, 0x2000) },
	  0x4000, 0, 0x2000, .final_at = STUB_END },
	{ "duplicate with a zero tail",
	  2,
	  { { A, 0x1000, 0x1000, 0x2000, 0 }, { A, 0x1000, 0x1000, 0x2000, 0 } },
	  4,
	  { OP(PLAN_READ, 0, A, 0x1000, 0x1000),
	    OP(PLAN_ZERO, 0, A + 0x1000, 0, 0x1000),
	    OP(PLAN_CHECK, 1, A, 0x1000, 0x1000),
	    OP(PLAN_CHECK_ZERO, 1, A + 0x1000, 0, 0x1000) },
	  0x2000, 0x1000, 0x2000, .final_at = STUB_END },
	{ "same place, data stored twice (kexec-tools' kernel text)",
	  2,
	  { { A, 0x1000, 0x2000, 0x2000, 0 }, { A, 0x9000, 0x2000, 0x2000, 0 } },
	  2,
	  { OP(PLAN_READ, 0, A, 0x1000, 0x2000), OP(PLAN_CHECK, 1, A, 0x9000, 0x2000) },
	  0x4000, 0, 0x2000, .final_at = STUB_END },
	{ "partial overlap at the end",
	  2,
	  { { A, 0x1000, 0x2000, 0x2000, 0 }, { A + 0x1000, 0x5000, 0x3000, 0x3000, 0 } },
	  3,
	  { OP(PLAN_READ, 0, A, 0x1000, 0x2000),
	    OP(PLAN_CHECK, 1, A + 0x1000, 0x5000, 0x1000),
	    OP(PLAN_READ, 1, A + 0x2000, 0x6000, 0x2000) },
	  0x5000, 0, 0x1000, .final_at = STUB_END },
	{ "partial overlap at the start",
	  2,
	  { { A + 0x1000, 0x1000, 0x1000, 0x1000, 0 }, { A, 0x8000, 0x3000, 0x3000, 0 } },
	  4,
	  { OP(PLAN_READ, 0, A + 0x1000, 0x1000, 0x1000),
	    OP(PLAN_READ, 1, A, 0x8000, 0x1000),
	    OP(PLAN_CHECK, 1, A + 0x1000, 0x9000, 0x1000),
	    OP(PLAN_READ, 1, A + 0x2000, 0xa000, 0x1000) },
	  0x4000, 0, 0x1000, .final_at = STUB_END },
	{ "spanning two earlier segments",
	  3,
	  { { A + 0x1000, 0x100, 0x1000, 0x1000, 0 },
	    { A + 0x3000, 0x1100, 0x1000, 0x1000, 0 },
	    { A, 0x10000, 0x5000, 0x5000, 0 } },
	  7,
	  { OP(PLAN_READ, 0, A + 0x1000, 0x100, 0x1000),
	    OP(PLAN_READ, 1, A + 0x3000, 0x1100, 0x1000),
	    OP(PLAN_READ, 2, A, 0x10000, 0x1000),
	    OP(PLAN_CHECK, 2, A + 0x1000, 0x11000, 0x1000),
	    OP(PLAN_READ, 2, A + 0x2000, 0x12000, 0x1000),
	    OP(PLAN_CHECK, 2, A + 0x3000, 0x13000, 0x1000),
	    OP(PLAN_READ, 2, A + 0x4000, 0x14000, 0x1000) },
	  0x7000, 0, 0x2000, .final_at = STUB_END },
	{ "zero-fill over earlier data",
	  2,
	  { { A, 0x1000, 0x2000, 0x2000, 0 }, { A, 0x9000, 0, 0x3000, 0 } },
	  3,
	  { OP(PLAN_READ, 0, A, 0x1000, 0x2000),
	    OP(PLAN_CHECK_ZERO, 1, A, 0, 0x2000),
	    OP(PLAN_ZERO, 1, A + 0x2000, 0, 0x1000) },
	  0x2000, 0x1000, 0x2000, .final_at = STUB_END },
	{ "data over an earlier zero-fill",
	  2,
	  { { A, 0x1000, 0, 0x2000, 0 }, { A + 0x1000, 0x7000, 0x2000, 0x2000, 0 } },
	  3,
	  { OP(PLAN_ZERO, 0, A, 0, 0x2000),
	    OP(PLAN_CHECK, 1, A + 0x1000, 0x7000, 0x1000),
	    OP(PLAN_READ, 1, A + 0x2000, 0x8000, 0x1000) },
	  0x2000, 0x2000, 0x1000, .final_at = STUB_END },
	{ "data and zero parts of one segment both overlap",
	  2,
	  { { A + 0x1000, 0x100, 0x2000, 0x2000, 0 }, { A, 0x5000, 0x2000, 0x4000, 0 } },
	  5,
	  { OP(PLAN_READ, 0, A + 0x1000, 0x100, 0x2000),
	    OP(PLAN_READ, 1, A, 0x5000, 0x1000),
	    OP(PLAN_CHECK, 1, A + 0x1000, 0x6000, 0x1000),
	    OP(PLAN_CHECK_ZERO, 1, A + 0x2000, 0, 0x1000),
	    OP(PLAN_ZERO, 1, A + 0x3000, 0, 0x1000) },
	  0x4000, 0x1000, 0x2000, .final_at = STUB_END },
	{ "touching earlier segments are one written range",
	  3,
	  { { A, 0x1000, 0x1000, 0x1000, 0 }, { A + 0x1000, 0x2000, 0x1000, 0x1000, 0 }, { A, 0x1000, 0x2000, 0x2000, 0 } },
	  3,
	  { OP(PLAN_READ, 0, A, 0x1000, 0x1000),
	    OP(PLAN_READ, 1, A + 0x1000, 0x2000, 0x1000),
	    OP(PLAN_CHECK, 2, A, 0x1000, 0x2000) },
	  0x4000, 0, 0x2000, .final_at = STUB_END },
	{ "a segment touching an earlier one from below joins its written range",
	  3,
	  { { A + 0x1000, 0x1000, 0x1000, 0x1000, 0 }, { A, 0x2000, 0x1000, 0x1000, 0 }, { A, 0x5000, 0x2000, 0x2000, 0 } },
	  3,
	  { OP(PLAN_READ, 0, A + 0x1000, 0x1000, 0x1000),
	    OP(PLAN_READ, 1, A, 0x2000, 0x1000),
	    OP(PLAN_CHECK, 2, A, 0x5000, 0x2000) },
	  0x4000, 0, 0x2000, .final_at = STUB_END },
	{ "inside an earlier segment",
	  3,
	  { { A, 0x1000, 0x3000, 0x3000, 0 }, { A + 0x1000, 0x2000, 0x1000, 0x1000, 0 }, { A + 0x2800, 0x9000, 0x1800, 0x1800, 0 } },
	  4,
	  { OP(PLAN_READ, 0, A, 0x1000, 0x3000),
	    OP(PLAN_CHECK, 1, A + 0x1000, 0x2000, 0x1000),
	    OP(PLAN_CHECK, 2, A + 0x2800, 0x9000, 0x800),
	    OP(PLAN_READ, 2, A + 0x3000, 0x9800, 0x1000) },
	  0x5800, 0, 0x1800, .final_at = STUB_END },
	{ "earlier ranges inserted before, between and after",
	  5,
	  { { A + 0x4000, 0x10, 0x1000, 0x1000, 0 },
	    { A, 0x20, 0x1000, 0x1000, 0 },
	    { A + 0x8000, 0x30, 0x1000, 0x1000, 0 },
	    { A + 0x2000, 0x40, 0x1000, 0x1000, 0 },
	    { A + 0x800, 0x50, 0x7000, 0x7000, 0 } },
	  10,
	  { OP(PLAN_READ, 0, A + 0x4000, 0x10, 0x1000),
	    OP(PLAN_READ, 1, A, 0x20, 0x1000),
	    OP(PLAN_READ, 2, A + 0x8000, 0x30, 0x1000),
	    OP(PLAN_READ, 3, A + 0x2000, 0x40, 0x1000),
	    OP(PLAN_CHECK, 4, A + 0x800, 0x50, 0x800),
	    OP(PLAN_READ, 4, A + 0x1000, 0x850, 0x1000),
	    OP(PLAN_CHECK, 4, A + 0x2000, 0x1850, 0x1000),
	    OP(PLAN_READ, 4, A + 0x3000, 0x2850, 0x1000),
	    OP(PLAN_CHECK, 4, A + 0x4000, 0x3850, 0x1000),
	    OP(PLAN_READ, 4, A + 0x5000, 0x4850, 0x2800) },
	  0xb000, 0, 0x2800, .final_at = STUB_END },
	{ "above 4 GiB, up to the end of a RAM range",
	  2,
	  { { 4 * GB + 0x1000, 0x1000, 0x1000, 0x2000, 0 }, { 8 * GB, 0x5000, 0x800, 0x1000, 0 } },
	  4,
	  { OP(PLAN_READ, 0, 4 * GB + 0x1000, 0x1000, 0x1000),
	    OP(PLAN_ZERO, 0, 4 * GB + 0x2000, 0, 0x1000),
	    OP(PLAN_READ, 1, 8 * GB, 0x5000, 0x800),
	    OP(PLAN_ZERO, 1, 8 * GB + 0x800, 0, 0x800) },
	  0x1800, 0x1800, 0, .final_at = STUB_END },
	{ "next to live ranges and RAM edges",
	  3,
	  { { 0x500, 0x10, 0x9f700, 0x9f700, 0 }, { 0x120000, 0x20, 0xe0000, 0xe0000, 0 }, { 0x204000, 0x30, 0, 0x1fdfc000, 0 } },
	  3,
	  { OP(PLAN_READ, 0, 0x500, 0x10, 0x9f700),
	    OP(PLAN_READ, 1, 0x120000, 0x20, 0xe0000),
	    OP(PLAN_ZERO, 2, 0x204000, 0, 0x1fdfc000) },
	  0x9f700 + 0xe0000, 0x1fdfc000, 0,
	  .final_at = 0x20001000 /* everything free above 1 MiB and below 512 MiB is covered */ },
	{ "no segments", 0, { { 0, 0, 0, 0, 0 } }, 0, { OP(PLAN_READ, 0, 0, 0, 0) }, 0, 0, 0, .final_at = STUB_END },
	/*
	 * ---- staging: destinations on a live range go to a hole and are copied home last ----
	 * (the final copies run last stage first, see plan_final_copies)
	 */
	{ "data over the stub image's tail: staged in the lowest hole at or above 1 MiB",
	  1,
	  { { 0x110000, 0x1000, 0x20000, 0x20000, 0 } },
	  2,
	  { SOP(PLAN_READ, 0, 0x110000, 0x130000, 0x1000, 0x10000), OP(PLAN_READ, 0, 0x120000, 0x11000, 0x10000) },
	  0x20000, 0, 0,
	  .final_at = 0x140000,
	  .nstages = 1,
	  .stage = { { 0x110000, 0x120000, 0x130000, 1 } },
	  .ncopies = 1,
	  .copy = { { 0x130000, 0x110000, 0x10000 } },
	  .bytes_staged = 0x10000 },
	{ "zero-fill over the IVT: staged above 1 MiB although low memory has room",
	  1,
	  { { 0, 0x1234, 0, 0x1000, 0 } },
	  2,
	  { SOP(PLAN_ZERO, 0, 0, STUB_END, 0, 0x500), OP(PLAN_ZERO, 0, 0x500, 0, 0xb00) },
	  0, 0x1000, 0,
	  .final_at = STUB_END + 0x1000,
	  .nstages = 1,
	  .stage = { { 0, 0x500, STUB_END, 0 } },
	  .ncopies = 1,
	  .copy = { { STUB_END, 0, 0x500 } },
	  .bytes_staged = 0x500 },
	{ "zero-fill checked over an earlier zero-fill, on the IVT and beside it",
	  2,
	  { { 0, 0x1000, 0, 0x800, 0 }, { 0x400, 0x3000, 0, 0x200, 0 } },
	  4,
	  { SOP(PLAN_ZERO, 0, 0, STUB_END, 0, 0x500),
	    OP(PLAN_ZERO, 0, 0x500, 0, 0x300),
	    SOP(PLAN_CHECK_ZERO, 1, 0x400, STUB_END + 0x400, 0, 0x100),
	    OP(PLAN_CHECK_ZERO, 1, 0x500, 0, 0x100) },
	  0, 0x800, 0x200,
	  .final_at = STUB_END + 0x1000,
	  .nstages = 1,
	  .stage = { { 0, 0x500, STUB_END, 0 } },
	  .ncopies = 1,
	  .copy = { { STUB_END, 0, 0x500 } },
	  .bytes_staged = 0x500 },
	{ "exact duplicate over the page tables: the check reads the staging copy",
	  2,
	  { { 0x1ff000, 0x2000, 0x8000, 0x8000, 0 }, { 0x1ff000, 0x2000, 0x8000, 0x8000, 0 } },
	  6,
	  { OP(PLAN_READ, 0, 0x1ff000, 0x2000, 0x1000),
	    SOP(PLAN_READ, 0, 0x200000, STUB_END, 0x3000, 0x4000),
	    OP(PLAN_READ, 0, 0x204000, 0x7000, 0x3000),
	    OP(PLAN_CHECK, 1, 0x1ff000, 0x2000, 0x1000),
	    SOP(PLAN_CHECK, 1, 0x200000, STUB_END, 0x3000, 0x4000),
	    OP(PLAN_CHECK, 1, 0x204000, 0x7000, 0x3000) },
	  0x10000, 0, 0x8000,
	  .final_at = STUB_END + 0x4000,
	  .nstages = 1,
	  .stage = { { 0x200000, 0x204000, STUB_END, 2 } },
	  .ncopies = 1,
	  .copy = { { STUB_END, 0x200000, 0x4000 } },
	  .bytes_staged = 0x4000 },
	{ "two live ranges; the gap inside the stub image is staged but not copied",
	  3,
	  { { 0x100000, 0x1000, 0x1000, 0x1000, 0 }, { 0x11f000, 0x5000, 0x800, 0x2000, 0 }, { 0x203000, 0x9000, 0x2000, 0x2000, 0 } },
	  6,
	  { SOP(PLAN_READ, 0, 0x100000, 0x121000, 0x1000, 0x1000),
	    SOP(PLAN_READ, 1, 0x11f000, 0x140000, 0x5000, 0x800),
	    SOP(PLAN_ZERO, 1, 0x11f800, 0x140800, 0, 0x800),
	    OP(PLAN_ZERO, 1, 0x120000, 0, 0x1000),
	    SOP(PLAN_READ, 2, 0x203000, 0x141000, 0x9000, 0x1000),
	    OP(PLAN_READ, 2, 0x204000, 0xa000, 0x1000) },
	  0x3800, 0x1800, 0,
	  .final_at = 0x142000,
	  .nstages = 2,
	  .stage = { { 0x100000, 0x120000, 0x121000, 1 }, { 0x203000, 0x204000, 0x141000, 2 } },
	  .ncopies = 3,
	  .copy = { { 0x141000, 0x203000, 0x1000 }, { 0x121000, 0x100000, 0x1000 }, { 0x140000, 0x11f000, 0x1000 } },
	  .bytes_staged = 0x3000 },
	{ "one segment over two live ranges and the RAM between them",
	  1,
	  { { 0x11f000, 0x10000, 0x100000, 0x100000, 0 } },
	  4,
	  { SOP(PLAN_READ, 0, 0x11f000, 0x21f000, 0x10000, 0x1000),
	    OP(PLAN_READ, 0, 0x120000, 0x11000, 0xe0000),
	    SOP(PLAN_READ, 0, 0x200000, 0x220000, 0xf1000, 0x4000),
	    OP(PLAN_READ, 0, 0x204000, 0xf5000, 0x1b000) },
	  0x100000, 0, 0,
	  .final_at = 0x224000,
	  .nstages = 2,
	  .stage = { { 0x11f000, 0x120000, 0x21f000, 1 }, { 0x200000, 0x204000, 0x220000, 2 } },
	  .ncopies = 2,
	  .copy = { { 0x220000, 0x200000, 0x4000 }, { 0x21f000, 0x11f000, 0x1000 } },
	  .bytes_staged = 0x5000 },
	{ "stage_limit below 1 MiB: the stage and the final stage go to low memory",
	  1,
	  { { 0x110000, 0x40, 0x1000, 0x1000, 0 } },
	  1,
	  { SOP(PLAN_READ, 0, 0x110000, 0x1000, 0x40, 0x1000) },
	  0x1000, 0, 0,
	  .final_at = 0x2000,
	  .nstages = 1,
	  .stage = { { 0x110000, 0x111000, 0x1000, 1 } },
	  .ncopies = 1,
	  .copy = { { 0x1000, 0x110000, 0x1000 } },
	  .bytes_staged = 0x1000,
	  .stage_limit = 0x9fc00 },
	{ "the final stage fits exactly below stage_limit",
	  1,
	  { { A, 0, 0x1000, 0x1000, 0 } },
	  1,
	  { OP(PLAN_READ, 0, A, 0, 0x1000) },
	  0x1000, 0, 0,
	  .final_at = 0x1000,
	  .stage_limit = 0x1000 + FINAL_SIZE },
};

struct span {
	u64 start, end;
};

static bool overlaps(u64 a, u64 a_end, u64 b, u64 b_end)
{
	return a < b_end && b < a_end;
}

/*
 * What every plan promises about its holes, checked on the real inputs: each staging area and
 * the final stage's area is aligned, below stage_limit, in usable RAM, and clear of every
 * destination, every live range and each other; no op writes a live range or the final area.
 */
static void check_holes(const char *name, const struct machine *m)
{
	struct span area[PLAN_MAX_LIVE + 1];
	u32 n = 0;

	for (u32 s = 0; s < plan.nstages; s++)
		area[n++] = (struct span){ plan.stage[s].at,
					   plan.stage[s].at + (plan.stage[s].end - plan.stage[s].start) };
	if (m->final_size)
		area[n++] = (struct span){ plan.final_at, plan.final_at + m->final_size };
	for (u32 i = 0; i < n; i++) {
		if (area[i].start % PLAN_HOLE_ALIGN || area[i].end > m->stage_limit ||
		    !ram_map_contains(&ram, area[i].start, area[i].end))
			fail_msg("%s: hole 0x%llx-0x%llx is unaligned, above stage_limit or not in RAM", name,
				 (unsigned long long)area[i].start, (unsigned long long)area[i].end);
		for (u32 j = 0; j < core.nseg; j++)
			if (overlaps(area[i].start, area[i].end, core.seg[j].paddr,
				     core.seg[j].paddr + core.seg[j].memsz))
				fail_msg("%s: hole 0x%llx-0x%llx overlaps segment %u", name,
					 (unsigned long long)area[i].start, (unsigned long long)area[i].end, j);
		for (u32 k = 0; k < m->nlive; k++)
			if (overlaps(area[i].start, area[i].end, m->live[k].start, m->live[k].end))
				fail_msg("%s: hole 0x%llx-0x%llx overlaps the %s", name,
					 (unsigned long long)area[i].start, (unsigned long long)area[i].end,
					 m->live[k].name);
		for (u32 j = 0; j < i; j++)
			if (overlaps(area[i].start, area[i].end, area[j].start, area[j].end))
				fail_msg("%s: holes %u and %u overlap", name, j, i);
	}
	for (u32 i = 0; i < plan.nops; i++) {
		const struct plan_op *op = &plan.op[i];

		for (u32 k = 0; k < m->nlive; k++)
			if (overlaps(op->target, op->target + op->len, m->live[k].start, m->live[k].end))
				fail_msg("%s: op %u writes the %s", name, i, m->live[k].name);
		if (m->final_size &&
		    overlaps(op->target, op->target + op->len, plan.final_at, plan.final_at + m->final_size))
			fail_msg("%s: op %u writes the final stage's hole", name, i);
	}
}

static void test_layouts(void **state)
{
	(void)state;
	for (size_t c = 0; c < JB_ARRAY_LEN(cases); c++) {
		struct machine m = pc;
		struct jb_diag d = { "" };

		if (cases[c].stage_limit)
			m.stage_limit = cases[c].stage_limit;
		int rc = run_on(&m, cases[c].seg, cases[c].nseg, UINT64_MAX, &d);

		if (rc != 0)
			fail_msg("%s: rc %d \"%s\"", cases[c].name, rc, d.text);
		if (plan.nops != cases[c].nops)
			fail_msg("%s: %u ops, want %u", cases[c].name, plan.nops, cases[c].nops);
		for (u32 i = 0; i < plan.nops; i++) {
			const struct plan_op *got = &plan.op[i], *want = &cases[c].op[i];
			bool has_file = want->kind == PLAN_READ || want->kind == PLAN_CHECK;

			if (got->kind != want->kind || got->seg != want->seg || got->dest != want->dest ||
			    got->target != want->target || got->len != want->len ||
			    (has_file && got->file_off != want->file_off))
				fail_msg("%s: op %u is %s seg %u dest 0x%llx target 0x%llx file 0x%llx len 0x%llx;"
					 " want %s seg %u dest 0x%llx target 0x%llx file 0x%llx len 0x%llx",
					 cases[c].name, i, kind_name(got->kind), got->seg,
					 (unsigned long long)got->dest, (unsigned long long)got->target,
					 (unsigned long long)got->file_off, (unsigned long long)got->len,
					 kind_name(want->kind), want->seg, (unsigned long long)want->dest,
					 (unsigned long long)want->target, (unsigned long long)want->file_off,
					 (unsigned long long)want->len);
		}
		if (plan.bytes_read != cases[c].bytes_read || plan.bytes_zero != cases[c].bytes_zero ||
		    plan.bytes_checked != cases[c].bytes_checked || plan.bytes_staged != cases[c].bytes_staged)
			fail_msg("%s: read 0x%llx zero 0x%llx checked 0x%llx staged 0x%llx; want 0x%llx 0x%llx"
				 " 0x%llx 0x%llx",
				 cases[c].name, (unsigned long long)plan.bytes_read,
				 (unsigned long long)plan.bytes_zero, (unsigned long long)plan.bytes_checked,
				 (unsigned long long)plan.bytes_staged, (unsigned long long)cases[c].bytes_read,
				 (unsigned long long)cases[c].bytes_zero, (unsigned long long)cases[c].bytes_checked,
				 (unsigned long long)cases[c].bytes_staged);
		if (plan.final_at != cases[c].final_at)
			fail_msg("%s: final stage at 0x%llx, want 0x%llx", cases[c].name,
				 (unsigned long long)plan.final_at, (unsigned long long)cases[c].final_at);
		if (plan.nstages != cases[c].nstages)
			fail_msg("%s: %u stages, want %u", cases[c].name, plan.nstages, cases[c].nstages);
		for (u32 i = 0; i < plan.nstages; i++) {
			const struct plan_stage *got = &plan.stage[i], *want = &cases[c].stage[i];

			if (got->start != want->start || got->end != want->end || got->at != want->at ||
			    got->live != want->live)
				fail_msg("%s: stage %u is 0x%llx-0x%llx at 0x%llx (live %u); want 0x%llx-0x%llx at"
					 " 0x%llx (live %u)",
					 cases[c].name, i, (unsigned long long)got->start,
					 (unsigned long long)got->end, (unsigned long long)got->at, got->live,
					 (unsigned long long)want->start, (unsigned long long)want->end,
					 (unsigned long long)want->at, want->live);
		}
		if (plan.ncopies != cases[c].ncopies)
			fail_msg("%s: %u final copies, want %u", cases[c].name, plan.ncopies, cases[c].ncopies);
		for (u32 i = 0; i < plan.ncopies; i++) {
			const struct plan_copy *got = &plan.copy[i], *want = &cases[c].copy[i];

			if (got->src != want->src || got->dst != want->dst || got->len != want->len)
				fail_msg("%s: copy %u is 0x%llx <- 0x%llx len 0x%llx; want 0x%llx <- 0x%llx len"
					 " 0x%llx",
					 cases[c].name, i, (unsigned long long)got->dst,
					 (unsigned long long)got->src, (unsigned long long)got->len,
					 (unsigned long long)want->dst, (unsigned long long)want->src,
					 (unsigned long long)want->len);
		}
		check_holes(cases[c].name, &m);
	}
}

/*
 * Layouts the plan must refuse (or, with rc 0, must accept); `texts` are all expected in the
 * diagnostic. stage_limit and final_size: 0 means the fixed machine's.
 */
static const struct {
	const char *name;
	u32 nseg;
	struct elf_seg seg[3];
	u64 addr_limit;
	int rc;
	const char *texts[3];
	u64 stage_limit, final_size;
	bool no_final; /* final_size 0: no final stage asked for */
} bad_cases[] = {
	{ "in the hole below 1 MiB", 2, { { A, 0, 0x1000, 0x1000, 0 }, { 0xa0000, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX,
	  -JB_ENOTRAM, .texts = { "segment 1 (0xa0000-0xa1000)", "not inside usable RAM", NULL } },
	{ "reaching into reserved at 0x9fc00", 1, { { 0x9f000, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, -JB_ENOTRAM,
	  .texts = { "segment 0 (0x9f000-0xa0000)", NULL, NULL } },
	{ "across a one-page hole", 1, { { 0x1ffff000, 0, 0x1000, 0x3000, 0 } }, UINT64_MAX, -JB_ENOTRAM,
	  .texts = { "segment 0 (0x1ffff000-0x20002000)", NULL, NULL } },
	{ "zero tail runs out of RAM", 1, { { 8 * GB, 0, 0x1000, 0x1001, 0 } }, UINT64_MAX, -JB_ENOTRAM,
	  .texts = { "segment 0", NULL, NULL } },
	{ "spanning two RAM ranges at 4 GiB", 1, { { 0xfe000000, 0, 0, 0x3000000, 0 } }, UINT64_MAX, -JB_ENOTRAM,
	  .texts = { "segment 0", NULL, NULL } },
	{ "beyond all RAM", 3, { { A, 0, 1, 1, 0 }, { A, 0, 1, 1, 0 }, { 64 * GB, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX,
	  -JB_ENOTRAM, .texts = { "segment 2 (0x1000000000-0x1000001000)", NULL, NULL } },
	{ "reserved just below the stub image", 2, { { A, 0, 0x1000, 0x1000, 0 }, { 0xff000, 0, 0x2000, 0x2000, 0 } }, UINT64_MAX,
	  -JB_ENOTRAM /* 0xf0000-0x100000 is reserved: RAM is checked before live ranges */, .texts = { "segment 1", NULL, NULL } },
	{ "above the limit", 2, { { A, 0, 0x1000, 0x1000, 0 }, { 4 * GB + 0x1000, 0, 0x1000, 0x1000, 0 } }, 4 * GB,
	  -JB_EUNSUPPORTED, .texts = { "segment 1 (0x100001000-0x100002000)", "above 0x100000000", NULL } },
	{ "zero tail crosses the limit", 1, { { A, 0, 0x1000, 0x2000, 0 } }, A + 0x1fff, -JB_EUNSUPPORTED,
	  .texts = { "segment 0", NULL, NULL } },
	{ "over the limit and on a live range: the limit is checked first", 1, { { 0x100000, 0, 0x1000, 0x2000, 0 } },
	  0x101000, -JB_EUNSUPPORTED, .texts = { "segment 0", NULL, NULL } },
	{ "ends exactly at the limit", 1, { { A, 0, 0x1000, 0x2000, 0 } }, A + 0x2000, 0, .texts = { NULL, NULL, NULL } },
	{ "just above the IVT", 1, { { 0x1000, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, 0, .texts = { NULL, NULL, NULL } },
	/* A destination on a live range is staged, not refused. */
	{ "on the IVT", 1, { { 0x400, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, 0, .texts = { NULL, NULL, NULL } },
	{ "on the stub image's last byte", 2, { { A, 0, 0x1000, 0x1000, 0 }, { 0x11ffff, 0, 0, 0x1001, 0 } }, UINT64_MAX,
	  0, .texts = { NULL, NULL, NULL } },
	{ "inside the page tables", 1, { { 0x201000, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, 0, .texts = { NULL, NULL, NULL } },
	/* -JB_ELIVE: no hole left for a stage or for the final stage. */
	{ "no hole below stage_limit for the stage", 1, { { 0x110000, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX,
	  -JB_ELIVE, .texts = { "segment 0 (0x110000-0x111000)", "the stub image (0x100000-0x120000)", "4 KiB" },
	  .stage_limit = 0x1000 },
	{ "the image covers all RAM below stage_limit",
	  2, { { 0x500, 0, 0, 0x9f700, 0 }, { 0x100000, 0, 0, 0x1ff00000, 0 } }, UINT64_MAX,
	  -JB_ELIVE, .texts = { "segment 1 (0x100000-0x20000000)", "stub image (0x100000-0x120000)", "128 KiB" },
	  .stage_limit = 0x20000000 },
	{ "the first live range is staged, the second finds no hole",
	  2, { { 0x110000, 0, 0x1000, 0x1000, 0 }, { 0x200000, 0, 0x4000, 0x4000, 0 } }, UINT64_MAX,
	  -JB_ELIVE, .texts = { "segment 1 (0x200000-0x204000)", "page tables (0x200000-0x204000)", "16 KiB" },
	  .stage_limit = 0x5800 },
	{ "the stage takes the last hole, none is left for the final stage", 1, { { 0x110000, 0, 0x1000, 0x1000, 0 } },
	  UINT64_MAX, -JB_ELIVE, .texts = { "no free hole of 12 KiB below 0x2000", "final", NULL }, .stage_limit = 0x2000 },
	{ "no hole for the final stage", 1, { { A, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, -JB_ELIVE,
	  .texts = { "12 KiB below 0x3000", "final", NULL }, .stage_limit = 0x3000 },
	{ "a large final stage", 1, { { A, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, -JB_ELIVE,
	  .texts = { "no free hole of 4194304 KiB", NULL, NULL }, .final_size = 4 * GB },
	{ "no final stage needs no hole", 1, { { A, 0, 0x1000, 0x1000, 0 } }, UINT64_MAX, 0, .texts = { NULL, NULL, NULL },
	  .stage_limit = 0x500, .no_final = true },
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t c = 0; c < JB_ARRAY_LEN(bad_cases); c++) {
		struct machine m = pc;
		struct jb_diag d = { "" };

		if (bad_cases[c].stage_limit)
			m.stage_limit = bad_cases[c].stage_limit;
		if (bad_cases[c].final_size)
			m.final_size = bad_cases[c].final_size;
		if (bad_cases[c].no_final)
			m.final_size = 0;
		int rc = run_on(&m, bad_cases[c].seg, bad_cases[c].nseg, bad_cases[c].addr_limit, &d);

		if (rc != bad_cases[c].rc)
			fail_msg("%s: rc %d \"%s\", want %d", bad_cases[c].name, rc, d.text, bad_cases[c].rc);
		for (size_t t = 0; t < 3 && bad_cases[c].texts[t]; t++)
			if (!strstr(d.text, bad_cases[c].texts[t]))
				fail_msg("%s: diag \"%s\" lacks \"%s\"", bad_cases[c].name, d.text,
					 bad_cases[c].texts[t]);
		if (rc == 0)
			check_holes(bad_cases[c].name, &m);
	}
}

/* The plan_build state (written ranges, stages, copies) does not leak from one call to the next. */
static void test_repeatable(void **state)
{
	static const struct elf_seg segs[] = { { A, 0x1000, 0x2000, 0x2000, 0 } };
	static const struct elf_seg other[] = { { A + 0x1000, 0, 0x1000, 0x1000, 0 }, { A, 0, 0x3000, 0x3000, 0 } };
	static const struct elf_seg staged[] = { { 0x400, 0, 0x1000, 0x1000, 0 }, { 0x201000, 0, 0x1000, 0x1000, 0 } };
	static const struct elf_seg bad[] = { { A, 0, 0x1000, 0x1000, 0 }, { 0xa0000, 0, 1, 1, 0 } };
	struct plan first;
	struct jb_diag d;

	(void)state;
	assert_int_equal(run(segs, 1, UINT64_MAX, &d), 0);
	first = plan;
	assert_int_equal(run(other, 2, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nops, 4);
	assert_int_equal(run(staged, 2, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nstages, 2);
	assert_int_equal(plan.ncopies, 2);
	assert_int_equal(run(segs, 1, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nops, 1);
	assert_memory_equal(&plan.op[0], &first.op[0], sizeof(plan.op[0]));
	assert_int_equal(plan.bytes_read, first.bytes_read);
	assert_int_equal(plan.nstages, 0);
	assert_int_equal(plan.ncopies, 0);
	assert_int_equal(plan.bytes_staged, 0);
	assert_int_equal(plan.final_at, first.final_at);
	assert_int_equal(plan.ncovered, 1);
	/* Failed builds (not RAM; no hole) followed by a good one. */
	assert_int_equal(run(bad, 2, UINT64_MAX, &d), -JB_ENOTRAM);
	assert_int_equal(run(segs, 1, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nops, 1);
	assert_int_equal(plan.op[0].kind, PLAN_READ);

	struct machine tight = pc;

	tight.stage_limit = 0x2000;
	assert_int_equal(run_on(&tight, staged, 2, UINT64_MAX, &d), -JB_ELIVE);
	assert_int_equal(run(segs, 1, UINT64_MAX, &d), 0);
	assert_memory_equal(&plan.op[0], &first.op[0], sizeof(plan.op[0]));
	assert_int_equal(plan.nstages, 0);
	assert_int_equal(plan.ncopies, 0);
	assert_int_equal(plan.bytes_staged, 0);
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
	assert_int_equal(plan.ncovered, 1);
	assert_int_equal(plan.covered[0].start, 64 * MB - 0x1000ull * ELFCORE_MAX_SEGS);
}

/*
 * Holes at or above 1 MiB come first (low memory is precious to firmware), also when one RAM
 * range runs across 1 MiB and nothing ends there; below 1 MiB only when nothing above fits.
 */
static void test_hole_preference(void **state)
{
	static const struct mem_entry flat[] = { { 0, 16 * MB, 1 } };
	static const struct live_range ivt[] = { { 0, 0x500, "IVT/BDA" } };
	static const struct elf_seg zero_ivt[] = { { 0, 0, 0, 0x1000, 0 } };
	struct machine m = { flat, 1, ivt, 1, 4 * GB, FINAL_SIZE };
	struct jb_diag d = { "" };

	(void)state;
	assert_int_equal(run_on(&m, zero_ivt, 1, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nstages, 1);
	assert_int_equal(plan.stage[0].at, MB);
	assert_int_equal(plan.final_at, MB + 0x1000);
	check_holes("flat RAM", &m);

	m.stage_limit = MB + 0x1000; /* room above 1 MiB for the stage, not for the final stage */
	assert_int_equal(run_on(&m, zero_ivt, 1, UINT64_MAX, &d), 0);
	assert_int_equal(plan.stage[0].at, MB);
	assert_int_equal(plan.final_at, 0x1000);
	check_holes("flat RAM, limit 1 MiB + 4 KiB", &m);

	m.stage_limit = MB;
	assert_int_equal(run_on(&m, zero_ivt, 1, UINT64_MAX, &d), 0);
	assert_int_equal(plan.stage[0].at, 0x1000);
	assert_int_equal(plan.final_at, 0x2000);
	check_holes("flat RAM, limit 1 MiB", &m);
}

/*
 * plan_hole (a dry run's scratch): free RAM that no segment, live range or staging area
 * covers, first fit from 1 MiB up; false when no hole is that large.
 */
static void test_plan_hole(void **state)
{
	static const struct mem_entry flat[] = { { 0, 64 * MB, 1 } };
	static const struct live_range live[] = { { 0, 0x500, "IVT/BDA" },
						  { MB, 4 * MB, "stub image" } };
	/* Data at 8-40 MiB, and a segment over the stub: staged in the first free hole. */
	static const struct elf_seg segs[] = { { 8 * MB, 0x1000, 32 * MB, 32 * MB, 0 },
					       { 2 * MB, 0x1000, 0x10000, 0x10000, 0 } };
	struct machine m = { flat, 1, live, 2, 4 * GB, FINAL_SIZE };
	struct plan_input in = { &core, &ram, live, 2, UINT64_MAX, 4 * GB, FINAL_SIZE };
	struct jb_diag d = { "" };
	u64 at = 0;

	(void)state;
	assert_int_equal(run_on(&m, segs, 2, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nstages, 1);
	assert_true(plan_hole(&in, &plan, 3 * MB, &at));
	/* Not the stub, not the staging copy at 4 MiB, not the data: right after the stage. */
	assert_int_equal(at, plan.stage[0].at + 0x10000);
	assert_true(at + 3 * MB <= 8 * MB);
	assert_true(plan_hole(&in, &plan, 16 * MB, &at));
	assert_int_equal(at, 40 * MB);
	assert_false(plan_hole(&in, &plan, 32 * MB, &at));
}

/* More live ranges than stages fit in struct plan: each one still protected, or a refusal. */
static void test_many_live_ranges(void **state)
{
	static const char *const names[] = { "live 0", "live 1", "live 2", "live 3", "live 4",
					     "live 5", "live 6", "live 7", "live 8" };
	static struct live_range many[PLAN_MAX_LIVE + 1];
	struct machine m = { machine_map, JB_ARRAY_LEN(machine_map), many, PLAN_MAX_LIVE + 1, 4 * GB, FINAL_SIZE };
	struct jb_diag d = { "" };

	(void)state;
	_Static_assert(JB_ARRAY_LEN(names) == PLAN_MAX_LIVE + 1, "one name per live range");
	for (u32 k = 0; k <= PLAN_MAX_LIVE; k++)
		many[k] = (struct live_range){ A + k * 0x10000ull, A + k * 0x10000ull + 0x100, names[k] };

	/* Only the last one is covered. */
	const struct elf_seg last[] = { { A + PLAN_MAX_LIVE * 0x10000ull, 0, 0x1000, 0x1000, 0 } };

	assert_int_equal(run_on(&m, last, 1, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nstages, 1);
	assert_int_equal(plan.stage[0].live, PLAN_MAX_LIVE);
	assert_int_not_equal(plan.op[0].target, plan.op[0].dest);
	check_holes("the last live range", &m);

	/* PLAN_MAX_LIVE of them covered: each staged. */
	const struct elf_seg eight[] = { { A, 0, PLAN_MAX_LIVE * 0x10000ull, PLAN_MAX_LIVE * 0x10000ull, 0 } };

	assert_int_equal(run_on(&m, eight, 1, UINT64_MAX, &d), 0);
	assert_int_equal(plan.nstages, PLAN_MAX_LIVE);
	check_holes("eight live ranges", &m);

	/* All of them covered: more stages than struct plan holds is a refusal, not a silent overwrite. */
	const struct elf_seg all[] = { { A, 0, 0x100000, 0x100000, 0 } };
	int rc = run_on(&m, all, 1, UINT64_MAX, &d);

	if (rc == 0)
		check_holes("all live ranges", &m);
	else
		assert_int_equal(rc, -JB_ETOOBIG);
}

/* ---- the property test: random layouts, each plan simulated on a byte model of memory ---- */

#define WIN 0x10000u      /* a layout's RAM, live ranges and segments lie in [base, base + WIN) */
#define IMG_SIZE 0x20000u /* the image the segments' file offsets point into */
#define IMG_ZEROS 0x2000u /* image bytes [0, IMG_ZEROS) are zero: data equal to a zero-fill */
#define IMG_BLOCK 0x100u  /* elsewhere every fourth block of the image is zero, the rest random */
#define LAYOUT_MAX_MAP 8
#define LAYOUT_MAX_LIVE (PLAN_MAX_LIVE + 1)
#define LAYOUT_MAX_SEGS 12
#define NO_LIVE UINT32_MAX

struct layout {
	u64 base;
	u32 nmap, nlive, nseg;
	struct mem_entry map[LAYOUT_MAX_MAP];
	struct live_range live[LAYOUT_MAX_LIVE];
	struct elf_seg seg[LAYOUT_MAX_SEGS];
	u64 addr_limit, stage_limit, final_size;
};

/* Usable RAM worked out from the entries themselves (not with ram_map_build). */
struct runs {
	u32 n;
	struct span r[2 * LAYOUT_MAX_MAP];
};

/* What a correct plan_build must answer, found by brute force. */
struct oracle {
	int rc;
	u32 bad_seg;  /* -JB_ENOTRAM, -JB_EUNSUPPORTED: the first bad segment */
	u32 bad_live; /* -JB_ELIVE: the live range without a hole, or NO_LIVE for the final stage */
	u32 nstages;
	struct plan_stage stage[LAYOUT_MAX_LIVE];
	u64 final_at;
};

struct model_stats {
	u64 planned, staged, mismatched, refused_ram, refused_limit, refused_stage, refused_final,
		refused_other;
};

static u8 image[IMG_SIZE];
static u8 garbage[2 * WIN]; /* memory starts as WIN of these bytes, from a random offset */
static u8 mem[WIN];
static const u8 zeros[WIN];
static u8 expect[WIN]; /* at each destination byte: its first segment's file byte or zero */

static void layout_print(const struct layout *L)
{
	print_message("layout: window 0x%llx, addr_limit 0x%llx, stage_limit 0x%llx, final_size 0x%llx\n",
		      (unsigned long long)L->base, (unsigned long long)L->addr_limit,
		      (unsigned long long)L->stage_limit, (unsigned long long)L->final_size);
	for (u32 i = 0; i < L->nmap; i++)
		print_message("  map  0x%llx-0x%llx type %u\n", (unsigned long long)L->map[i].start,
			      (unsigned long long)(L->map[i].start + L->map[i].len), L->map[i].type);
	for (u32 i = 0; i < L->nlive; i++)
		print_message("  live 0x%llx-0x%llx %s\n", (unsigned long long)L->live[i].start,
			      (unsigned long long)L->live[i].end, L->live[i].name);
	for (u32 i = 0; i < L->nseg; i++)
		print_message("  seg %u 0x%llx-0x%llx filesz 0x%llx offset 0x%llx\n", i,
			      (unsigned long long)L->seg[i].paddr,
			      (unsigned long long)(L->seg[i].paddr + L->seg[i].memsz),
			      (unsigned long long)L->seg[i].filesz, (unsigned long long)L->seg[i].offset);
	for (u32 i = 0; i < plan.nstages && i < PLAN_MAX_LIVE; i++)
		print_message("  plan stage 0x%llx-0x%llx at 0x%llx (live %u)\n",
			      (unsigned long long)plan.stage[i].start, (unsigned long long)plan.stage[i].end,
			      (unsigned long long)plan.stage[i].at, plan.stage[i].live);
	for (u32 i = 0; i < plan.nops && i < PLAN_MAX_OPS; i++)
		print_message("  plan op %u %s seg %u dest 0x%llx target 0x%llx file 0x%llx len 0x%llx\n", i,
			      kind_name(plan.op[i].kind), plan.op[i].seg, (unsigned long long)plan.op[i].dest,
			      (unsigned long long)plan.op[i].target, (unsigned long long)plan.op[i].file_off,
			      (unsigned long long)plan.op[i].len);
	for (u32 i = 0; i < plan.ncopies && i < PLAN_MAX_COPIES; i++)
		print_message("  plan copy 0x%llx <- 0x%llx len 0x%llx\n", (unsigned long long)plan.copy[i].dst,
			      (unsigned long long)plan.copy[i].src, (unsigned long long)plan.copy[i].len);
	print_message("  plan final_at 0x%llx\n", (unsigned long long)plan.final_at);
}

#define MODEL_FAIL(...)                                   \
	do {                                              \
		layout_print(L);                          \
		print_message("%s: ", what);              \
		fail_msg(__VA_ARGS__);                    \
	} while (0)

static void model_runs(const struct layout *L, struct runs *out)
{
	u64 pt[2 * LAYOUT_MAX_MAP];
	u32 npt = 0;

	for (u32 i = 0; i < L->nmap; i++) {
		if (L->map[i].len == 0)
			continue;
		pt[npt++] = L->map[i].start;
		pt[npt++] = L->map[i].start + L->map[i].len;
	}
	for (u32 i = 1; i < npt; i++) /* insertion sort: a handful of points */
		for (u32 j = i; j > 0 && pt[j - 1] > pt[j]; j--) {
			u64 t = pt[j];

			pt[j] = pt[j - 1];
			pt[j - 1] = t;
		}
	out->n = 0;
	for (u32 i = 0; i + 1 < npt; i++) {
		u64 p = pt[i];
		bool usable = false, reserved = false;

		if (pt[i + 1] == p)
			continue;
		for (u32 k = 0; k < L->nmap; k++)
			if (L->map[k].len && p >= L->map[k].start && p < L->map[k].start + L->map[k].len)
				*(L->map[k].type == MEM_TYPE_USABLE ? &usable : &reserved) = true;
		if (!usable || reserved)
			continue;
		if (out->n && out->r[out->n - 1].end == p)
			out->r[out->n - 1].end = pt[i + 1];
		else
			out->r[out->n++] = (struct span){ p, pt[i + 1] };
	}
}

static bool runs_contain(const struct runs *r, u64 start, u64 end)
{
	for (u32 i = 0; i < r->n; i++)
		if (start >= r->r[i].start && end <= r->r[i].end)
			return true;
	return false;
}

static bool in_window(const struct layout *L, u64 start, u64 len)
{
	return start >= L->base && len <= WIN && start - L->base <= WIN - len;
}

/* Is [at, at + size) a hole: usable RAM under stage_limit, clear of destinations, live ranges, stages? */
static bool model_hole_free(const struct layout *L, const struct runs *r, const struct oracle *o,
			    u64 at, u64 size)
{
	if (at + size > L->stage_limit || !runs_contain(r, at, at + size))
		return false;
	for (u32 i = 0; i < L->nseg; i++)
		if (overlaps(at, at + size, L->seg[i].paddr, L->seg[i].paddr + L->seg[i].memsz))
			return false;
	for (u32 k = 0; k < L->nlive; k++)
		if (overlaps(at, at + size, L->live[k].start, L->live[k].end))
			return false;
	for (u32 s = 0; s < o->nstages; s++)
		if (overlaps(at, at + size, o->stage[s].at, o->stage[s].at + (o->stage[s].end - o->stage[s].start)))
			return false;
	return true;
}

/* Tries every aligned address of the window: the lowest at or above 1 MiB, else the lowest below. */
static bool model_hole_find(const struct layout *L, const struct runs *r, const struct oracle *o,
			    u64 size, u64 *at)
{
	u64 first = (L->base + PLAN_HOLE_ALIGN - 1) / PLAN_HOLE_ALIGN * PLAN_HOLE_ALIGN;

	for (int pass = 0; pass < 2; pass++)
		for (u64 a = first; a < L->base + WIN; a += PLAN_HOLE_ALIGN)
			if ((pass == 0) == (a >= MB) && model_hole_free(L, r, o, a, size)) {
				*at = a;
				return true;
			}
	return false;
}

static void model_oracle(const struct layout *L, const struct runs *r, struct oracle *o)
{
	memset(o, 0, sizeof(*o));
	for (u32 i = 0; i < L->nseg; i++) {
		const struct elf_seg *s = &L->seg[i];

		o->bad_seg = i;
		if (s->paddr + s->memsz > L->addr_limit) {
			o->rc = -JB_EUNSUPPORTED;
			return;
		}
		if (!runs_contain(r, s->paddr, s->paddr + s->memsz)) {
			o->rc = -JB_ENOTRAM;
			return;
		}
	}
	for (u32 k = 0; k < L->nlive; k++) {
		u64 lo = UINT64_MAX, hi = 0;

		for (u32 i = 0; i < L->nseg; i++) {
			u64 s = L->seg[i].paddr, e = s + L->seg[i].memsz;

			if (!overlaps(s, e, L->live[k].start, L->live[k].end))
				continue;
			u64 a = s > L->live[k].start ? s : L->live[k].start;
			u64 b = e < L->live[k].end ? e : L->live[k].end;

			lo = a < lo ? a : lo;
			hi = b > hi ? b : hi;
		}
		if (lo >= hi)
			continue;
		u64 at;

		if (o->nstages == PLAN_MAX_LIVE) {
			o->rc = -JB_ETOOBIG;
			return;
		}
		if (!model_hole_find(L, r, o, hi - lo, &at)) {
			o->rc = -JB_ELIVE;
			o->bad_live = k;
			return;
		}
		o->stage[o->nstages++] = (struct plan_stage){ lo, hi, at, k };
	}
	if (L->final_size && !model_hole_find(L, r, o, L->final_size, &o->final_at)) {
		o->rc = -JB_ELIVE;
		o->bad_live = NO_LIVE;
	}
}

/* Do segments 0 .. seg-1 together cover [start, end)? */
static bool covered_by_earlier(const struct layout *L, u32 seg, u64 start, u64 end)
{
	while (start < end) {
		u64 reach = start;

		for (u32 j = 0; j < seg; j++)
			if (L->seg[j].paddr <= start && L->seg[j].paddr + L->seg[j].memsz > reach)
				reach = L->seg[j].paddr + L->seg[j].memsz;
		if (reach == start)
			return false;
		start = reach;
	}
	return true;
}

/* Does any later segment's data or zero-fill differ from what the first writer left? */
static bool model_expect(const struct layout *L)
{
	bool differs = false;

	for (u32 i = L->nseg; i-- > 0;) { /* backwards: the first segment over a byte wins */
		const struct elf_seg *s = &L->seg[i];
		u32 at = (u32)(s->paddr - L->base);

		memcpy(expect + at, image + s->offset, s->filesz);
		memset(expect + at + s->filesz, 0, s->memsz - s->filesz);
	}
	for (u32 i = 0; i < L->nseg; i++) {
		const struct elf_seg *s = &L->seg[i];
		u32 at = (u32)(s->paddr - L->base);

		differs |= memcmp(expect + at, image + s->offset, s->filesz) != 0 ||
			   memcmp(expect + at + s->filesz, zeros, s->memsz - s->filesz) != 0;
	}
	return differs;
}

/* One plan_build on layout L, judged against the oracle and, when it succeeds, simulated. */
static void model_check(const struct layout *L, u64 noise, const char *what, struct model_stats *st)
{
	struct runs r;
	struct oracle o;
	struct jb_diag d = { "" };
	struct plan_input in = {
		.core = &core,
		.ram = &ram,
		.live = L->live,
		.nlive = L->nlive,
		.addr_limit = L->addr_limit,
		.stage_limit = L->stage_limit,
		.final_size = L->final_size,
	};
	const u8 *g = garbage + noise % WIN;

	memset(&core, 0, sizeof(core));
	core.elf_class = 64;
	core.machine = EM_X86_64;
	core.nseg = L->nseg;
	memcpy(core.seg, L->seg, L->nseg * sizeof(L->seg[0]));
	assert_int_equal(ram_map_build(L->map, L->nmap, &ram, NULL), 0);
	model_runs(L, &r);
	model_oracle(L, &r, &o);
	memset(&plan, 0xcc, sizeof(plan));
	int rc = plan_build(&in, &plan, &d);

	if (rc != o.rc)
		MODEL_FAIL("plan_build returned %d \"%s\", the model expects %d (segment %u, live %u)", rc,
			   d.text, o.rc, o.bad_seg, o.bad_live);
	if (rc) {
		char want[64];

		if (!d.text[0])
			MODEL_FAIL("rc %d with an empty diagnostic", rc);
		if (rc == -JB_ENOTRAM || rc == -JB_EUNSUPPORTED)
			snprintf(want, sizeof(want), "segment %u (", o.bad_seg);
		else if (rc == -JB_ELIVE)
			snprintf(want, sizeof(want), "%s", o.bad_live == NO_LIVE ? "final" : L->live[o.bad_live].name);
		else
			want[0] = '\0';
		if (!strstr(d.text, want))
			MODEL_FAIL("diag \"%s\" lacks \"%s\"", d.text, want);
		*(rc == -JB_ENOTRAM	  ? &st->refused_ram
		  : rc == -JB_EUNSUPPORTED ? &st->refused_limit
		  : rc != -JB_ELIVE	  ? &st->refused_other
		  : o.bad_live == NO_LIVE  ? &st->refused_final
					   : &st->refused_stage) += 1;
		return;
	}

	/* The holes: the lowest free aligned ones, in order, as the brute-force search found. */
	if (plan.nstages != o.nstages)
		MODEL_FAIL("%u stages, the model expects %u", plan.nstages, o.nstages);
	for (u32 s = 0; s < o.nstages; s++)
		if (plan.stage[s].start != o.stage[s].start || plan.stage[s].end != o.stage[s].end ||
		    plan.stage[s].at != o.stage[s].at || plan.stage[s].live != o.stage[s].live)
			MODEL_FAIL("stage %u is 0x%llx-0x%llx at 0x%llx (live %u); the model expects 0x%llx-0x%llx"
				   " at 0x%llx (live %u)",
				   s, (unsigned long long)plan.stage[s].start, (unsigned long long)plan.stage[s].end,
				   (unsigned long long)plan.stage[s].at, plan.stage[s].live,
				   (unsigned long long)o.stage[s].start, (unsigned long long)o.stage[s].end,
				   (unsigned long long)o.stage[s].at, o.stage[s].live);
	if (L->final_size && plan.final_at != o.final_at)
		MODEL_FAIL("final stage at 0x%llx, the model expects 0x%llx", (unsigned long long)plan.final_at,
			   (unsigned long long)o.final_at);
	u64 fin = plan.final_at, fin_end = fin + L->final_size;

	if (L->final_size && (!in_window(L, fin, L->final_size) || fin % PLAN_HOLE_ALIGN ||
			      !model_hole_free(L, &r, &o, fin, L->final_size)))
		MODEL_FAIL("the final stage's area 0x%llx-0x%llx is no hole", (unsigned long long)fin,
			   (unsigned long long)fin_end);

	/* covered[]: the union of the destinations, sorted and merged. */
	struct span u[LAYOUT_MAX_SEGS];
	u32 nu = 0;

	for (u32 i = 0; i < L->nseg; i++) {
		struct span add = { L->seg[i].paddr, L->seg[i].paddr + L->seg[i].memsz };
		u32 j = nu++;

		for (; j > 0 && u[j - 1].start > add.start; j--)
			u[j] = u[j - 1];
		u[j] = add;
	}
	u32 merged = 0;

	for (u32 i = 0; i < nu; i++) {
		if (merged && u[i].start <= u[merged - 1].end) {
			if (u[i].end > u[merged - 1].end)
				u[merged - 1].end = u[i].end;
		} else {
			u[merged++] = u[i];
		}
	}
	if (plan.ncovered != merged)
		MODEL_FAIL("%u covered ranges, the model has %u", plan.ncovered, merged);
	for (u32 i = 0; i < merged; i++)
		if (plan.covered[i].start != u[i].start || plan.covered[i].end != u[i].end)
			MODEL_FAIL("covered[%u] is 0x%llx-0x%llx, the model has 0x%llx-0x%llx", i,
				   (unsigned long long)plan.covered[i].start, (unsigned long long)plan.covered[i].end,
				   (unsigned long long)u[i].start, (unsigned long long)u[i].end);

	/* ---- phase 1, the restore: ops in order on memory that starts as garbage ---- */
	bool differs = model_expect(L), mismatched = false;
	u64 sum_read = 0, sum_zero = 0, sum_checked = 0, seg_bytes = 0;
	u32 cur = 0;

	memcpy(mem, g, WIN);
	for (u32 k = 0; k <= plan.nops; k++) {
		u32 next = k < plan.nops ? plan.op[k].seg : L->nseg;

		if (next < cur || next > L->nseg)
			MODEL_FAIL("op %u for segment %u after segment %u", k, next, cur);
		/* A finished segment: its ops do not overlap (below), so they cover it exactly once. */
		for (; cur < next; cur++, seg_bytes = 0)
			if (seg_bytes != L->seg[cur].memsz)
				MODEL_FAIL("the ops of segment %u cover 0x%llx of its 0x%llx bytes", cur,
					   (unsigned long long)seg_bytes, (unsigned long long)L->seg[cur].memsz);
		if (k == plan.nops)
			break;

		const struct plan_op *op = &plan.op[k];
		const struct elf_seg *s = &L->seg[op->seg];
		bool data = op->kind == PLAN_READ || op->kind == PLAN_CHECK;
		bool fresh = op->kind == PLAN_READ || op->kind == PLAN_ZERO;
		u64 end = op->dest + op->len, shift = op->target - op->dest;

		if (op->kind > PLAN_CHECK_ZERO || op->len == 0)
			MODEL_FAIL("op %u: kind %d, length 0x%llx", k, (int)op->kind, (unsigned long long)op->len);
		if (op->dest < s->paddr || op->len > s->memsz || op->dest - s->paddr > s->memsz - op->len)
			MODEL_FAIL("op %u lies outside its segment %u", k, op->seg);
		if (data && (end > s->paddr + s->filesz || op->file_off - s->offset != op->dest - s->paddr))
			MODEL_FAIL("op %u: %s outside the file data or at the wrong file offset", k,
				   kind_name(op->kind));
		if (!data && op->dest < s->paddr + s->filesz)
			MODEL_FAIL("op %u: %s over the segment's file data", k, kind_name(op->kind));
		/* READ and ZERO where no earlier segment wrote; CHECK and CHECK_ZERO where one did. */
		for (u32 j = 0; j < op->seg && fresh; j++)
			if (overlaps(op->dest, end, L->seg[j].paddr, L->seg[j].paddr + L->seg[j].memsz))
				MODEL_FAIL("op %u: %s over bytes that segment %u wrote first", k,
					   kind_name(op->kind), j);
		if (!fresh && !covered_by_earlier(L, op->seg, op->dest, end))
			MODEL_FAIL("op %u: %s of bytes no earlier segment wrote", k, kind_name(op->kind));
		if (!in_window(L, op->target, op->len))
			MODEL_FAIL("op %u: target 0x%llx outside the machine", k, (unsigned long long)op->target);
		for (u32 l = 0; l < L->nlive; l++)
			if (overlaps(op->target, op->target + op->len, L->live[l].start, L->live[l].end))
				MODEL_FAIL("op %u writes the live range %s", k, L->live[l].name);
		if (L->final_size && overlaps(op->target, op->target + op->len, fin, fin_end))
			MODEL_FAIL("op %u writes the final stage's area", k);
		if (shift) { /* staged: a hole, never anything of the image */
			if (op->target + op->len > L->stage_limit ||
			    !runs_contain(&r, op->target, op->target + op->len))
				MODEL_FAIL("op %u: staging target 0x%llx not usable RAM below stage_limit", k,
					   (unsigned long long)op->target);
			for (u32 i = 0; i < L->nseg; i++)
				if (overlaps(op->target, op->target + op->len, L->seg[i].paddr,
					     L->seg[i].paddr + L->seg[i].memsz))
					MODEL_FAIL("op %u: staging target 0x%llx overlaps segment %u", k,
						   (unsigned long long)op->target, i);
		}
		/* One place per destination byte, one destination byte per place. */
		for (u32 j = 0; j < k; j++) {
			const struct plan_op *e = &plan.op[j];

			if (e->seg == op->seg && overlaps(e->dest, e->dest + e->len, op->dest, end))
				MODEL_FAIL("ops %u and %u of segment %u overlap", j, k, op->seg);
			if (e->target - e->dest != shift &&
			    (overlaps(e->dest, e->dest + e->len, op->dest, end) ||
			     overlaps(e->target, e->target + e->len, op->target, op->target + op->len)))
				MODEL_FAIL("ops %u and %u put one byte in two places, or two bytes in one place", j, k);
		}
		seg_bytes += op->len;

		u8 *at = mem + (op->target - L->base);

		switch (op->kind) {
		case PLAN_READ:
			memcpy(at, image + op->file_off, op->len);
			sum_read += op->len;
			break;
		case PLAN_ZERO:
			memset(at, 0, op->len);
			sum_zero += op->len;
			break;
		case PLAN_CHECK:
			mismatched |= memcmp(at, image + op->file_off, op->len) != 0;
			sum_read += op->len;
			sum_checked += op->len;
			break;
		case PLAN_CHECK_ZERO:
			mismatched |= memcmp(at, zeros, op->len) != 0;
			sum_checked += op->len;
			break;
		}
	}
	if (plan.bytes_read != sum_read || plan.bytes_zero != sum_zero || plan.bytes_checked != sum_checked)
		MODEL_FAIL("counters read 0x%llx zero 0x%llx checked 0x%llx; ops add up to 0x%llx 0x%llx 0x%llx",
			   (unsigned long long)plan.bytes_read, (unsigned long long)plan.bytes_zero,
			   (unsigned long long)plan.bytes_checked, (unsigned long long)sum_read,
			   (unsigned long long)sum_zero, (unsigned long long)sum_checked);
	for (u32 l = 0; l < L->nlive; l++) {
		u64 at = L->live[l].start - L->base;

		if (memcmp(mem + at, g + at, L->live[l].end - L->live[l].start) != 0)
			MODEL_FAIL("the live range %s changed before the final stage", L->live[l].name);
	}
	if (L->final_size && memcmp(mem + (fin - L->base), g + (fin - L->base), L->final_size) != 0)
		MODEL_FAIL("the final stage's area changed during the restore");

	/* ---- phase 2, the final stage: copies in order ---- */
	u64 sum_copied = 0, want_copied = 0;

	for (u32 i = 0; i < plan.ncopies; i++) {
		const struct plan_copy *c = &plan.copy[i];
		bool in_stage = false, in_dest = false;

		if (c->len == 0 || !in_window(L, c->src, c->len) || !in_window(L, c->dst, c->len) ||
		    overlaps(c->src, c->src + c->len, c->dst, c->dst + c->len))
			MODEL_FAIL("copy %u: 0x%llx <- 0x%llx len 0x%llx is out of the machine or overlaps itself",
				   i, (unsigned long long)c->dst, (unsigned long long)c->src,
				   (unsigned long long)c->len);
		if (L->final_size && (overlaps(c->src, c->src + c->len, fin, fin_end) ||
				      overlaps(c->dst, c->dst + c->len, fin, fin_end)))
			MODEL_FAIL("copy %u touches the final stage's area", i);
		for (u32 j = i + 1; j < plan.ncopies; j++)
			if (overlaps(c->dst, c->dst + c->len, plan.copy[j].src, plan.copy[j].src + plan.copy[j].len))
				MODEL_FAIL("copy %u overwrites the source of copy %u", i, j);
		for (u32 s = 0; s < plan.nstages; s++)
			in_stage |= c->dst >= plan.stage[s].start && c->dst + c->len <= plan.stage[s].end &&
				    c->src == plan.stage[s].at + (c->dst - plan.stage[s].start);
		for (u32 j = 0; j < merged; j++)
			in_dest |= c->dst >= u[j].start && c->dst + c->len <= u[j].end;
		if (!in_stage || !in_dest)
			MODEL_FAIL("copy %u does not bring one stage's bytes home to a destination", i);
		memcpy(mem + (c->dst - L->base), mem + (c->src - L->base), c->len);
		sum_copied += c->len;
	}
	/* Each stage copies exactly the destination bytes of its range. */
	for (u32 s = 0; s < o.nstages; s++)
		for (u32 j = 0; j < merged; j++)
			if (overlaps(o.stage[s].start, o.stage[s].end, u[j].start, u[j].end))
				want_copied += (o.stage[s].end < u[j].end ? o.stage[s].end : u[j].end) -
					       (o.stage[s].start > u[j].start ? o.stage[s].start : u[j].start);
	if (sum_copied != want_copied || plan.bytes_staged != want_copied)
		MODEL_FAIL("copies move 0x%llx bytes, bytes_staged says 0x%llx; the staged ranges cover 0x%llx",
			   (unsigned long long)sum_copied, (unsigned long long)plan.bytes_staged,
			   (unsigned long long)want_copied);

	/* ---- the end: every destination byte holds its first segment's value ---- */
	for (u32 i = 0; i < L->nseg; i++) {
		u64 at = L->seg[i].paddr - L->base;

		if (memcmp(mem + at, expect + at, L->seg[i].memsz) == 0)
			continue;
		u64 b = 0;

		while (mem[at + b] == expect[at + b])
			b++;
		MODEL_FAIL("segment %u: 0x%llx holds 0x%02x, want 0x%02x (%s)", i,
			   (unsigned long long)(L->seg[i].paddr + b), mem[at + b], expect[at + b],
			   mismatched ? "a check failed" : "no check failed");
	}
	if (mismatched != differs)
		MODEL_FAIL("the checks %s a difference, the segments %s", mismatched ? "found" : "missed",
			   differs ? "differ" : "agree");
	/* Nothing else changed: put back what may change and compare the whole machine. */
	for (u32 i = 0; i < L->nseg; i++)
		memcpy(mem + (L->seg[i].paddr - L->base), g + (L->seg[i].paddr - L->base), L->seg[i].memsz);
	for (u32 s = 0; s < plan.nstages; s++)
		memcpy(mem + (plan.stage[s].at - L->base), g + (plan.stage[s].at - L->base),
		       plan.stage[s].end - plan.stage[s].start);
	if (memcmp(mem, g, WIN) != 0)
		MODEL_FAIL("bytes outside the destinations and staging areas changed");
	st->planned++;
	st->staged += plan.nstages > 0;
	st->mismatched += mismatched;
}

/* A random address inside usable RAM (most of the time), else anywhere in the window. */
static u64 random_spot(struct test_rng *rng, const struct layout *L, const struct runs *r)
{
	if (r->n && rng_chance(rng, 97)) {
		const struct span *s = &r->r[rng_below(rng, r->n)];

		return rng_range(rng, s->start, s->end - 1);
	}
	return L->base + rng_below(rng, WIN);
}

static u64 run_end_at(const struct runs *r, u64 a)
{
	for (u32 i = 0; i < r->n; i++)
		if (a >= r->r[i].start && a < r->r[i].end)
			return r->r[i].end;
	return a + 1;
}

static const char *const live_names[LAYOUT_MAX_LIVE] = {
	"live zero", "live one", "live two", "live three", "live four",
	"live five", "live six", "live seven", "live eight",
};

static void layout_random(struct test_rng *rng, struct layout *L)
{
	struct runs r;
	u64 pick = rng_below(rng, 100), end = 0;

	memset(L, 0, sizeof(*L));
	/* The window: low memory, across 1 MiB, above it, across 4 GiB, or far up. */
	if (pick < 20)
		L->base = 0;
	else if (pick < 55)
		L->base = MB - PLAN_HOLE_ALIGN * rng_range(rng, 1, WIN / PLAN_HOLE_ALIGN - 1);
	else if (pick < 75)
		L->base = MB + PLAN_HOLE_ALIGN * rng_below(rng, 64);
	else if (pick < 90)
		L->base = 4 * GB - PLAN_HOLE_ALIGN * rng_range(rng, 1, WIN / PLAN_HOLE_ALIGN - 1);
	else
		L->base = (1ull << 40) + PLAN_HOLE_ALIGN * rng_below(rng, 1024);
	if (rng_chance(rng, 10))
		L->base += rng_below(rng, PLAN_HOLE_ALIGN); /* holes then fall between the window's pages */

	/* RAM: one large usable entry (sometimes in two adjacent pieces) and a few random ones. */
	u64 s0 = rng_chance(rng, 30) ? 0 : rng_below(rng, WIN / 8), len0 = rng_range(rng, WIN / 2, WIN - s0);

	if (rng_chance(rng, 25)) {
		u64 cut = rng_range(rng, 1, len0 - 1);
		u32 first = rng_chance(rng, 50);

		L->map[L->nmap + first] = (struct mem_entry){ L->base + s0, cut, MEM_TYPE_USABLE };
		L->map[L->nmap + !first] = (struct mem_entry){ L->base + s0 + cut, len0 - cut, MEM_TYPE_USABLE };
		L->nmap += 2;
	} else {
		L->map[L->nmap++] = (struct mem_entry){ L->base + s0, len0, MEM_TYPE_USABLE };
	}
	for (u64 n = rng_below(rng, 5); n > 0; n--) {
		u64 s = rng_below(rng, WIN), len = rng_range(rng, 1, 0x2000);

		if (len > WIN - s)
			len = WIN - s;
		u32 type = rng_chance(rng, 35) ? MEM_TYPE_USABLE : (u32)rng_range(rng, 2, 5);

		L->map[L->nmap++] = (struct mem_entry){ L->base + s, len, type };
	}
	model_runs(L, &r);
	if (r.n == 0) /* a reserved entry ate all RAM: give some back, elsewhere */
		L->map[L->nmap++] = (struct mem_entry){ L->base, PLAN_HOLE_ALIGN, MEM_TYPE_USABLE };
	model_runs(L, &r);

	/* Live ranges: mostly one or two, in RAM, sometimes overlapping each other. */
	pick = rng_below(rng, 100);
	L->nlive = pick < 10 ? 0 : pick < 45 ? 1 : pick < 75 ? 2 : pick < 90 ? 3 : 4;
	for (u32 k = 0; k < L->nlive; k++) {
		u64 s, len = rng_chance(rng, 75) ? rng_range(rng, 1, 0x800) : rng_range(rng, 0x800, 0x3000);

		if (k > 0 && rng_chance(rng, 12))
			s = rng_range(rng, L->live[k - 1].start, L->live[k - 1].end - 1);
		else
			s = random_spot(rng, L, &r);
		if (len > L->base + WIN - s)
			len = L->base + WIN - s;
		L->live[k] = (struct live_range){ s, s + len, live_names[k] };
	}

	/* Limits: often none; sometimes inside the window, at or between pages. */
	L->addr_limit = rng_chance(rng, 88) ? UINT64_MAX : L->base + rng_range(rng, WIN / 2, WIN) - rng_below(rng, 2);
	pick = rng_below(rng, 100);
	if (pick < 30)
		L->stage_limit = UINT64_MAX;
	else if (pick < 50)
		L->stage_limit = 4 * GB; /* the stub's: crosses the windows just below 4 GiB */
	else
		L->stage_limit = L->base + rng_range(rng, WIN / 3, WIN) - (rng_chance(rng, 50) ? rng_below(rng, 0x1000) : 0);
	if (rng_chance(rng, 15))
		L->final_size = 0;
	else
		L->final_size = rng_chance(rng, 85) ? rng_range(rng, 1, 0x1800) : rng_range(rng, 0x1800, 0x6000);

	/*
	 * Segments: fresh ones in RAM, ones over live ranges, overlaps of earlier ones (mostly with
	 * the same bytes there), exact duplicates; most end where their RAM does at the latest.
	 */
	u64 truth = rng_below(rng, IMG_SIZE - WIN + 1); /* the image of the whole window, for honest segments */

	L->nseg = (u32)rng_range(rng, 1, LAYOUT_MAX_SEGS);
	for (u32 i = 0; i < L->nseg; i++) {
		struct elf_seg *s = &L->seg[i];
		const struct elf_seg *e = NULL;
		u64 start;

		pick = rng_below(rng, 100);
		if (i > 0 && pick < 12) {
			*s = L->seg[rng_below(rng, i)];
			continue;
		}
		if (i > 0 && pick < 35) {
			e = &L->seg[rng_below(rng, i)];
			start = rng_range(rng, e->paddr >= L->base + 0x400 ? e->paddr - 0x400 : L->base,
					  e->paddr + e->memsz - 1);
		} else if (pick < 55 && L->nlive) {
			const struct live_range *l = &L->live[rng_below(rng, L->nlive)];

			start = rng_range(rng, l->start >= L->base + 0x400 ? l->start - 0x400 : L->base, l->end - 1);
		} else {
			start = random_spot(rng, L, &r);
		}
		if (!runs_contain(&r, start, start + 1) && rng_chance(rng, 85))
			start = random_spot(rng, L, &r);
		end = start + (rng_chance(rng, 80) ? rng_range(rng, 1, 0x800) : rng_range(rng, 0x800, 0x1000));
		if (rng_chance(rng, 96) && end > run_end_at(&r, start))
			end = run_end_at(&r, start);
		if (end > L->base + WIN)
			end = L->base + WIN;
		s->paddr = start;
		s->memsz = end - start;
		s->filesz = rng_chance(rng, 70) ? s->memsz : rng_range(rng, 0, s->memsz);
		s->phdr_index = i + 1;
		/*
		 * File data: the same bytes (and zero tail) as the segment it overlaps, the window's
		 * "true" contents (as most segments have), zeros, or anything.
		 */
		if (e && rng_chance(rng, 85) && e->offset + s->paddr >= e->paddr) {
			u64 data_end = e->paddr + e->filesz;

			s->filesz = data_end <= s->paddr ? 0 : data_end - s->paddr;
			if (s->filesz > s->memsz)
				s->filesz = s->memsz;
			s->offset = e->offset + s->paddr - e->paddr;
			if (s->offset <= IMG_SIZE - s->filesz)
				continue;
		}
		if (rng_chance(rng, 92))
			s->offset = truth + (s->paddr - L->base);
		else if (s->filesz <= IMG_ZEROS && rng_chance(rng, 15))
			s->offset = rng_below(rng, IMG_ZEROS - s->filesz + 1);
		else
			s->offset = rng_below(rng, IMG_SIZE - s->filesz + 1);
	}
}

static void model_init(struct test_rng *rng)
{
	for (u32 i = 0; i < IMG_SIZE; i++)
		image[i] = i < IMG_ZEROS || (i / IMG_BLOCK) % 4 == 0 ? 0 : (u8)rng_next(rng);
	for (u32 i = 0; i < sizeof(garbage); i++)
		garbage[i] = (u8)rng_next(rng);
}

#define PROPERTY_LAYOUTS 100000

static void test_random_layouts(void **state)
{
	u64 seed = test_seed(0x91b);
	struct test_rng rng = { seed };
	struct model_stats st = { 0 };
	static struct layout L;
	clock_t t0 = clock();

	(void)state;
	print_message("plan property: seed 0x%llx (JB_TEST_SEED replays), %d layouts\n",
		      (unsigned long long)seed, PROPERTY_LAYOUTS);
	model_init(&rng);
	for (int iter = 0; iter < PROPERTY_LAYOUTS; iter++) {
		char what[48];

		layout_random(&rng, &L);
		snprintf(what, sizeof(what), "random layout %d", iter);
		model_check(&L, rng_next(&rng), what, &st);
	}
	u64 refused = st.refused_ram + st.refused_limit + st.refused_stage + st.refused_final + st.refused_other;

	print_message("plan property: %llu planned (%llu of them staged, %llu with a failing check),"
		      " %llu refused: %llu not RAM, %llu over addr_limit, %llu no hole for a stage,"
		      " %llu no hole for the final stage, %llu other; %.2f s\n",
		      (unsigned long long)st.planned, (unsigned long long)st.staged,
		      (unsigned long long)st.mismatched, (unsigned long long)refused,
		      (unsigned long long)st.refused_ram, (unsigned long long)st.refused_limit,
		      (unsigned long long)st.refused_stage, (unsigned long long)st.refused_final,
		      (unsigned long long)st.refused_other, (double)(clock() - t0) / CLOCKS_PER_SEC);
	/* The generator must keep every branch busy, and mostly produce plans. */
	assert_true(st.planned > PROPERTY_LAYOUTS / 2);
	assert_true(st.staged > st.planned / 5);
	assert_true(st.mismatched > st.planned / 50 && st.mismatched < st.planned / 2);
	assert_true(st.refused_ram > PROPERTY_LAYOUTS / 100);
	assert_true(st.refused_limit > PROPERTY_LAYOUTS / 200);
	assert_true(st.refused_stage > PROPERTY_LAYOUTS / 200);
	assert_true(st.refused_final > PROPERTY_LAYOUTS / 200);
	assert_int_equal(st.refused_other, 0);
}

/* Fixed layouts for the model: live ranges that overlap each other, in both orders. */
static void test_overlapping_live_ranges(void **state)
{
	static struct layout L;
	struct model_stats st = { 0 };
	struct test_rng rng = { test_seed(0x0f1) };
	const u64 b = MB;

	(void)state;
	model_init(&rng);
	for (int order = 0; order < 2; order++) {
		for (int dup = 0; dup < 2; dup++) {
			char what[64];

			memset(&L, 0, sizeof(L));
			L.base = b;
			L.map[L.nmap++] = (struct mem_entry){ b, WIN, MEM_TYPE_USABLE };
			L.live[order] = (struct live_range){ b + 0x1000, b + 0x3000, "stub image" };
			L.live[!order] = (struct live_range){ b + 0x2000, b + 0x4000, "stub stack" };
			L.nlive = 2;
			L.addr_limit = L.stage_limit = UINT64_MAX;
			L.final_size = 0x1000;
			L.seg[L.nseg++] = (struct elf_seg){ b + 0x800, 0x4000, 0x4000, 0x4000, 1 };
			if (dup) /* the same bytes again, starting inside both live ranges */
				L.seg[L.nseg++] = (struct elf_seg){ b + 0x2800, 0x6000, 0x1000, 0x1000, 2 };
			snprintf(what, sizeof(what), "overlapping live ranges, order %d%s", order,
				 dup ? ", with a duplicate" : "");
			model_check(&L, 0, what, &st);
		}
	}
	assert_int_equal(st.planned, 4);
	assert_int_equal(st.mismatched, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_repeatable),
		cmocka_unit_test(test_most_ops),
		cmocka_unit_test(test_hole_preference),
		cmocka_unit_test(test_plan_hole),
		cmocka_unit_test(test_many_live_ranges),
		cmocka_unit_test(test_overlapping_live_ranges),
		cmocka_unit_test(test_random_layouts),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
