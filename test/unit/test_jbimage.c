/*
 * Unit tests for the image format (docs/image-format.md): the version 2 header's layout, its
 * CRC's coverage, jbi_check's refusals (version 1 and 3 included), the chunk arithmetic and
 * jbi_check_core / jbi_check_table, and jbi_memmap_check's comparison of usable RAM.
 * lib/jbhash.c, no longer part of the format (bench/hashbench measures it), keeps its tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "jbhash.h"
#include "jbimage.h"
#include "plan.h"
#include "unit_helpers.h"
#include "xxh64.h"

/* ---- jbhash64 as the spec words it: one word at a time, no streaming state ---- */

struct ref_lanes {
	u32 a, b;
};

static u32 ref_rotl(u32 x, unsigned int r)
{
	return x << r | x >> (32 - r);
}

static void ref_word(struct ref_lanes *s, u32 w)
{
	s->a = ref_rotl(s->a ^ (u32)(w * 0x9E3779B1u), 13) * 0x85EBCA77u;
	s->b = ref_rotl(s->b + (w ^ s->a), 17) * 0xC2B2AE3Du;
}

static u32 ref_fmix(u32 x)
{
	x ^= x >> 16;
	x *= 0x85EBCA77u;
	x ^= x >> 13;
	x *= 0xC2B2AE3Du;
	x ^= x >> 16;
	return x;
}

/* The hash of p[0, n) with `len` as the byte count in the length words (normally n). */
static u64 ref_jbhash64_len(const u8 *p, size_t n, u64 len)
{
	struct ref_lanes s = { 0x6A756D70u, 0x6261636Bu };
	size_t full = n / 4 * 4;

	for (size_t i = 0; i < full; i += 4)
		ref_word(&s, (u32)p[i] | (u32)p[i + 1] << 8 | (u32)p[i + 2] << 16 |
				     (u32)p[i + 3] << 24);
	if (n > full) {
		u32 t = 0, k = (u32)(n - full);

		for (u32 j = 0; j < k; j++)
			t |= (u32)p[full + j] << (8 * j);
		ref_word(&s, t | 0x80u << (8 * k));
	}
	ref_word(&s, (u32)len);
	ref_word(&s, (u32)(len >> 32));
	return (u64)ref_fmix(s.a ^ ref_rotl(s.b, 7)) << 32 | ref_fmix(s.b + s.a);
}

static u64 ref_jbhash64(const u8 *p, size_t n)
{
	return ref_jbhash64_len(p, n, n);
}

static u64 lib_jbhash64(const void *p, size_t n)
{
	struct jbhash h;

	jbhash_init(&h);
	jbhash_update(&h, p, n);
	return jbhash_final(&h);
}

/* A deterministic test buffer: byte i is (7i + (i >> 8)) mod 256. */
static void fill_pattern(u8 *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (u8)(i * 7 + (i >> 8));
}

/* Known answers, computed from the spec by a separate (Python) implementation. */
static void test_jbhash_known_answers(void **state)
{
	static const struct {
		const char *data;
		size_t len;
		u64 hash;
	} kat[] = {
		{ "", 0, 0x8a6ef9b42b6407c8ull },
		{ "a", 1, 0x7a260867160ed3a8ull },
		{ "ab", 2, 0xf5fe947b82dee62dull },
		{ "abc", 3, 0x1654e1659a601837ull },
		{ "abcd", 4, 0xd42d8813405ef357ull },
		{ "abcde", 5, 0xa48cd5b860b8519bull },
		{ "JUMPBACK", 8, 0xd430c969e0c452caull },
		{ "\0", 1, 0x331c11afe0dbf50bull },
		{ "\0\0\0\0", 4, 0xd6b89990a7d470c6ull },
		{ "\0\0\0\0\0", 5, 0x94900a31cb03b143ull },
		{ "\xff\xff\xff\xff\xff\xff\xff", 7, 0x1792c03acc8c12adull },
		{ "The quick brown fox jumps over the lazy dog", 43, 0xd053b915f1ad345cull },
	};
	static u8 bytes256[256];
	static u8 big[(1u << 20) | 3];

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(kat); i++) {
		u64 lib = lib_jbhash64(kat[i].data, kat[i].len);
		u64 ref = ref_jbhash64((const u8 *)kat[i].data, kat[i].len);

		if (lib != kat[i].hash || ref != kat[i].hash)
			fail_msg("vector %zu (%zu bytes): lib 0x%016llx, reference 0x%016llx, want"
				 " 0x%016llx",
				 i, kat[i].len, (unsigned long long)lib, (unsigned long long)ref,
				 (unsigned long long)kat[i].hash);
	}
	for (size_t i = 0; i < sizeof(bytes256); i++)
		bytes256[i] = (u8)i;
	assert_int_equal(lib_jbhash64(bytes256, sizeof(bytes256)), 0xfb50dd5a5e78c2bcull);
	assert_int_equal(ref_jbhash64(bytes256, sizeof(bytes256)), 0xfb50dd5a5e78c2bcull);
	fill_pattern(big, sizeof(big));
	assert_int_equal(lib_jbhash64(big, sizeof(big)), 0x8080fb0d011d2386ull);
	assert_int_equal(ref_jbhash64(big, sizeof(big)), 0x8080fb0d011d2386ull);
}

/* Every length 0..100 and some large ones, random contents, one call: lib == reference. */
static void test_jbhash_matches_reference(void **state)
{
	static u8 buf[(1u << 20) + 7];
	struct test_rng rng = { test_seed(0x4a48) };
	static const size_t large[] = { 4096, 65537, 1u << 20, (1u << 20) + 7 };

	(void)state;
	for (int round = 0; round < 20; round++) {
		for (size_t n = 0; n <= 100; n++) {
			for (size_t i = 0; i < n; i++)
				buf[i] = (u8)rng_next(&rng);
			u64 lib = lib_jbhash64(buf, n), ref = ref_jbhash64(buf, n);

			if (lib != ref)
				fail_msg("round %d, %zu bytes: lib 0x%016llx, reference 0x%016llx",
					 round, n, (unsigned long long)lib, (unsigned long long)ref);
		}
	}
	for (size_t k = 0; k < JB_ARRAY_LEN(large); k++) {
		for (size_t i = 0; i < large[k]; i++)
			buf[i] = (u8)rng_next(&rng);
		assert_int_equal(lib_jbhash64(buf, large[k]), ref_jbhash64(buf, large[k]));
	}
}

/* Any split into pieces (empty ones too) gives the one-call hash; final() does not consume. */
static void test_jbhash_streaming(void **state)
{
	static u8 buf[70000];
	struct test_rng rng = { test_seed(0x5354) };

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)rng_next(&rng);
	for (int round = 0; round < 300; round++) {
		size_t n = round < 200 ? (size_t)rng_below(&rng, 300) : (size_t)rng_below(&rng, sizeof(buf) + 1);
		u64 want = ref_jbhash64(buf, n);
		struct jbhash h;
		size_t done = 0;

		jbhash_init(&h);
		while (done < n) {
			size_t max = rng_chance(&rng, 70) ? 9 : n - done;
			size_t piece = (size_t)rng_below(&rng, max + 1);

			if (piece > n - done)
				piece = n - done;
			jbhash_update(&h, buf + done, piece);
			done += piece;
			if (rng_chance(&rng, 10)) /* a peek in the middle changes nothing */
				assert_int_equal(jbhash_final(&h), ref_jbhash64(buf, done));
		}
		u64 got = jbhash_final(&h);

		if (got != want)
			fail_msg("round %d, %zu bytes in pieces: 0x%016llx, want 0x%016llx", round, n,
				 (unsigned long long)got, (unsigned long long)want);
		assert_int_equal(jbhash_final(&h), want);
	}
}

/* The byte count's high word takes part: a count past 4 GiB (set directly) changes the hash. */
static void test_jbhash_length_high_word(void **state)
{
	static const u8 data[6] = { 1, 2, 3, 4, 5, 6 };
	const u64 len = (1ull << 32) + 6;
	struct jbhash h;

	(void)state;
	jbhash_init(&h);
	jbhash_update(&h, data, sizeof(data));
	h.len = len;
	assert_int_equal(jbhash_final(&h), ref_jbhash64_len(data, sizeof(data), len));
	assert_true(jbhash_final(&h) != ref_jbhash64(data, sizeof(data)));
}

/* Lengths that differ only in zero bytes hash differently (the tail marker and the count). */
static void test_jbhash_zero_lengths_differ(void **state)
{
	static const u8 zeros[16];
	u64 seen[17];

	(void)state;
	for (size_t n = 0; n <= 16; n++) {
		seen[n] = lib_jbhash64(zeros, n);
		for (size_t k = 0; k < n; k++)
			assert_true(seen[k] != seen[n]);
	}
}

/* ---- the header ---- */

/* CRC-32 bit by bit, as IEEE 802.3 defines it (reflected 0xEDB88320, ~init, ~final). */
static u32 ref_crc32(const u8 *p, size_t n)
{
	u32 crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? crc >> 1 ^ 0xEDB88320u : crc >> 1;
	}
	return ~crc;
}

#define CORE_SIZE 0x123400ull
#define NCHUNK 3u
#define CORE_OFFSET (JBI_HEADER_SIZE + 4096ull) /* 3 chunks: 24 bytes, padded to 4 KiB */
#define IMAGE_BYTES (CORE_OFFSET + CORE_SIZE)
#define HDR_CRC_AT 20u

static const struct jbi_mem sample_map[] = {
	{ 0, 0x9fc00, 1, 0 },
	{ 0x9fc00, 0x400, 2, 0 },
	{ 0xf0000, 0x10000, 2, 0 },
	{ 0x100000, 0x7ee0000, 1, 0 },
	{ 0xfffc0000, 0x40000, 2, 0 },
};

/* A valid header like jbwrite writes it, CRC included. */
static void header_make(struct jbi_header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, JBI_MAGIC, 8);
	h->version = JBI_VERSION;
	h->state = JBI_STATE_VALID;
	h->header_size = JBI_HEADER_SIZE;
	h->flags = JBI_FLAG_MODE64;
	h->nmem = JB_ARRAY_LEN(sample_map);
	memcpy(h->mem, sample_map, sizeof(sample_map));
	h->entry = 0x1000d40;
	h->nseg = 2;
	h->nchunk = NCHUNK;
	h->chunk_size = JBI_CHUNK_SIZE;
	h->hash_offset = JBI_HEADER_SIZE;
	h->table_xxh64 = 0x99990000aaaabbbbull;
	h->core_offset = CORE_OFFSET;
	h->core_size = CORE_SIZE;
	h->created = 1700000000;
	strcpy(h->release, "6.1.0-13-amd64");
	h->header_crc = jbi_header_crc(h);
}

/* The header's layout is the documented one (offsets from docs/image-format.md). */
static void test_header_layout(void **state)
{
	(void)state;
	assert_int_equal(offsetof(struct jbi_header, version), 8);
	assert_int_equal(offsetof(struct jbi_header, state), 12);
	assert_int_equal(offsetof(struct jbi_header, header_size), 16);
	assert_int_equal(offsetof(struct jbi_header, header_crc), HDR_CRC_AT);
	assert_int_equal(offsetof(struct jbi_header, flags), 24);
	assert_int_equal(offsetof(struct jbi_header, nmem), 28);
	assert_int_equal(offsetof(struct jbi_header, entry), 32);
	assert_int_equal(offsetof(struct jbi_header, core_offset), 40);
	assert_int_equal(offsetof(struct jbi_header, core_size), 48);
	assert_int_equal(offsetof(struct jbi_header, created), 56);
	assert_int_equal(offsetof(struct jbi_header, nseg), 64);
	assert_int_equal(offsetof(struct jbi_header, nchunk), 68);
	assert_int_equal(offsetof(struct jbi_header, release), 72);
	assert_int_equal(offsetof(struct jbi_header, mem), 144);
	assert_int_equal(offsetof(struct jbi_header, hash_offset), 3216);
	assert_int_equal(offsetof(struct jbi_header, table_xxh64), 3224);
	assert_int_equal(offsetof(struct jbi_header, chunk_size), 3232);
	assert_int_equal(offsetof(struct jbi_header, reserved0), 3236);
	assert_int_equal(offsetof(struct jbi_header, reserved1), 3240);
	assert_int_equal(sizeof(struct jbi_header), 8192);
	assert_int_equal(JBI_VERSION, 2);
	assert_int_equal(JBI_CHUNK_SIZE, 16u << 20);
}

static void test_has_magic(void **state)
{
	(void)state;
	assert_true(jbi_has_magic((const u8 *)"JUMPBACK", 8));
	assert_true(jbi_has_magic((const u8 *)"JUMPBACKxyz", 11));
	assert_false(jbi_has_magic((const u8 *)"JUMPBACK", 7));
	assert_false(jbi_has_magic((const u8 *)"JUMPBACk", 8));
	assert_false(jbi_has_magic((const u8 *)"\177ELF\2\1\1\0", 8));
}

/* The CRC is zlib's crc32 of the header with state and header_crc as zero. */
static void test_header_crc_value(void **state)
{
	static struct jbi_header h, z;
	struct test_rng rng = { test_seed(0xc4c) };

	(void)state;
	for (int round = 0; round < 8; round++) {
		u8 *p = (u8 *)&h;

		for (size_t i = 0; i < sizeof(h); i++)
			p[i] = round == 0 ? 0 : (u8)rng_next(&rng);
		z = h;
		memset((u8 *)&z + JBI_STATE_OFFSET, 0, 4);
		memset((u8 *)&z + HDR_CRC_AT, 0, 4);
		assert_int_equal(jbi_header_crc(&h), ref_crc32((const u8 *)&z, sizeof(z)));
	}
	/* zlib.crc32(bytes(8192)) */
	memset(&h, 0, sizeof(h));
	assert_int_equal(jbi_header_crc(&h), 0xd8f49994u);
}

/* Flipping any byte changes the CRC, except in state and header_crc. */
static void test_header_crc_coverage(void **state)
{
	static struct jbi_header h;
	u8 *p = (u8 *)&h;

	(void)state;
	header_make(&h);
	const u32 base = jbi_header_crc(&h);

	for (size_t i = 0; i < sizeof(h); i++) {
		bool excluded = (i >= JBI_STATE_OFFSET && i < JBI_STATE_OFFSET + 4) ||
				(i >= HDR_CRC_AT && i < HDR_CRC_AT + 4);

		p[i] ^= 0x5a;
		u32 crc = jbi_header_crc(&h);

		p[i] ^= 0x5a;
		if (excluded && crc != base)
			fail_msg("byte %zu (state or header_crc) changes the CRC", i);
		if (!excluded && crc == base)
			fail_msg("byte %zu is not covered by the CRC", i);
	}
	h.state = JBI_STATE_USED;
	assert_int_equal(jbi_header_crc(&h), base);
}

enum corruption {
	C_NONE,
	C_USED,
	C_MAGIC,
	C_VERSION,
	C_VERSION1,
	C_VERSION0,
	C_HEADER_SIZE,
	C_CRC,
	C_BODY_NO_CRC, /* a field changed without fixing the CRC */
	C_STATE,
	C_STATE_ZERO,
	C_FLAGS,
	C_NMEM,
	C_NSEG,
	C_CHUNK_SIZE,
	C_CHUNK_SIZE_4M,
	C_HASH_OFFSET,
	C_NCHUNK_TABLE, /* nchunk changed, core_offset not: the table would overlap the core */
	C_TABLE_PAST_END,
	C_TABLE_HUGE,   /* nchunk at its maximum, core_offset to match: past the image */
	C_TABLE_FULL,   /* 512 chunks fill one 4 KiB page exactly */
	C_TABLE_FULL1,  /* 513 take two pages */
	C_NO_CHUNKS,    /* no file data at all: the core follows the header */
	C_CORE_OFFSET,
	C_CORE_PAST_END,
	C_CORE_HUGE,
	C_IMAGE_TINY,
	C_RELEASE,
	C_RELEASE_FULL, /* 71 bytes and the NUL: fits */
	C_LIMITS,       /* nmem and nseg at their maxima: fits */
	C_PAE,
	C_MEM_UNSORTED, /* entries 2 and 3 swapped */
	C_MEM_OVERLAP,  /* entry 0 runs one byte into entry 1 */
	C_MEM_EMPTY,    /* entry 4 of length 0 */
	C_MEM_WRAP,     /* entry 4 runs past 2^64 */
	C_MEM_TO_TOP,   /* entry 4 ends exactly at 2^64: fits */
	C_MEM_SAME,     /* entry 3 starts where entry 2 does */
};

static void corrupt(struct jbi_header *h, enum corruption c, u64 *image_bytes)
{
	bool fix_crc = true;

	*image_bytes = IMAGE_BYTES;
	switch (c) {
	case C_NONE:
		break;
	case C_USED:
		h->state = JBI_STATE_USED;
		fix_crc = false; /* not covered */
		break;
	case C_MAGIC:
		h->magic[7] = 'X';
		break;
	case C_VERSION:
		h->version = 3;
		break;
	case C_VERSION1:
		h->version = 1;
		break;
	case C_VERSION0:
		h->version = 0;
		break;
	case C_HEADER_SIZE:
		h->header_size = 4096;
		break;
	case C_CRC:
		h->header_crc ^= 1;
		fix_crc = false;
		break;
	case C_BODY_NO_CRC:
		h->entry += 0x1000;
		fix_crc = false;
		break;
	case C_STATE:
		h->state = 0x44454144; /* "DEAD" */
		fix_crc = false;
		break;
	case C_STATE_ZERO:
		h->state = 0;
		fix_crc = false;
		break;
	case C_FLAGS:
		h->flags |= 0x4;
		break;
	case C_NMEM:
		h->nmem = JBI_MAX_MEM + 1;
		break;
	case C_NSEG:
		h->nseg = JBI_MAX_SEGS + 1;
		break;
	case C_CHUNK_SIZE:
		h->chunk_size = 0;
		break;
	case C_CHUNK_SIZE_4M:
		h->chunk_size = 4u << 20;
		break;
	case C_HASH_OFFSET:
		h->hash_offset = CORE_OFFSET;
		break;
	case C_NCHUNK_TABLE:
		h->nchunk = 513;
		break;
	case C_TABLE_PAST_END:
		h->nchunk = 4096; /* 64 GiB of data: 32 KiB of table */
		h->core_offset = JBI_HEADER_SIZE + 32768;
		*image_bytes = JBI_HEADER_SIZE + 32768 - 1;
		break;
	case C_TABLE_HUGE:
		h->nchunk = UINT32_MAX;
		h->core_offset = JBI_HEADER_SIZE + ((u64)UINT32_MAX * 8 + 4095) / 4096 * 4096;
		break;
	case C_TABLE_FULL:
		h->nchunk = 512;
		break;
	case C_TABLE_FULL1:
		h->nchunk = 513;
		h->core_offset = JBI_HEADER_SIZE + 8192;
		*image_bytes = JBI_HEADER_SIZE + 8192 + CORE_SIZE;
		break;
	case C_NO_CHUNKS:
		h->nchunk = 0;
		h->core_offset = JBI_HEADER_SIZE;
		*image_bytes = JBI_HEADER_SIZE + CORE_SIZE;
		break;
	case C_CORE_OFFSET:
		h->core_offset = 4096;
		break;
	case C_CORE_PAST_END:
		*image_bytes = IMAGE_BYTES - 1;
		break;
	case C_CORE_HUGE:
		h->core_size = UINT64_MAX - 100; /* offset + size would wrap */
		break;
	case C_IMAGE_TINY:
		*image_bytes = JBI_HEADER_SIZE - 512;
		break;
	case C_RELEASE:
		memset(h->release, 'x', sizeof(h->release));
		break;
	case C_RELEASE_FULL:
		memset(h->release, 'x', sizeof(h->release) - 1);
		h->release[sizeof(h->release) - 1] = '\0';
		break;
	case C_LIMITS:
		h->nmem = JBI_MAX_MEM;
		for (u32 i = 0; i < JBI_MAX_MEM; i++) /* sorted, touching, none overlapping */
			h->mem[i] = (struct jbi_mem){ .start = (u64)i << 20, .len = 1u << 20, .type = 1 };
		h->nseg = JBI_MAX_SEGS;
		break;
	case C_PAE:
		h->flags = JBI_FLAG_PAE;
		break;
	case C_MEM_UNSORTED: {
		struct jbi_mem m = h->mem[2];

		h->mem[2] = h->mem[3];
		h->mem[3] = m;
		break;
	}
	case C_MEM_OVERLAP:
		h->mem[0].len += 1;
		break;
	case C_MEM_EMPTY:
		h->mem[4].len = 0;
		break;
	case C_MEM_WRAP:
		h->mem[4].len = 0 - h->mem[4].start + 1;
		break;
	case C_MEM_TO_TOP:
		h->mem[4].len = 0 - h->mem[4].start;
		break;
	case C_MEM_SAME:
		h->mem[3].start = h->mem[2].start;
		break;
	}
	if (fix_crc)
		h->header_crc = jbi_header_crc(h);
}

static void test_check(void **state)
{
	static const struct {
		enum corruption c;
		int rc;
		const char *text; /* in the diag; names the field */
	} cases[] = {
		{ C_NONE, 0, "" },
		{ C_USED, 0, "" },
		{ C_RELEASE_FULL, 0, "" },
		{ C_LIMITS, 0, "" },
		{ C_PAE, 0, "" },
		{ C_MAGIC, -JB_EBADIMG, "magic" },
		{ C_TABLE_FULL, 0, "" },
		{ C_TABLE_FULL1, 0, "" },
		{ C_NO_CHUNKS, 0, "" },
		{ C_VERSION, -JB_EBADIMG, "image format version 3, this jumpback reads version 2" },
		{ C_VERSION1, -JB_EBADIMG,
		  "image format version 1 (jbhash64) is no longer read; write the image again with"
		  " this jumpback's jbwrite" },
		{ C_VERSION0, -JB_EBADIMG, "version 0, this jumpback reads version 2" },
		{ C_HEADER_SIZE, -JB_EBADIMG, "header_size 4096" },
		{ C_CRC, -JB_EBADIMG, "CRC" },
		{ C_BODY_NO_CRC, -JB_EBADIMG, "CRC" },
		{ C_STATE, -JB_EBADIMG, "state 0x44454144" },
		{ C_STATE_ZERO, -JB_EBADIMG, "state 0x00000000" },
		{ C_FLAGS, -JB_EBADIMG, "flags 0x5" },
		{ C_NMEM, -JB_EBADIMG, "nmem=129 memory map entries" },
		{ C_NSEG, -JB_EBADIMG, "nseg=513 segments" },
		{ C_CHUNK_SIZE, -JB_EBADIMG, "chunk_size 0x0, this jumpback reads only 0x1000000" },
		{ C_CHUNK_SIZE_4M, -JB_EBADIMG, "chunk_size 0x400000" },
		{ C_HASH_OFFSET, -JB_EBADIMG, "hash_offset 0x3000, expected 0x2000" },
		{ C_NCHUNK_TABLE, -JB_EBADIMG, "core_offset 0x3000, expected 0x4000" },
		{ C_TABLE_PAST_END, -JB_ETRUNC, "hash table (4096 chunks) ends at 0xa000, past" },
		{ C_TABLE_HUGE, -JB_ETRUNC, "hash table (4294967295 chunks)" },
		{ C_CORE_OFFSET, -JB_EBADIMG, "core_offset 0x1000" },
		{ C_CORE_PAST_END, -JB_ETRUNC, "truncated" },
		{ C_CORE_HUGE, -JB_ETRUNC, "past the image" },
		{ C_IMAGE_TINY, -JB_ETRUNC, "truncated" },
		{ C_RELEASE, -JB_EBADIMG, "release" },
		{ C_MEM_UNSORTED, -JB_EBADIMG,
		  "memory map entry 3 starts at 0xf0000, below entry 2 at 0x100000 (entries must be"
		  " sorted)" },
		{ C_MEM_OVERLAP, -JB_EBADIMG,
		  "memory map entry 1 (0x9fc00 +0x400) overlaps entry 0 (0x0 +0x9fc01)" },
		{ C_MEM_EMPTY, -JB_EBADIMG, "memory map entry 4 (0xfffc0000 +0x0) is empty" },
		{ C_MEM_WRAP, -JB_EBADIMG, "memory map entry 4 (0xfffc0000 +0xffffffff00040001) is"
					  " empty or wraps past 2^64" },
		{ C_MEM_TO_TOP, 0, "" },
		{ C_MEM_SAME, -JB_EBADIMG, "memory map entry 3 (0xf0000 +0x7ee0000) overlaps entry 2" },
	};
	static struct jbi_header h;

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(cases); i++) {
		struct jb_diag d = { "" };
		u64 image_bytes;

		header_make(&h);
		corrupt(&h, cases[i].c, &image_bytes);
		int rc = jbi_check(&h, image_bytes, &d);

		if (rc != cases[i].rc || !strstr(d.text, cases[i].text))
			fail_msg("case %zu: rc %d (%s) \"%s\"; want %d (%s) containing \"%s\"", i, rc,
				 jb_strerror(rc), d.text, cases[i].rc, jb_strerror(cases[i].rc),
				 cases[i].text);
	}
}

/* The core may end exactly at the end of the image area, and an empty core is no overflow. */
static void test_check_bounds(void **state)
{
	static struct jbi_header h;
	struct jb_diag d = { "" };

	(void)state;
	header_make(&h);
	assert_int_equal(jbi_check(&h, IMAGE_BYTES, &d), 0);
	assert_int_equal(jbi_check(&h, UINT64_MAX, &d), 0);
	assert_int_equal(jbi_check(&h, IMAGE_BYTES - 1, &d), -JB_ETRUNC);
	h.core_size = 0;
	h.header_crc = jbi_header_crc(&h);
	assert_int_equal(jbi_check(&h, CORE_OFFSET, &d), 0);
	assert_int_equal(jbi_check(&h, CORE_OFFSET - 1, &d), -JB_ETRUNC);
	assert_non_null(strstr(d.text, "hash table"));
}

/* Chunks per segment, the table's padded size and where the core starts. */
static void test_chunk_arithmetic(void **state)
{
	const u64 c = JBI_CHUNK_SIZE;

	(void)state;
	assert_int_equal(jbi_seg_chunks(0), 0);
	assert_int_equal(jbi_seg_chunks(1), 1);
	assert_int_equal(jbi_seg_chunks(c - 1), 1);
	assert_int_equal(jbi_seg_chunks(c), 1);
	assert_int_equal(jbi_seg_chunks(c + 1), 2);
	assert_int_equal(jbi_seg_chunks(64ull << 30), 4096);
	assert_int_equal(jbi_table_bytes(0), 0);
	assert_int_equal(jbi_table_bytes(1), 4096);
	assert_int_equal(jbi_table_bytes(512), 4096);
	assert_int_equal(jbi_table_bytes(513), 8192);
	assert_int_equal(jbi_table_bytes(4096), 32768);
	assert_int_equal(jbi_table_bytes(UINT32_MAX), ((u64)UINT32_MAX * 8 + 4095) / 4096 * 4096);
	assert_int_equal(jbi_core_offset(0), 8192);
	assert_int_equal(jbi_core_offset(3), 12288);
	assert_int_equal(jbi_core_offset(4096), 8192 + 32768);
}

static struct elf_core core_of(const u64 *filesz, u32 n)
{
	struct elf_core core = { .elf_class = 64, .nseg = n };

	for (u32 i = 0; i < n; i++)
		core.seg[i] = (struct elf_seg){ .paddr = (u64)i << 32, .offset = 0x1000,
						.filesz = filesz[i], .memsz = filesz[i] + 1,
						.phdr_index = i + 1 };
	return core;
}

/* nseg and nchunk must be the core's: a zero-file segment has no chunk. */
static void test_check_core(void **state)
{
	static const u64 filesz[] = { 0, 0x30000, (16u << 20) + 1, 16u << 20, 64ull << 30 };
	static struct jbi_header h;
	static struct elf_core core;
	struct jb_diag d = { "" };

	(void)state;
	core = core_of(filesz, JB_ARRAY_LEN(filesz));
	assert_int_equal(jbi_chunks(&core), 0 + 1 + 2 + 1 + 4096);
	header_make(&h);
	h.nseg = JB_ARRAY_LEN(filesz);
	h.nchunk = 4100;
	assert_int_equal(jbi_check_core(&h, &core, &d), 0);
	h.nchunk = 4099;
	assert_int_equal(jbi_check_core(&h, &core, &d), -JB_EBADIMG);
	assert_non_null(strstr(d.text, "nchunk=4099 chunk checksums, but the core's segments make 4100"));
	h.nchunk = 4101;
	assert_int_equal(jbi_check_core(&h, &core, &d), -JB_EBADIMG);
	h.nchunk = 4100;
	h.nseg = 4;
	assert_int_equal(jbi_check_core(&h, &core, &d), -JB_EBADIMG);
	assert_non_null(strstr(d.text, "nseg=4, but the core behind it has 5 PT_LOAD"));
}

/* table_xxh64 is XXH64 (seed 0) of the table's nchunk * 8 bytes, and nothing after them. */
static void test_check_table(void **state)
{
	static u64 table[600];
	static struct jbi_header h;
	struct jb_diag d = { "" };

	(void)state;
	header_make(&h);
	for (u32 i = 0; i < JB_ARRAY_LEN(table); i++)
		table[i] = 0x0123456789abcdefull * (i + 1);
	h.nchunk = 513;
	h.table_xxh64 = xxh64(table, 513 * 8, 0);
	assert_int_equal(jbi_check_table(&h, table, &d), 0);
	table[513] ^= 1; /* past nchunk: not covered */
	assert_int_equal(jbi_check_table(&h, table, &d), 0);
	for (u32 i = 0; i < 513; i += 37) {
		table[i] ^= 1ull << (i % 64);
		assert_int_equal(jbi_check_table(&h, table, &d), -JB_EBADIMG);
		assert_non_null(strstr(d.text, "table of 513 chunk checksums is damaged"));
		table[i] ^= 1ull << (i % 64);
	}
	/* No chunks: the XXH64 of nothing, 0xef46db3751d8e999 (xxHash's own test vector). */
	h.nchunk = 0;
	h.table_xxh64 = 0xef46db3751d8e999ull;
	assert_int_equal(jbi_check_table(&h, table, &d), 0);
	h.table_xxh64 = 0;
	assert_int_equal(jbi_check_table(&h, table, &d), -JB_EBADIMG);
}

/* Random single-byte damage anywhere outside state is always refused (by the CRC or earlier). */
static void test_check_random_damage(void **state)
{
	static struct jbi_header h;
	struct test_rng rng = { test_seed(0xda3a) };

	(void)state;
	for (int round = 0; round < 2000; round++) {
		struct jb_diag d = { "" };
		size_t at = (size_t)rng_below(&rng, sizeof(h) - 4);
		u8 x = (u8)rng_range(&rng, 1, 255);

		if (at >= JBI_STATE_OFFSET)
			at += 4; /* skip state */
		header_make(&h);
		((u8 *)&h)[at] ^= x;
		int rc = jbi_check(&h, IMAGE_BYTES, &d);

		if (rc != -JB_EBADIMG)
			fail_msg("byte %zu ^ 0x%02x: rc %d \"%s\", want refusal", at, x, rc, d.text);
	}
}

/* ---- the memory map ---- */

struct map {
	u32 n;
	struct mem_entry e[JBI_MAX_MEM];
};

static void map_add(struct map *m, u64 start, u64 len, u32 type)
{
	assert_true(m->n < JBI_MAX_MEM);
	m->e[m->n++] = (struct mem_entry){ start, len, type };
}

static void header_set_map(struct jbi_header *h, const struct map *m)
{
	h->nmem = m->n;
	for (u32 i = 0; i < m->n; i++)
		h->mem[i] = (struct jbi_mem){ m->e[i].start, m->e[i].len, m->e[i].type, 0 };
	h->header_crc = jbi_header_crc(h);
}

/* jbi_memmap_check(then, now), with now as the stub builds it from the boot map. */
static int memmap_compare(const struct map *then, const struct map *now, struct jb_diag *d)
{
	static struct jbi_header h;
	static struct ram_map ram;
	struct jb_diag build_d = { "" };

	header_make(&h);
	header_set_map(&h, then);
	assert_int_equal(ram_map_build(now->e, now->n, &ram, &build_d), 0);
	return jbi_memmap_check(&h, &ram, d);
}

static void expect_memmap(const struct map *then, const struct map *now, int want_rc,
			  const char *text1, const char *text2)
{
	struct jb_diag d = { "" };
	int rc = memmap_compare(then, now, &d);

	if (rc != want_rc || (text1 && !strstr(d.text, text1)) || (text2 && !strstr(d.text, text2)))
		fail_msg("rc %d (%s) \"%s\"; want %d (%s) naming %s %s", rc, jb_strerror(rc), d.text,
			 want_rc, jb_strerror(want_rc), text1 ? text1 : "", text2 ? text2 : "");
}

/* A typical PC: low RAM, EBDA, ROM, RAM from 1 MiB, ACPI, RAM above 4 GiB. */
static void map_pc(struct map *m)
{
	*m = (struct map){ 0 };
	map_add(m, 0, 0x9fc00, 1);
	map_add(m, 0x9fc00, 0x400, 2);
	map_add(m, 0xf0000, 0x10000, 2);
	map_add(m, 0x100000, 0x7ee0000, 1);
	map_add(m, 0x7fe0000, 0x20000, 3);
	map_add(m, 0xfffc0000, 0x40000, 2);
	map_add(m, 0x100000000ull, 0x80000000ull, 1);
}

static void test_memmap_equal(void **state)
{
	static struct map then, now;

	(void)state;
	map_pc(&then);
	map_pc(&now);
	expect_memmap(&then, &now, 0, NULL, NULL);
}

/* Reserved entries of other types, split, reordered, extra or overlapping RAM's edges: same RAM. */
static void test_memmap_reserved_details(void **state)
{
	static struct map then, now;

	(void)state;
	map_pc(&then);
	now = (struct map){ 0 };
	map_add(&now, 0x100000000ull, 0x40000000ull, 1); /* high RAM in two adjacent pieces */
	map_add(&now, 0x140000000ull, 0x40000000ull, 1);
	map_add(&now, 0xfffc0000, 0x40000, 4);           /* another reserved type */
	map_add(&now, 0x7fe0000, 0x10000, 4);            /* ACPI split in two kinds */
	map_add(&now, 0x7ff0000, 0x10000, 3);
	map_add(&now, 0, 0xa0000, 1);                    /* RAM up to 640 KiB ... */
	map_add(&now, 0x9f000, 0x1000, 2);               /* ... less an EBDA entry over its end */
	map_add(&now, 0x9fc00, 0x400, 5);                /* overlapping reserved entries */
	map_add(&now, 0x100000, 0x7ee0000, 1);
	map_add(&now, 0xe0000, 0x20000, 2);              /* larger ROM area, still outside RAM */
	map_add(&now, 0xfec00000, 0x1000, 2);            /* IOAPIC, only now */
	expect_memmap(&then, &now, -JB_EMEMMAP, "0x9f000", NULL); /* the EBDA entry cut 3 KiB */
	now.e[6].start = 0x9fc00;
	now.e[6].len = 0x400;
	expect_memmap(&then, &now, 0, NULL, NULL);
	expect_memmap(&now, &then, 0, NULL, NULL);
}

static void test_memmap_moved(void **state)
{
	static struct map then, now;

	(void)state;
	map_pc(&then);
	map_pc(&now);
	now.e[3].len -= 0x10000; /* 0x100000-0x7fe0000 became 0x100000-0x7fd0000 */
	expect_memmap(&then, &now, -JB_EMEMMAP, "0x7fd0000", "0x7fe0000");
	map_pc(&now);
	now.e[3].start += 0x1000;
	now.e[3].len -= 0x1000;
	expect_memmap(&then, &now, -JB_EMEMMAP, "0x101000", "0x100000");
}

static void test_memmap_missing_and_new(void **state)
{
	static struct map then, now;

	(void)state;
	map_pc(&then);
	map_pc(&now);
	now.n--; /* the RAM above 4 GiB is gone */
	expect_memmap(&then, &now, -JB_EMEMMAP, "0x100000000", "missing");
	expect_memmap(&now, &then, -JB_EMEMMAP, "0x100000000", "new");
	/* A range in the middle missing: names what differs at that place. */
	map_pc(&now);
	now.e[3].type = 2;
	expect_memmap(&then, &now, -JB_EMEMMAP, "0x100000-0x7fe0000", NULL);
	/* The recorded map has no RAM at all: the image is at fault, not the machine. */
	now = (struct map){ 0 };
	map_add(&now, 0, 0x1000, 2);
	map_pc(&then);
	{
		static struct jbi_header h;
		static struct ram_map ram;
		struct jb_diag d = { "" };

		header_make(&h);
		header_set_map(&h, &now);
		assert_int_equal(ram_map_build(then.e, then.n, &ram, &d), 0);
		assert_int_equal(jbi_memmap_check(&h, &ram, &d), -JB_EBADIMG);
		assert_non_null(strstr(d.text, "recorded memory map"));
	}
}

/*
 * Random RAM layouts written two different ways (usable ranges split at random points,
 * reserved entries of random types in the gaps, shuffled): always the same. Then one range's
 * end moves by a page: always a difference that names the new end.
 */
static void map_write_random(struct test_rng *rng, const struct mem_range *ram, u32 n, struct map *m)
{
	*m = (struct map){ 0 };
	for (u32 i = 0; i < n; i++) {
		u64 at = ram[i].start;

		while (at < ram[i].end) {
			u64 pages = (ram[i].end - at) >> 12;
			u64 len = rng_chance(rng, 50) ? pages << 12 : rng_range(rng, 1, pages) << 12;

			map_add(m, at, len, 1);
			at += len;
		}
		u64 gap_end = i + 1 < n ? ram[i + 1].start : ram[i].end + 0x100000;

		if (rng_chance(rng, 60))
			map_add(m, ram[i].end, gap_end - ram[i].end,
				(u32)(rng_chance(rng, 50) ? 2 : rng_range(rng, 3, 7)));
	}
	for (u32 i = m->n; i > 1; i--) { /* Fisher-Yates */
		u32 j = (u32)rng_below(rng, i);
		struct mem_entry t = m->e[i - 1];

		m->e[i - 1] = m->e[j];
		m->e[j] = t;
	}
}

static void test_memmap_random(void **state)
{
	static struct map then, now;
	struct test_rng rng = { test_seed(0x3e3a) };

	(void)state;
	for (int round = 0; round < 500; round++) {
		struct mem_range ram[12];
		u32 n = (u32)rng_range(&rng, 1, JB_ARRAY_LEN(ram));
		u64 at = rng_below(&rng, 16) << 12;

		for (u32 i = 0; i < n; i++) {
			ram[i].start = at;
			ram[i].end = at + (rng_range(&rng, 2, 1 << 16) << 12);
			at = ram[i].end + (rng_range(&rng, 1, 1 << 12) << 12);
		}
		map_write_random(&rng, ram, n, &then);
		map_write_random(&rng, ram, n, &now);
		expect_memmap(&then, &now, 0, NULL, NULL);

		u32 k = (u32)rng_below(&rng, n);
		char want[32];

		ram[k].end -= 0x1000;
		snprintf(want, sizeof(want), "0x%llx", (unsigned long long)ram[k].end);
		map_write_random(&rng, ram, n, &now);
		expect_memmap(&then, &now, -JB_EMEMMAP, want, NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jbhash_known_answers),
		cmocka_unit_test(test_jbhash_matches_reference),
		cmocka_unit_test(test_jbhash_streaming),
		cmocka_unit_test(test_jbhash_length_high_word),
		cmocka_unit_test(test_jbhash_zero_lengths_differ),
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_has_magic),
		cmocka_unit_test(test_header_crc_value),
		cmocka_unit_test(test_header_crc_coverage),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_bounds),
		cmocka_unit_test(test_chunk_arithmetic),
		cmocka_unit_test(test_check_core),
		cmocka_unit_test(test_check_table),
		cmocka_unit_test(test_check_random_damage),
		cmocka_unit_test(test_memmap_equal),
		cmocka_unit_test(test_memmap_reserved_details),
		cmocka_unit_test(test_memmap_moved),
		cmocka_unit_test(test_memmap_missing_and_new),
		cmocka_unit_test(test_memmap_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
