/*
 * Host throughput of the candidate image checksums (bench/hash-choice.md): each hash over one
 * 64 MiB buffer, five timed runs after a warm-up, the median printed in MB/s (10^6 bytes/s).
 * Built twice by bench/hashbench/hashbench.mk: 64-bit with Debian's libxxhash (XXH64, XXH3),
 * and 32-bit linked with the stub's own objects of lib/jbhash.c and lib/xxh64.c plus
 * libxxhash's header built the stub's way (ref.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jbhash.h"
#include "xxh64.h"
#include "hashbench.h"

#ifdef HB_LIBXXHASH
#include <xxhash.h>
#endif

#define HB_BUF_BYTES (64u << 20)
#define HB_RUNS 5

#ifdef HB_LIBXXHASH
static u64 run_lib_xxh64(const void *p, size_t n)
{
	return XXH64(p, n, 0);
}

static u64 run_lib_xxh3(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}
#endif

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) in software, for scale: the classic
   one-table loop (a byte per lookup) and slicing-by-8 (eight tables, 8 bytes per step). */
static u32 crc32c_table[8][256];

static void crc32c_init(void)
{
	for (u32 i = 0; i < 256; i++) {
		u32 c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ 0x82F63B78u : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (u32 i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc32c_table[t][i] = crc32c_table[t - 1][i] >> 8 ^
					     crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
}

static u64 run_crc32c_byte(const void *buf, size_t n)
{
	const u8 *p = buf;
	u32 c = ~0u;

	while (n--)
		c = c >> 8 ^ crc32c_table[0][(c ^ *p++) & 0xff];
	return ~c;
}

static u64 run_crc32c_slice8(const void *buf, size_t n)
{
	const u8 *p = buf;
	u32 c = ~0u;

	for (; n >= 8; n -= 8, p += 8) {
		u32 lo = c ^ ((u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24);
		u32 hi = (u32)p[4] | (u32)p[5] << 8 | (u32)p[6] << 16 | (u32)p[7] << 24;

		c = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][lo >> 8 & 0xff] ^
		    crc32c_table[5][lo >> 16 & 0xff] ^ crc32c_table[4][lo >> 24] ^
		    crc32c_table[3][hi & 0xff] ^ crc32c_table[2][hi >> 8 & 0xff] ^
		    crc32c_table[1][hi >> 16 & 0xff] ^ crc32c_table[0][hi >> 24];
	}
	while (n--)
		c = c >> 8 ^ crc32c_table[0][(c ^ *p++) & 0xff];
	return ~c;
}

static const struct {
	const char *name;
	u64 (*fn)(const void *p, size_t n);
} hashes[] = {
	{ "jbhash64", run_jbhash },
	{ "xxh64", run_xxh64 },
#ifdef HB_LIBXXHASH
	{ "libxxhash-XXH64", run_lib_xxh64 },
	{ "libxxhash-XXH3_64bits", run_lib_xxh3 },
#else
	{ "xxhash.h-XXH64", hb_ref_xxh64 },
	{ "xxhash.h-XXH3_64bits", hb_ref_xxh3 },
#endif
	{ "crc32c-byte-table", run_crc32c_byte },
	{ "crc32c-slice8", run_crc32c_slice8 },
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "host";
	u8 *buf = malloc(HB_BUF_BYTES);
	u64 x = 0x6a756d706261636bull;

	if (!buf) {
		fprintf(stderr, "hashbench: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < HB_BUF_BYTES; i++) {
		x ^= x << 13; /* xorshift64: any non-constant bytes will do */
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (u8)x;
	}
	crc32c_init();
	for (size_t i = 0; i < JB_ARRAY_LEN(hashes); i++) {
		double mbs[HB_RUNS];
		u64 h = hashes[i].fn(buf, HB_BUF_BYTES); /* warm-up */

		for (int r = 0; r < HB_RUNS; r++) {
			double t0 = now_s();
			u64 again = hashes[i].fn(buf, HB_BUF_BYTES);

			mbs[r] = HB_BUF_BYTES / (now_s() - t0) / 1e6;
			if (again != h) {
				fprintf(stderr, "hashbench: %s is not deterministic\n", hashes[i].name);
				return 1;
			}
		}
		qsort(mbs, HB_RUNS, sizeof(mbs[0]), cmp_double);
		printf("hashbench-host: %s %s %.0f MB/s (runs %.0f..%.0f) hash %016llx\n", build,
		       hashes[i].name, mbs[HB_RUNS / 2], mbs[0], mbs[HB_RUNS - 1],
		       (unsigned long long)h);
	}
	free(buf);
	return 0;
}
