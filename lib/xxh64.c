/* XXH64 (include/xxh64.h), xxHash specification 0.1.1. */
#include "xxh64.h"

#include "le.h"

#define XXH64_P1 0x9E3779B185EBCA87ull
#define XXH64_P2 0xC2B2AE3D27D4EB4Full
#define XXH64_P3 0x165667B19E3779F9ull
#define XXH64_P4 0x85EBCA77C2B2AE63ull
#define XXH64_P5 0x27D4EB2F165667C5ull

static inline u64 rotl64(u64 x, unsigned int r)
{
	return x << r | x >> (64 - r);
}

/* Spec step 2: one lane of one stripe. */
static inline u64 xxh64_round(u64 acc, u64 lane)
{
	return rotl64(acc + lane * XXH64_P2, 31) * XXH64_P1;
}

/*
 * Spec step 2 for n whole stripes. The four lanes never mix before step 3, so each lane runs
 * on its own over a block of stripes: its accumulator then stays in two registers of i686,
 * where the four (eight 32-bit halves) interleaved would not fit and would go through the
 * stack on every stripe. Under QEMU TCG, where every stack access is an emulated load or
 * store, that doubles the rate (bench/hash-choice.md). A block of 4 KiB stays in the cache
 * for the lanes' four passes.
 */
#define XXH64_BLOCK_STRIPES 128u

static u64 xxh64_lane(u64 a, const u8 *p, size_t n)
{
	for (; n >= 4; n -= 4, p += 4 * XXH64_STRIPE) { /* unrolled: fewer loop branches */
		a = xxh64_round(a, le64(p));
		a = xxh64_round(a, le64(p + XXH64_STRIPE));
		a = xxh64_round(a, le64(p + 2 * XXH64_STRIPE));
		a = xxh64_round(a, le64(p + 3 * XXH64_STRIPE));
	}
	for (; n; n--, p += XXH64_STRIPE)
		a = xxh64_round(a, le64(p));
	return a;
}

void xxh64_stripes(u64 acc[4], const u8 *p, size_t n)
{
	while (n) {
		size_t nb = n < XXH64_BLOCK_STRIPES ? n : XXH64_BLOCK_STRIPES;

		for (unsigned int k = 0; k < 4; k++)
			acc[k] = xxh64_lane(acc[k], p + 8 * k, nb);
		p += nb * XXH64_STRIPE;
		n -= nb;
	}
}

void xxh64_init(struct xxh64 *s, u64 seed)
{
	*s = (struct xxh64){
		.acc = { seed + XXH64_P1 + XXH64_P2, seed + XXH64_P2, seed, seed - XXH64_P1 },
		.seed = seed,
	};
}

void xxh64_update(struct xxh64 *s, const void *data, size_t len)
{
	xxh64_update_by(s, data, len, xxh64_stripes);
}

void xxh64_update_by(struct xxh64 *s, const void *data, size_t len, xxh64_stripes_fn *stripes)
{
	const u8 *p = data;

	if (!len)
		return; /* data may then be NULL */
	s->len += len;
	if (s->nbuf) {
		while (len && s->nbuf < XXH64_STRIPE) {
			s->buf[s->nbuf++] = *p++;
			len--;
		}
		if (s->nbuf < XXH64_STRIPE)
			return;
		xxh64_stripes(s->acc, s->buf, 1);
		s->nbuf = 0;
	}
	size_t n = len / XXH64_STRIPE;

	if (n)
		stripes(s->acc, p, n);
	p += n * XXH64_STRIPE;
	len -= n * XXH64_STRIPE;
	while (len--)
		s->buf[s->nbuf++] = *p++;
}

/* Spec step 3: folds one lane's accumulator into the digest. */
static u64 xxh64_merge(u64 h, u64 acc)
{
	return (h ^ xxh64_round(0, acc)) * XXH64_P1 + XXH64_P4;
}

u64 xxh64_final(const struct xxh64 *s)
{
	const u8 *p = s->buf;
	u32 n = s->nbuf;
	u64 h;

	if (s->len >= XXH64_STRIPE) {
		h = rotl64(s->acc[0], 1) + rotl64(s->acc[1], 7) + rotl64(s->acc[2], 12) +
		    rotl64(s->acc[3], 18);
		for (unsigned int k = 0; k < 4; k++)
			h = xxh64_merge(h, s->acc[k]);
	} else {
		h = s->seed + XXH64_P5; /* too short for a stripe: one accumulator */
	}
	h += s->len; /* step 4 */
	/* Step 5: the last len % 32 bytes, in 8-, 4- and 1-byte pieces. */
	for (; n >= 8; n -= 8, p += 8)
		h = rotl64(h ^ xxh64_round(0, le64(p)), 27) * XXH64_P1 + XXH64_P4;
	if (n >= 4) {
		h = rotl64(h ^ le32(p) * XXH64_P1, 23) * XXH64_P2 + XXH64_P3;
		n -= 4;
		p += 4;
	}
	for (; n; n--, p++)
		h = rotl64(h ^ *p * XXH64_P5, 11) * XXH64_P1;
	/* Step 6: avalanche. */
	h ^= h >> 33;
	h *= XXH64_P2;
	h ^= h >> 29;
	h *= XXH64_P3;
	return h ^ h >> 32;
}

u64 xxh64(const void *data, size_t len, u64 seed)
{
	struct xxh64 s;

	xxh64_init(&s, seed);
	xxh64_update(&s, data, len);
	return xxh64_final(&s);
}
