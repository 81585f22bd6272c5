/*
 * Unit tests for lib/xxh64.c: known answers, then every length from 0 to 300 bytes (the
 * 32-byte stripes, the 4-stripe unrolled loop and its tail) and lengths around the 4 KiB
 * blocks, seeded random buffers hashed one-shot and streamed in random pieces, and a stream
 * past 4 GiB; each compared with Debian's libxxhash (xxHash 0.8.1), XXH64().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "unit_helpers.h"
#include "xxh64.h"

#define SHORT_LENS 300 /* 0..299: up to 9 stripes past 8 whole 4-stripe rounds */
#define BLOCK 4096u    /* 128 stripes: lib/xxh64.c's block, where the lanes take turns */
#define BIG_LEN (3 * BLOCK + 100)
#define RANDOM_CASES 2000
#define RANDOM_MAX_LEN 20000
#define MAX_MISALIGN 7

static const u64 seeds[] = { 0, 1, 0x9E3779B185EBCA87ull, 0x8000000000000000ull, UINT64_MAX };

static void check_hash(const char *how, u64 len, u64 seed, u64 got, u64 want)
{
	if (got != want)
		fail_msg("%s, %llu bytes, seed 0x%016llx: got 0x%016llx, libxxhash 0x%016llx", how,
			 (unsigned long long)len, (unsigned long long)seed, (unsigned long long)got,
			 (unsigned long long)want);
}

static void fill_random(struct test_rng *rng, u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)rng_next(rng);
}

/* Streams p[0..len) in pieces of random length (some empty, some one byte, some long). */
static u64 xxh64_streamed(struct test_rng *rng, const u8 *p, size_t len, u64 seed)
{
	struct xxh64 s;
	size_t off = 0;

	xxh64_init(&s, seed);
	while (off < len) {
		size_t left = len - off, n;

		switch (rng_below(rng, 4)) {
		case 0:
			n = (size_t)rng_below(rng, 2); /* 0 or 1 byte */
			break;
		case 1:
			n = (size_t)rng_range(rng, 2, 40); /* around a stripe */
			break;
		default:
			n = (size_t)rng_range(rng, 0, left);
			break;
		}
		n = n < left ? n : left;
		xxh64_update(&s, p + off, n);
		off += n;
	}
	return xxh64_final(&s);
}

static void test_known_answers(void **state)
{
	/* The xxHash specification publishes no test vectors; these are libxxhash 0.8.1's
	   answers, pinned here so that a change on either side shows. 0xEF46DB3751D8E999 for
	   empty input and seed 0 is the widely quoted one. */
	static const struct {
		const char *data;
		size_t len;
		u64 seed;
		u64 hash;
	} kat[] = {
		{ "", 0, 0, 0xef46db3751d8e999ull },
		{ "", 0, 1, 0xd5afba1336a3be4bull },
		{ "", 0, 0x9e3779b185ebca87ull, 0x6ec6d05f61c7e7a7ull },
		{ "", 0, UINT64_MAX, 0x298f4c84b24f5380ull },
		{ "a", 1, 0, 0xd24ec4f1a98c6e5bull },
		{ "abc", 3, 0, 0x44bc2cf5ad770999ull },
		{ "abc", 3, 1, 0xbea9ca8199328908ull },
		{ "JUMPBACK", 8, 0, 0xb9d8ec61a99f4b56ull },
		{ "JUMPBACK", 8, UINT64_MAX, 0xe1f1af625b683e2bull },
		{ "The quick brown fox jumps over the lazy dog", 43, 0, 0x0b242d361fda71bcull },
		{ "The quick brown fox jumps over the lazy dog", 43, 1, 0xdf5091b6dad2c6dbull },
		{ "0123456789abcdef0123456789abcdef", 32, 0, 0x642a94958e71e6c5ull },
		{ "0123456789abcdef0123456789abcdef", 32, UINT64_MAX, 0xf7b3412f66eb725eull },
		{ "0123456789abcdef0123456789abcdef!", 33, 0, 0x8afff4daac4e677eull },
		{ "0123456789abcdef0123456789abcdef!", 33, 0x9e3779b185ebca87ull, 0xa44199b8b559868eull },
	};
	u8 bytes256[256];

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(kat); i++) {
		assert_int_equal(strlen(kat[i].data), kat[i].len);
		check_hash("known answer, one shot", kat[i].len, kat[i].seed,
			   xxh64(kat[i].data, kat[i].len, kat[i].seed), kat[i].hash);
		check_hash("known answer, libxxhash", kat[i].len, kat[i].seed,
			   XXH64(kat[i].data, kat[i].len, kat[i].seed), kat[i].hash);
	}
	for (size_t i = 0; i < sizeof(bytes256); i++)
		bytes256[i] = (u8)i;
	check_hash("bytes 0..255", 256, 0, xxh64(bytes256, 256, 0), 0x1facbe8406cd904bull);
	check_hash("bytes 0..255", 256, 1, xxh64(bytes256, 256, 1), 0xbeec1eb06d6a56f7ull);
}

static void test_empty_input(void **state)
{
	struct xxh64 s;

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(seeds); i++) {
		u64 want = XXH64(NULL, 0, seeds[i]);

		check_hash("empty, one shot", 0, seeds[i], xxh64(NULL, 0, seeds[i]), want);
		xxh64_init(&s, seeds[i]);
		check_hash("empty, no update", 0, seeds[i], xxh64_final(&s), want);
		xxh64_update(&s, NULL, 0);
		xxh64_update(&s, "x", 0);
		check_hash("empty, empty updates", 0, seeds[i], xxh64_final(&s), want);
	}
}

/* Every length 0..299 and lengths around the block size, every seed, at every alignment. */
static void test_lengths_and_seeds(void **state)
{
	static u8 buf[MAX_MISALIGN + BIG_LEN];
	static const size_t around[] = { BLOCK, 2 * BLOCK, 3 * BLOCK };
	struct test_rng rng = { test_seed(0x4c454e53) };
	size_t checked = 0;

	(void)state;
	fill_random(&rng, buf, sizeof(buf));
	for (size_t i = 0; i < JB_ARRAY_LEN(seeds); i++) {
		u64 seed = seeds[i];

		for (size_t len = 0; len < SHORT_LENS; len++) {
			for (size_t mis = 0; mis <= MAX_MISALIGN; mis++) {
				const u8 *p = buf + mis;

				check_hash("one shot", len, seed, xxh64(p, len, seed), XXH64(p, len, seed));
				checked++;
			}
		}
		for (size_t a = 0; a < JB_ARRAY_LEN(around); a++) {
			for (size_t len = around[a] - 65; len <= around[a] + 65; len++) {
				check_hash("one shot near a block", len, seed, xxh64(buf + 1, len, seed),
					   XXH64(buf + 1, len, seed));
				checked++;
			}
		}
	}
	assert_int_equal(checked, JB_ARRAY_LEN(seeds) * (SHORT_LENS * (MAX_MISALIGN + 1) + 3 * 131));
}

/* Streamed one byte at a time, and in two pieces split at every point, for short inputs. */
static void test_streaming_splits(void **state)
{
	u8 buf[200];
	struct test_rng rng = { test_seed(0x53504c49) };
	struct xxh64 s;

	(void)state;
	fill_random(&rng, buf, sizeof(buf));
	for (size_t len = 0; len <= sizeof(buf); len++) {
		u64 want = XXH64(buf, len, 7);

		xxh64_init(&s, 7);
		for (size_t i = 0; i < len; i++)
			xxh64_update(&s, buf + i, 1);
		check_hash("byte by byte", len, 7, xxh64_final(&s), want);
		for (size_t cut = 0; cut <= len; cut++) {
			xxh64_init(&s, 7);
			xxh64_update(&s, buf, cut);
			xxh64_update(&s, buf + cut, len - cut);
			check_hash("two pieces", len, 7, xxh64_final(&s), want);
		}
	}
}

/*
 * xxh64_update_by hands every whole stripe, and only whole stripes, to the given loop (the
 * stub's 64-bit one in boot/hash64.asm); what the loop computes is the digest.
 */
static size_t stripes_seen;

static void stripes_counted(u64 acc[4], const u8 *p, size_t n)
{
	stripes_seen += n;
	xxh64_stripes(acc, p, n);
}

static void stripes_wrong(u64 acc[4], const u8 *p, size_t n)
{
	xxh64_stripes(acc, p, n);
	acc[2] ^= 1;
}

static void test_update_by(void **state)
{
	u8 buf[1000];
	struct test_rng rng = { test_seed(0x42594c4f) };
	struct xxh64 s;

	(void)state;
	fill_random(&rng, buf, sizeof(buf));
	for (size_t len = 0; len <= sizeof(buf); len += 7) {
		for (size_t cut = 0; cut <= len; cut += 13) {
			xxh64_init(&s, 3);
			stripes_seen = 0;
			xxh64_update_by(&s, buf, cut, stripes_counted);
			xxh64_update_by(&s, buf + cut, len - cut, stripes_counted);
			check_hash("update_by in two pieces", len, 3, xxh64_final(&s), XXH64(buf, len, 3));
			/* Whole stripes of each piece go to the loop; the rest is buffered. */
			size_t head = cut / XXH64_STRIPE, tail_from = cut % XXH64_STRIPE;
			size_t second = tail_from ? (len - cut) >= XXH64_STRIPE - tail_from
					     ? (len - cut - (XXH64_STRIPE - tail_from)) / XXH64_STRIPE : 0
					     : (len - cut) / XXH64_STRIPE;
			assert_int_equal(stripes_seen, head + second);
		}
	}
	if (sizeof(buf) >= XXH64_STRIPE) {
		xxh64_init(&s, 0);
		xxh64_update_by(&s, buf, sizeof(buf), stripes_wrong);
		assert_true(xxh64_final(&s) != XXH64(buf, sizeof(buf), 0));
	}
}

/* xxh64_final leaves the state as it was: a digest midway, then more data. */
static void test_final_midway(void **state)
{
	u8 buf[1000];
	struct test_rng rng = { test_seed(0x4d494457) };
	struct xxh64 s;

	(void)state;
	fill_random(&rng, buf, sizeof(buf));
	xxh64_init(&s, 3);
	for (size_t off = 0; off < sizeof(buf); off += 37) {
		size_t n = sizeof(buf) - off < 37 ? sizeof(buf) - off : 37;

		xxh64_update(&s, buf + off, n);
		check_hash("digest midway", off + n, 3, xxh64_final(&s), XXH64(buf, off + n, 3));
		check_hash("digest midway, twice", off + n, 3, xxh64_final(&s),
			   XXH64(buf, off + n, 3));
	}
}

/* Seeded random buffers of random lengths and seeds, one shot and streamed. */
static void test_random(void **state)
{
	static u8 buf[MAX_MISALIGN + RANDOM_MAX_LEN];
	struct test_rng rng = { test_seed(0x52414e44) };

	(void)state;
	for (int i = 0; i < RANDOM_CASES; i++) {
		size_t len = rng_chance(&rng, 80) ? (size_t)rng_below(&rng, 600)
						  : (size_t)rng_below(&rng, RANDOM_MAX_LEN + 1);
		u8 *p = buf + rng_below(&rng, MAX_MISALIGN + 1);
		u64 seed = rng_chance(&rng, 25) ? 0 : rng_next(&rng);
		u64 want;

		fill_random(&rng, p, len);
		want = XXH64(p, len, seed);
		check_hash("random, one shot", len, seed, xxh64(p, len, seed), want);
		check_hash("random, streamed", len, seed, xxh64_streamed(&rng, p, len, seed), want);
	}
}

/* Step 4 adds all 64 bits of the length: a piece past 4 GiB, streamed from one buffer. */
static void test_past_4gib(void **state)
{
	static u8 buf[1u << 20];
	const u64 total = (4ull << 30) + 77;
	struct test_rng rng = { test_seed(0x34474942) };
	struct xxh64 s;
	XXH64_state_t *ref = XXH64_createState();

	(void)state;
	assert_non_null(ref);
	fill_random(&rng, buf, sizeof(buf));
	xxh64_init(&s, 5);
	assert_int_equal(XXH64_reset(ref, 5), XXH_OK);
	for (u64 left = total; left;) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		xxh64_update(&s, buf, n);
		assert_int_equal(XXH64_update(ref, buf, n), XXH_OK);
		left -= n;
	}
	check_hash("streamed past 4 GiB", total, 5, xxh64_final(&s), XXH64_digest(ref));
	XXH64_freeState(ref);
}

/* Any one flipped bit changes the digest, and the new one is still libxxhash's. */
static void test_bit_flips(void **state)
{
	u8 buf[97];
	struct test_rng rng = { test_seed(0x464c4950) };

	(void)state;
	fill_random(&rng, buf, sizeof(buf));
	u64 clean = xxh64(buf, sizeof(buf), 0);

	check_hash("clean", sizeof(buf), 0, clean, XXH64(buf, sizeof(buf), 0));
	for (size_t bit = 0; bit < 8 * sizeof(buf); bit++) {
		buf[bit / 8] ^= (u8)(1u << bit % 8);
		u64 h = xxh64(buf, sizeof(buf), 0);

		if (h == clean)
			fail_msg("flipping bit %zu left the digest at 0x%016llx", bit,
				 (unsigned long long)h);
		check_hash("one bit flipped", sizeof(buf), 0, h, XXH64(buf, sizeof(buf), 0));
		buf[bit / 8] ^= (u8)(1u << bit % 8);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_lengths_and_seeds),
		cmocka_unit_test(test_streaming_splits),
		cmocka_unit_test(test_final_midway),
		cmocka_unit_test(test_update_by),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_past_4gib),
		cmocka_unit_test(test_bit_flips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
