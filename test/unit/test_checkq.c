/*
 * Unit tests for lib/checkq.c, the check queue: chunks of seeded random bytes fed in random
 * pieces (stable, or through a bounce buffer that is overwritten right after), checked by
 * the boot CPU alone and with a fake helper CPU that finishes late, so chunks complete out of
 * order; a queue filled past its depth, chunks of more extents than an entry holds, a damaged
 * chunk found by either CPU, a helper that never finishes, and chunks above 4 GiB. Every
 * chunk's expected hash comes from Debian's libxxhash, XXH64().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "checkq.h"
#include "errors.h"
#include "unit_helpers.h"

#define MEM_SIZE (16u << 20)             /* host memory behind the fake physical addresses */
#define BOUNCE_SIZE (1u << 20)           /* its last MiB: the reused buffer */
#define BOUNCE_OFF (MEM_SIZE - BOUNCE_SIZE)
#define MAX_CHUNKS 96u
#define HELPER_TIMEOUT_MS 1234u
#define FOUR_GIB (1ull << 32)

static u8 *mem;
static u64 mem_base; /* the physical address of mem[0] */

static u8 *at(u64 addr, u32 len)
{
	u64 off = addr - mem_base;

	if (addr < mem_base || off + len > MEM_SIZE)
		fail_msg("the queue hashed [0x%llx, +%u), past the test's memory",
			 (unsigned long long)addr, len);
	return mem + off;
}

/* ---- the fake helper CPU ---- */

static struct {
	bool busy;
	struct xxh64 h;
	struct checkq_extent ext[CHECKQ_EXTENTS];
	u32 n;
	u64 lo;           /* the job's first address */
	u64 last_lo;      /* the previous job's: jobs go oldest first, so upwards */
	u32 slowness;     /* polls the helper stays busy after a post */
	u32 polls_left;
	bool hang;        /* helper_wait times out */
	u32 posts, high_posts;
	u64 posted_bytes; /* the bytes of every job */
	u32 last_timeout_ms;
	u32 overtaken;    /* boot CPU hashes of later bytes while the helper held earlier ones */
} helper;

static void fake_hash(struct xxh64 *h, u64 addr, u32 len)
{
	if (helper.busy && addr > helper.lo)
		helper.overtaken++;
	xxh64_update(h, at(addr, len), len);
}

static bool fake_idle(void)
{
	if (!helper.busy || helper.polls_left == 0)
		return true;
	helper.polls_left--;
	return false;
}

static void fake_post(const struct xxh64 *h, const struct checkq_extent *ext, u32 n)
{
	assert_false(helper.busy);
	assert_true(n >= 1 && n <= CHECKQ_EXTENTS);
	if (helper.posts && ext[0].addr <= helper.last_lo)
		fail_msg("the helper got 0x%llx after 0x%llx: not the oldest closed chunk",
			 (unsigned long long)ext[0].addr, (unsigned long long)helper.last_lo);
	helper.last_lo = ext[0].addr;
	helper.busy = true;
	helper.h = *h;
	memcpy(helper.ext, ext, n * sizeof(*ext));
	helper.n = n;
	helper.lo = ext[0].addr;
	helper.polls_left = helper.slowness;
	helper.posts++;
	bool high = false;

	for (u32 i = 0; i < n; i++) {
		helper.posted_bytes += ext[i].len;
		high = high || ext[i].addr + ext[i].len > FOUR_GIB;
	}
	helper.high_posts += high;
}

static bool fake_wait(u64 *hash, u32 timeout_ms)
{
	assert_true(helper.busy);
	helper.last_timeout_ms = timeout_ms;
	if (helper.hang)
		return false;
	for (u32 i = 0; i < helper.n; i++)
		xxh64_update(&helper.h, at(helper.ext[i].addr, helper.ext[i].len), helper.ext[i].len);
	*hash = xxh64_final(&helper.h);
	helper.busy = false;
	return true;
}

static const struct checkq_ops ops = {
	.hash = fake_hash,
	.helper_idle = fake_idle,
	.helper_post = fake_post,
	.helper_wait = fake_wait,
	.helper_timeout_ms = HELPER_TIMEOUT_MS,
};

static void reset_helper(u32 slowness)
{
	memset(&helper, 0, sizeof(helper));
	helper.slowness = slowness;
}

/* ---- scenarios: chunks laid out one after another from base ---- */

struct scenario {
	u64 base;
	u32 n;
	u32 off[MAX_CHUNKS], len[MAX_CHUNKS];
	u64 want[MAX_CHUNKS];
	u32 pieces_max;    /* a chunk is fed in up to this many pieces */
	bool even;         /* exactly pieces_max pieces of about equal size */
	u32 stable_pct;    /* pieces noted in place; the rest go through the bounce buffer */
	u32 steps_max;     /* checkq_step calls between pieces, up to */
	bool closes_only;  /* no steps at all: the queue must work itself down */
	int damaged;       /* chunk with one flipped bit after its hash was taken, or -1 */
	u64 damaged_got;
	/* out */
	struct checkq q;
	int rc;
};

static void fill_random(struct test_rng *rng, u32 len)
{
	for (u32 i = 0; i < len; i += 8) {
		u64 v = rng_next(rng);

		memcpy(mem + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* n chunks of min_len to max_len random bytes, back to back, and their expected hashes. */
static void lay_out(struct test_rng *rng, struct scenario *s, u32 n, u32 min_len, u32 max_len)
{
	u32 off = 0;

	s->n = n;
	for (u32 i = 0; i < n; i++) {
		s->off[i] = off;
		s->len[i] = (u32)rng_range(rng, min_len, max_len);
		off += s->len[i];
		assert_true(off <= BOUNCE_OFF);
	}
	fill_random(rng, off);
	for (u32 i = 0; i < n; i++)
		s->want[i] = XXH64(mem + s->off[i], s->len[i], 0);
	s->damaged = -1;
}

static void damage(struct test_rng *rng, struct scenario *s, u32 c)
{
	assert_true(s->len[c] > 0);
	mem[s->off[c] + rng_below(rng, s->len[c])] ^= (u8)(1u << rng_below(rng, 8));
	s->damaged = (int)c;
	s->damaged_got = XXH64(mem + s->off[c], s->len[c], 0);
}

static int feed_chunk(struct test_rng *rng, struct scenario *s, u32 c)
{
	struct checkq *q = &s->q;
	u32 pos = 0, pieces = s->even ? s->pieces_max : (u32)rng_range(rng, 1, s->pieces_max);
	int rc;

	while (pos < s->len[c]) {
		u32 left = s->len[c] - pos;
		u32 n = --pieces == 0 ? left
			: s->even     ? left / (pieces + 1)
				      : (u32)rng_range(rng, 0, left);
		u64 addr = s->base + s->off[c] + pos;

		if (rng_chance(rng, s->stable_pct)) {
			rc = checkq_add(q, addr, n, true);
		} else {
			/* The bounce buffer holds the piece only until checkq_add returns. */
			n = n < BOUNCE_SIZE ? n : BOUNCE_SIZE;
			memcpy(mem + BOUNCE_OFF, mem + s->off[c] + pos, n);
			rc = checkq_add(q, s->base + BOUNCE_OFF, n, false);
			memset(mem + BOUNCE_OFF, 0xa5, n);
		}
		if (rc)
			return rc;
		pos += n;
		for (u32 k = s->closes_only ? 0 : (u32)rng_range(rng, 0, s->steps_max); k; k--)
			if ((rc = checkq_step(q)) < 0)
				return rc;
	}
	struct checkq_chunk id = { .seg = 7, .k = c, .entry = 100 + c, .start = s->off[c],
				   .end = s->off[c] + s->len[c] };

	return checkq_close(q, &id, s->want[c]);
}

static void run(struct test_rng *rng, struct scenario *s, bool with_helper)
{
	s->rc = 0;
	mem_base = s->base;
	checkq_init(&s->q, &ops, with_helper);
	for (u32 c = 0; c < s->n && !s->rc; c++)
		s->rc = feed_chunk(rng, s, c);
	if (!s->rc)
		s->rc = checkq_drain(&s->q);
}

/* Every chunk checked and matched, and the helper's counts agree with what it was given. */
static void expect_clean(const struct scenario *s, bool with_helper)
{
	if (s->rc)
		fail_msg("%u chunks: rc %d (chunk %u, want 0x%016llx got 0x%016llx)", s->n, s->rc,
			 s->q.bad.k, (unsigned long long)s->q.bad_want,
			 (unsigned long long)s->q.bad_got);
	u64 bytes = 0;

	for (u32 c = 0; c < s->n; c++)
		bytes += s->len[c];
	assert_int_equal(s->q.st.chunks, s->n);
	assert_int_equal(s->q.st.bytes, bytes);
	assert_int_equal(s->q.st.helper_chunks, with_helper ? helper.posts : 0);
	assert_int_equal(s->q.st.helper_bytes, helper.posted_bytes);
	assert_true(s->q.st.helper_bytes <= bytes);
	assert_int_equal(s->q.st.helper_high, helper.high_posts);
	assert_false(helper.busy);
}

/* The damaged chunk, and only it, is named, with what it should and did hash to. */
static void expect_damage_found(const struct scenario *s)
{
	assert_int_equal(s->rc, -JB_EMISMATCH);
	assert_int_equal(s->q.bad.k, (u32)s->damaged);
	assert_int_equal(s->q.bad.entry, 100u + (u32)s->damaged);
	assert_int_equal(s->q.bad.seg, 7);
	assert_int_equal(s->q.bad.start, s->off[s->damaged]);
	assert_int_equal(s->q.bad.end, s->off[s->damaged] + s->len[s->damaged]);
	assert_true(s->q.bad_want == s->want[s->damaged]);
	assert_true(s->q.bad_got == s->damaged_got);
}

static struct scenario sc; /* large: kept off the stack */

static void test_boot_cpu_alone(void **state)
{
	(void)state;
	struct test_rng rng = { test_seed(0xc4ec) };

	for (u32 round = 0; round < 60; round++) {
		reset_helper(0);
		sc = (struct scenario){ .pieces_max = 1 + round % 20, .stable_pct = 80,
					.steps_max = round % 4 };
		lay_out(&rng, &sc, (u32)rng_range(&rng, 1, 20), 0, 700u << 10);
		run(&rng, &sc, false);
		expect_clean(&sc, false);
		assert_int_equal(helper.posts, 0);
	}
}

static void test_helper_finishes_late(void **state)
{
	(void)state;
	struct test_rng rng = { test_seed(0x1a7e) };
	u32 overtaken = 0, helped = 0;

	for (u32 round = 0; round < 60; round++) {
		reset_helper(round % 6);
		sc = (struct scenario){ .pieces_max = 1 + round % 12, .stable_pct = 90,
					.steps_max = 1 + round % 5 };
		lay_out(&rng, &sc, (u32)rng_range(&rng, 1, 40), 0, 600u << 10);
		run(&rng, &sc, true);
		expect_clean(&sc, true);
		overtaken += helper.overtaken;
		helped += helper.posts;
	}
	/* The scenarios did what they are for: the helper took chunks, and the boot CPU hashed
	   later chunks while the helper still held an earlier one. */
	assert_true(helped > 0);
	assert_true(overtaken > 0);
}

static void test_queue_fills_up(void **state)
{
	(void)state;
	struct test_rng rng = { test_seed(0xf111) };

	for (u32 slowness = 0; slowness < 3; slowness++)
		for (int with_helper = 0; with_helper < 2; with_helper++) {
			/* A helper that never looks done until waited for: the full queue must
			   wait for it rather than give up. */
			reset_helper(slowness == 2 ? UINT32_MAX : slowness);
			sc = (struct scenario){ .pieces_max = 3, .stable_pct = 100,
						.closes_only = true };
			lay_out(&rng, &sc, 3 * CHECKQ_DEPTH, 0, 64u << 10);
			run(&rng, &sc, with_helper);
			expect_clean(&sc, with_helper);
		}
}

static void test_more_extents_than_an_entry_holds(void **state)
{
	(void)state;
	struct test_rng rng = { test_seed(0xe8) };

	for (int with_helper = 0; with_helper < 2; with_helper++) {
		reset_helper(2);
		sc = (struct scenario){ .pieces_max = 5 * CHECKQ_EXTENTS, .even = true,
					.stable_pct = 100, .steps_max = 1 };
		lay_out(&rng, &sc, 4, 64u << 10, 64u << 10);
		run(&rng, &sc, with_helper);
		expect_clean(&sc, with_helper);
	}
}

static void test_damage_found_by_either_cpu(void **state)
{
	(void)state;
	struct test_rng rng = { test_seed(0xbad) };
	u32 by_helper = 0, by_boot = 0;

	for (u32 round = 0; round < 80; round++) {
		bool with_helper = round % 2;

		reset_helper(round % 4);
		sc = (struct scenario){ .pieces_max = 1 + round % 10, .stable_pct = 85,
					.steps_max = round % 3 };
		lay_out(&rng, &sc, (u32)rng_range(&rng, 2, 30), 1, 300u << 10);
		u32 c = (u32)rng_below(&rng, sc.n);

		damage(&rng, &sc, c);
		run(&rng, &sc, with_helper);
		expect_damage_found(&sc);
		by_helper += sc.q.bad_by_helper;
		by_boot += !sc.q.bad_by_helper;
		if (!with_helper)
			assert_false(sc.q.bad_by_helper);
	}
	assert_true(by_helper > 0);
	assert_true(by_boot > 0);
}

static void test_helper_that_never_finishes(void **state)
{
	(void)state;
	struct test_rng rng = { test_seed(0x7173) };

	reset_helper(UINT32_MAX);
	helper.hang = true;
	sc = (struct scenario){ .pieces_max = 1, .stable_pct = 100 };
	lay_out(&rng, &sc, 5, 4096, 100u << 10);
	run(&rng, &sc, true);
	assert_int_equal(sc.rc, -JB_ETIMEDOUT);
	assert_true(sc.q.bad_by_helper);
	assert_int_equal(sc.q.bad.k, 0); /* the first chunk closed went to the helper */
	assert_int_equal(helper.last_timeout_ms, HELPER_TIMEOUT_MS);
}

static void test_chunks_above_4gib(void **state)
{
	(void)state;
	struct test_rng rng = { test_seed(0x4616) };

	for (u32 slowness = 0; slowness < 4; slowness++) {
		reset_helper(slowness);
		/* Chunks from 1 MiB below 4 GiB on: the helper gets some on each side. */
		sc = (struct scenario){ .base = FOUR_GIB - (1u << 20), .pieces_max = 4,
					.stable_pct = 100, .steps_max = 2 };
		lay_out(&rng, &sc, 24, 0, 256u << 10);
		run(&rng, &sc, true);
		expect_clean(&sc, true);
	}
	assert_true(helper.high_posts > 0);
}

static void test_empty_chunks_and_misuse(void **state)
{
	(void)state;
	struct checkq q;
	struct checkq_chunk id = { .k = 3 };

	reset_helper(0);
	checkq_init(&q, &ops, true);
	assert_int_equal(checkq_add(&q, 0x1000, 0, true), 0);
	assert_int_equal(checkq_close(&q, &id, XXH64("", 0, 0)), 0);
	assert_int_equal(checkq_close(&q, &id, XXH64("", 0, 0) ^ 1), -JB_EMISMATCH);
	assert_int_equal(q.bad.k, 3);
	assert_int_equal(q.st.chunks, 2);

	/* A chunk left open cannot be drained: the caller must close every chunk it began. */
	checkq_init(&q, &ops, false);
	assert_int_equal(checkq_add(&q, 0x1000, 16, true), 0);
	assert_int_equal(checkq_drain(&q), -JB_EINVAL);
}

static int setup(void **state)
{
	(void)state;
	mem = malloc(MEM_SIZE);
	return mem ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(mem);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_cpu_alone),
		cmocka_unit_test(test_helper_finishes_late),
		cmocka_unit_test(test_queue_fills_up),
		cmocka_unit_test(test_more_extents_than_an_entry_holds),
		cmocka_unit_test(test_damage_found_by_either_cpu),
		cmocka_unit_test(test_helper_that_never_finishes),
		cmocka_unit_test(test_chunks_above_4gib),
		cmocka_unit_test(test_empty_chunks_and_misuse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
