/*
 * Test data pattern: the 32-bit word stored at physical address `addr` (4-byte aligned) for a
 * given seed. Position-dependent, so a misplaced block is caught, not only a wrong byte.
 * Shared by tools/mkcore (host) and the kernel-A test payload (bare metal). Pure.
 */
#ifndef JB_PATTERN_H
#define JB_PATTERN_H

#include "types.h"

static inline u32 pattern_word(u32 seed, u64 addr)
{
	u32 x = (u32)addr ^ (u32)(addr >> 32) * 0x85EBCA6Bu ^ seed;

	x *= 0x9E3779B1u;
	x ^= x >> 15;
	x *= 0x2C1B3C6Du;
	x ^= x >> 13;
	return x;
}

#endif
