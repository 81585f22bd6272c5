/*
 * FNV-1a, 32-bit: the test payload's self hash. Shared by the payload (bare metal) and
 * tools/mkcore (host), so both hash the same bytes the same way. Pure.
 */
#ifndef JBT_FNV1A_H
#define JBT_FNV1A_H

#include "types.h"

#define FNV1A32_INIT 0x811C9DC5u
#define FNV1A32_PRIME 0x01000193u

static inline u32 fnv1a32(u32 h, const u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV1A32_PRIME;
	}
	return h;
}

#endif
