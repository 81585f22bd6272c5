/* jbhash64 (include/jbhash.h). The word step is the whole cost: two multiplies and rotates. */
#include "jbhash.h"

#define JBHASH_SEED_A 0x6A756D70u /* "jump" */
#define JBHASH_SEED_B 0x6261636Bu /* "back" */
#define JBHASH_M1 0x9E3779B1u
#define JBHASH_M2 0x85EBCA77u
#define JBHASH_M3 0xC2B2AE3Du

static inline u32 rotl32(u32 x, unsigned int r)
{
	return x << r | x >> (32 - r);
}

static inline void jbhash_step(u32 *a, u32 *b, u32 w)
{
	*a = rotl32(*a ^ w * JBHASH_M1, 13) * JBHASH_M2;
	*b = rotl32(*b + (w ^ *a), 17) * JBHASH_M3;
}

static inline void jbhash_word(struct jbhash *h, u32 w)
{
	jbhash_step(&h->a, &h->b, w);
}

void jbhash_init(struct jbhash *h)
{
	*h = (struct jbhash){ .a = JBHASH_SEED_A, .b = JBHASH_SEED_B };
}

void jbhash_update(struct jbhash *h, const void *data, size_t len)
{
	const u8 *p = data;

	h->len += len;
	while (len && h->ncarry) {
		h->carry |= (u32)*p++ << (8 * h->ncarry);
		len--;
		if (++h->ncarry == 4) {
			jbhash_word(h, h->carry);
			h->carry = h->ncarry = 0;
		}
	}
	/* The hot loop keeps the lanes in registers: through h, every store could alias p. */
	u32 a = h->a, b = h->b;

	for (; len >= 4; p += 4, len -= 4) {
		u32 w = (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;

		jbhash_step(&a, &b, w);
	}
	h->a = a;
	h->b = b;
	for (; len; len--)
		h->carry |= (u32)*p++ << (8 * h->ncarry++);
}

static u32 fmix32(u32 x)
{
	x ^= x >> 16;
	x *= JBHASH_M2;
	x ^= x >> 13;
	x *= JBHASH_M3;
	return x ^ x >> 16;
}

u64 jbhash_final(const struct jbhash *h)
{
	struct jbhash t = *h;

	if (t.ncarry)
		jbhash_word(&t, t.carry | 0x80u << (8 * t.ncarry)); /* the tail, marked */
	jbhash_word(&t, (u32)t.len);
	jbhash_word(&t, (u32)(t.len >> 32));
	u32 hi = fmix32(t.a ^ rotl32(t.b, 7)), lo = fmix32(t.b + t.a);

	return (u64)hi << 32 | lo;
}
