/*
 * jbhash64: the image format's data checksum (docs/image-format.md). Two 32-bit multiply-
 * rotate lanes over little-endian 32-bit words, so a 32-bit CPU checks it at copy speed;
 * streamable over pieces of any length. Not cryptographic: it catches corruption. Pure.
 */
#ifndef JB_JBHASH_H
#define JB_JBHASH_H

#include "types.h"

struct jbhash {
	u32 a, b;     /* the two lanes */
	u32 carry;    /* bytes of a partial word, little-endian */
	u32 ncarry;   /* how many (0-3) */
	u64 len;      /* bytes hashed */
};

void jbhash_init(struct jbhash *h);
void jbhash_update(struct jbhash *h, const void *data, size_t len);
u64 jbhash_final(const struct jbhash *h);

#endif
