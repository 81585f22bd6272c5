/*
 * jbhash64: image format version 1's data checksum, no longer part of the format (version 2
 * has XXH64 per 16 MiB chunk, docs/image-format.md); kept for bench/hashbench. Two 32-bit
 * multiply-rotate lanes over little-endian 32-bit words, so a 32-bit CPU checks it quickly;
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
