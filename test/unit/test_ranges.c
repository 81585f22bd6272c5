/* Unit tests for lib/ranges.c: building the usable-RAM map from firmware entries, lookups. */
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

#define MAX_CASE_ENTRIES 8
#define RSV 2 /* e820 "reserved" */
#define ACPI 3
#define NVS 4
#define BAD 5
#define MB (1ull << 20)
#define GB (1ull << 30)

static const struct {
	const char *name;
	u32 n;
	struct mem_entry e[MAX_CASE_ENTRIES];
	int rc;
	u32 nwant;
	struct mem_range want[MAX_CASE_ENTRIES];
} cases[] = {
	{ "one usable", 1, { { 0x100000, 0x7f00000, 1 } }, 0, 1, { { 0x100000, 0x8000000 } } },
	{ "typical QEMU e820",
	  4,
	  { { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, RSV }, { 0xf0000, 0x10000, RSV }, { 0x100000, 0x7ee0000, 1 } },
	  0,
	  2,
	  { { 0, 0x9fc00 }, { 0x100000, 0x7fe0000 } } },
	{ "overlapping usable merge", 2, { { 0, 0x9fc00, 1 }, { 0x50000, 0x50000, 1 } }, 0, 1, { { 0, 0xa0000 } } },
	{ "one usable inside another", 2, { { 0, 4 * MB, 1 }, { MB, MB, 1 } }, 0, 1, { { 0, 4 * MB } } },
	{ "adjacent usable merge", 3, { { 0, 0x1000, 1 }, { 0x2000, 0x1000, 1 }, { 0x1000, 0x1000, 1 } }, 0, 1, { { 0, 0x3000 } } },
	{ "unsorted disjoint", 3, { { 3 * GB, GB, 1 }, { MB, MB, 1 }, { 0, 0x1000, 1 } }, 0, 3,
	  { { 0, 0x1000 }, { MB, 2 * MB }, { 3 * GB, 4 * GB } } },
	{ "reserved hole in the middle", 2, { { MB, 127 * MB, 1 }, { 2 * MB, MB, RSV } }, 0, 2,
	  { { MB, 2 * MB }, { 3 * MB, 128 * MB } } },
	{ "reserved listed before usable", 2, { { 2 * MB, MB, ACPI }, { MB, 127 * MB, 1 } }, 0, 2,
	  { { MB, 2 * MB }, { 3 * MB, 128 * MB } } },
	{ "reserved covers a whole usable range", 3, { { MB, MB, 1 }, { 3 * MB, MB, 1 }, { 0, 0x250000, RSV } }, 0, 1,
	  { { 3 * MB, 4 * MB } } },
	{ "reserved equals usable", 2, { { MB, MB, 1 }, { MB, MB, NVS } }, -JB_EMEMMAP, 0, { { 0, 0 } } },
	{ "reserved over the low end", 2, { { MB, 3 * MB, 1 }, { 0, 2 * MB, RSV } }, 0, 1, { { 2 * MB, 4 * MB } } },
	{ "reserved over the high end", 2, { { MB, 3 * MB, 1 }, { 3 * MB, 8 * MB, RSV } }, 0, 1, { { MB, 3 * MB } } },
	{ "reserved spanning two usable", 3, { { 0, 2 * MB, 1 }, { 3 * MB, 2 * MB, 1 }, { MB, 3 * MB, BAD } }, 0, 2,
	  { { 0, MB }, { 4 * MB, 5 * MB } } },
	{ "reserved touching is no cut", 3, { { MB, MB, 1 }, { 0, MB, RSV }, { 2 * MB, MB, RSV } }, 0, 1,
	  { { MB, 2 * MB } } },
	{ "several holes in one range", 4, { { 0, 16 * MB, 1 }, { MB, MB, RSV }, { 8 * MB, MB, RSV }, { 4 * MB, MB, RSV } }, 0, 4,
	  { { 0, MB }, { 2 * MB, 4 * MB }, { 5 * MB, 8 * MB }, { 9 * MB, 16 * MB } } },
	{ "overlapping holes", 3, { { 0, 16 * MB, 1 }, { MB, 2 * MB, RSV }, { 2 * MB, 2 * MB, RSV } }, 0, 2,
	  { { 0, MB }, { 4 * MB, 16 * MB } } },
	{ "len 0 usable ignored", 2, { { 0, 0, 1 }, { MB, MB, 1 } }, 0, 1, { { MB, 2 * MB } } },
	{ "len 0 reserved ignored", 2, { { MB, 2 * MB, 1 }, { 2 * MB, 0, RSV } }, 0, 1, { { MB, 3 * MB } } },
	{ "type 0 and odd types are not usable", 3, { { 0, 8 * MB, 1 }, { MB, MB, 0 }, { 4 * MB, MB, 0xffffffff } }, 0, 3,
	  { { 0, MB }, { 2 * MB, 4 * MB }, { 5 * MB, 8 * MB } } },
	{ "entry reaching UINT64_MAX", 1, { { 4 * GB, UINT64_MAX - 4 * GB, 1 } }, 0, 1, { { 4 * GB, UINT64_MAX } } },
	{ "entry wrapping past 2^64 is clamped", 2, { { UINT64_MAX - 0xfff, 0x2000, 1 }, { 0, MB, 1 } }, 0, 2,
	  { { 0, MB }, { UINT64_MAX - 0xfff, UINT64_MAX } } },
	{ "huge len from 0", 1, { { 0, UINT64_MAX, 1 } }, 0, 1, { { 0, UINT64_MAX } } },
	{ "reserved wrapping cuts to the top", 2, { { 0, UINT64_MAX, 1 }, { 8 * GB, UINT64_MAX, RSV } }, 0, 1,
	  { { 0, 8 * GB } } },
	{ "usable entry at the very top is empty", 2, { { UINT64_MAX, 1, 1 }, { MB, MB, 1 } }, 0, 1, { { MB, 2 * MB } } },
	{ "only an empty top entry", 1, { { UINT64_MAX, 0x1000, 1 } }, -JB_EMEMMAP, 0, { { 0, 0 } } },
	{ "no entries", 0, { { 0, 0, 0 } }, -JB_EMEMMAP, 0, { { 0, 0 } } },
	{ "all reserved", 3, { { 0, MB, RSV }, { MB, MB, ACPI }, { 4 * GB, GB, NVS } }, -JB_EMEMMAP, 0, { { 0, 0 } } },
	{ "only empty usable", 2, { { MB, 0, 1 }, { 0, 0, 1 } }, -JB_EMEMMAP, 0, { { 0, 0 } } },
	{ "usable eaten by overlapping reserved", 3, { { MB, 2 * MB, 1 }, { 0, 2 * MB, RSV }, { 2 * MB, MB, RSV } }, -JB_EMEMMAP, 0,
	  { { 0, 0 } } },
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(cases); i++) {
		struct ram_map ram;
		struct jb_diag d = { "" };
		int rc = ram_map_build(cases[i].e, cases[i].n, &ram, &d);

		if (rc != cases[i].rc)
			fail_msg("%s: rc %d (%s), want %d", cases[i].name, rc, d.text, cases[i].rc);
		if (rc) {
			assert_non_null(strstr(d.text, "no usable RAM"));
			continue;
		}
		if (ram.n != cases[i].nwant)
			fail_msg("%s: %u ranges, want %u", cases[i].name, ram.n, cases[i].nwant);
		for (u32 k = 0; k < ram.n; k++)
			if (ram.r[k].start != cases[i].want[k].start || ram.r[k].end != cases[i].want[k].end)
				fail_msg("%s: range %u is 0x%llx-0x%llx, want 0x%llx-0x%llx", cases[i].name, k,
					 (unsigned long long)ram.r[k].start, (unsigned long long)ram.r[k].end,
					 (unsigned long long)cases[i].want[k].start,
					 (unsigned long long)cases[i].want[k].end);
	}
}

/* The input array is not modified (the firmware's map is read-only to the stub). */
static void test_input_untouched(void **state)
{
	struct mem_entry e[3] = { { 3 * MB, MB, 1 }, { 0, MB, 1 }, { 3 * MB, 0x1000, RSV } };
	struct mem_entry copy[3];
	struct ram_map ram;

	(void)state;
	memcpy(copy, e, sizeof(e));
	assert_int_equal(ram_map_build(e, 3, &ram, NULL), 0);
	assert_memory_equal(e, copy, sizeof(e));
	assert_int_equal(ram.n, 2);
}

static void test_too_many(void **state)
{
	static struct mem_entry e[RAM_MAX_RANGES + 2];
	struct ram_map ram;
	struct jb_diag d = { "" };

	(void)state;
	/* Exactly RAM_MAX_RANGES disjoint usable entries: fine. */
	for (u32 i = 0; i < RAM_MAX_RANGES + 1; i++)
		e[i] = (struct mem_entry){ 2 * MB * i, MB, 1 };
	assert_int_equal(ram_map_build(e, RAM_MAX_RANGES, &ram, &d), 0);
	assert_int_equal(ram.n, RAM_MAX_RANGES);
	assert_int_equal(ram.r[RAM_MAX_RANGES - 1].start, 2 * MB * (RAM_MAX_RANGES - 1));
	/* One more. */
	assert_int_equal(ram_map_build(e, RAM_MAX_RANGES + 1, &ram, &d), -JB_ETOOBIG);
	assert_non_null(strstr(d.text, "more than 128"));

	/* One usable range split by holes: RAM_MAX_RANGES pieces fit, one more does not. */
	e[0] = (struct mem_entry){ 0, 4 * GB, 1 };
	for (u32 i = 1; i <= RAM_MAX_RANGES; i++)
		e[i] = (struct mem_entry){ 2 * MB * i, MB, RSV };
	assert_int_equal(ram_map_build(e, RAM_MAX_RANGES, &ram, &d), 0);
	assert_int_equal(ram.n, RAM_MAX_RANGES);
	assert_int_equal(ram.r[RAM_MAX_RANGES - 1].end, 4 * GB);
	d.text[0] = '\0';
	assert_int_equal(ram_map_build(e, RAM_MAX_RANGES + 1, &ram, &d), -JB_ETOOBIG);
	assert_non_null(strstr(d.text, "splits into more than 128"));
}

static void test_contains(void **state)
{
	static const struct mem_entry e[] = {
		{ 0, 0x9fc00, 1 }, { 0x100000, 0x7f00000, 1 }, { 0x8000000, 0x1000, RSV },
		{ 0x8001000, 0x1000, 1 }, { 4 * GB, GB, 1 },
	};
	static const struct {
		u64 start, end;
		bool want;
	} q[] = {
		{ 0, 0x9fc00, true },
		{ 0, 0x9fc01, false },
		{ 0x9fbff, 0x9fc00, true },
		{ 0x9fc00, 0x9fc01, false },
		{ 0xfffff, 0x100000, false },
		{ 0x100000, 0x8000000, true },
		{ 0xfffff, 0x8000000, false },
		{ 0x100000, 0x8000001, false },
		{ 0x7fff000, 0x8001000, false },
		{ 0x8000000, 0x8001000, false },
		{ 0x8001000, 0x8002000, true },
		{ 0x8000fff, 0x8001001, false },
		/* spanning two separate ranges, even when all of each is usable: not contained */
		{ 0, 0x8000000, false },
		{ 0x100000, 0x8002000, false },
		{ 4 * GB, 5 * GB, true },
		{ 4 * GB - 1, 4 * GB + 1, false },
		{ 5 * GB - 0x1000, 5 * GB, true },
		{ 5 * GB, 5 * GB + 1, false },
		{ UINT64_MAX - 1, UINT64_MAX, false },
	};
	struct ram_map ram;

	(void)state;
	assert_int_equal(ram_map_build(e, JB_ARRAY_LEN(e), &ram, NULL), 0);
	assert_int_equal(ram.n, 4);
	for (size_t i = 0; i < JB_ARRAY_LEN(q); i++)
		if (ram_map_contains(&ram, q[i].start, q[i].end) != q[i].want)
			fail_msg("contains(0x%llx, 0x%llx) should be %d", (unsigned long long)q[i].start,
				 (unsigned long long)q[i].end, q[i].want);
	/* An empty map contains nothing. */
	ram.n = 0;
	assert_false(ram_map_contains(&ram, 0, 1));
}

/*
 * Seeded random maps on a small grid, checked against a bitmap model: a unit is usable when a
 * usable entry covers it and no other entry does. Units are scaled to real-looking addresses.
 */
#define GRID 512

static void test_random_vs_bitmap(void **state)
{
	u64 seed = test_seed(0x4a3);
	struct test_rng rng = { seed };
	int iterations = 20000;

	(void)state;
	print_message("ranges random: seed 0x%llx, %d maps\n", (unsigned long long)seed, iterations);
	for (int iter = 0; iter < iterations; iter++) {
		struct mem_entry e[24];
		bool usable[GRID + 1], covered[GRID + 1], reserved[GRID + 1];
		u32 n = (u32)rng_below(&rng, JB_ARRAY_LEN(e) + 1);
		u64 scale = rng_chance(&rng, 50) ? 0x1000 : 1;
		u64 base = rng_chance(&rng, 20) ? 1ull << 40 : 0;
		struct ram_map ram;
		struct jb_diag d;

		memset(covered, 0, sizeof(covered));
		memset(reserved, 0, sizeof(reserved));
		for (u32 i = 0; i < n; i++) {
			u64 s = rng_below(&rng, GRID), len = rng_below(&rng, rng_chance(&rng, 50) ? 16 : GRID - s + 1);
			u32 type = rng_chance(&rng, 60) ? 1 : (u32)rng_range(&rng, 2, 5);

			if (s + len > GRID)
				len = GRID - s;
			e[i] = (struct mem_entry){ base + s * scale, len * scale, type };
			for (u64 u = s; u < s + len; u++) {
				if (type == 1)
					covered[u] = true;
				else
					reserved[u] = true;
			}
		}
		u32 runs = 0;

		for (u32 u = 0; u < GRID; u++) {
			usable[u] = covered[u] && !reserved[u];
			if (usable[u] && (u == 0 || !usable[u - 1]))
				runs++;
		}
		usable[GRID] = false;
		int rc = ram_map_build(e, n, &ram, &d);

		if (runs == 0) {
			assert_int_equal(rc, -JB_EMEMMAP);
			continue;
		}
		assert_int_equal(rc, 0);
		/* Ranges are exactly the maximal runs of usable units, in order. */
		u32 k = 0;

		for (u32 u = 0; u < GRID; u++) {
			if (!usable[u] || (u > 0 && usable[u - 1]))
				continue;
			u32 v = u;

			while (usable[v])
				v++;
			assert_true(k < ram.n);
			assert_int_equal(ram.r[k].start, base + u * scale);
			assert_int_equal(ram.r[k].end, base + v * scale);
			k++;
		}
		assert_int_equal(ram.n, k);
		/* ram_map_contains agrees with "every unit of [a, b) is usable" for random queries. */
		for (int qn = 0; qn < 8; qn++) {
			u64 a = rng_below(&rng, GRID), b = rng_range(&rng, a + 1, GRID);
			bool all = true;

			for (u64 u = a; u < b; u++)
				all &= usable[u];
			assert_int_equal(ram_map_contains(&ram, base + a * scale, base + b * scale), all);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_input_untouched),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_random_vs_bitmap),
	};

	return cmocka_run_group_tests_name("ranges", tests, NULL, NULL);
}
