/*
 * XXH64, the 64-bit xxHash (xxHash specification 0.1.1, "XXH64 algorithm description"): the
 * same value as xxHash's own XXH64(data, len, seed) on any CPU. Four 64-bit lanes over
 * little-endian 32-byte stripes; streamable over pieces of any length. Not cryptographic: it
 * catches corruption. Pure.
 */
#ifndef JB_XXH64_H
#define JB_XXH64_H

#include "types.h"

#define XXH64_STRIPE 32u

struct xxh64 {
	u64 acc[4];             /* the four lanes' accumulators (spec step 1) */
	u64 seed;
	u64 len;                /* bytes taken in so far */
	u8 buf[XXH64_STRIPE];   /* the bytes of a partial stripe */
	u32 nbuf;               /* how many (0-31): always len % 32 */
};

void xxh64_init(struct xxh64 *s, u64 seed);
void xxh64_update(struct xxh64 *s, const void *data, size_t len);

/*
 * Spec step 2 over n whole 32-byte stripes at p: the part of xxh64_update that touches every
 * byte. xxh64_stripes is the portable one; the stub has a faster one for 64-bit CPUs.
 */
typedef void xxh64_stripes_fn(u64 acc[4], const u8 *p, size_t n);
xxh64_stripes_fn xxh64_stripes;

/* xxh64_update with the whole stripes hashed by stripes (the partial ones by the portable code). */
void xxh64_update_by(struct xxh64 *s, const void *data, size_t len, xxh64_stripes_fn *stripes);
/* The digest of everything taken in so far; s is left as it was, so more may follow. */
u64 xxh64_final(const struct xxh64 *s);

/* One shot: xxh64_init, xxh64_update(data, len), xxh64_final. */
u64 xxh64(const void *data, size_t len, u64 seed);

#endif
