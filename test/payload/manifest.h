/*
 * The test payload's manifest: which memory the payload owns and what it must hold when
 * jumpback enters it. Written by tools/mkcore (synthetic cores) or by the payload itself in
 * fill mode (before QEMU's dump-guest-memory); read by the payload in check mode.
 */
#ifndef JBT_MANIFEST_H
#define JBT_MANIFEST_H

#include "types.h"

#define JBT_MANIFEST_MAGIC 0x4D54424Au /* "JBTM" */
#define JBT_MAX_REGIONS 64

enum jbt_region_kind {
	JBT_REGION_PATTERN = 1, /* every 32-bit word equals pattern_word(seed, its address) */
	JBT_REGION_ZERO = 2,    /* every byte is zero */
};

struct jbt_region {
	u64 addr; /* 4-byte aligned */
	u64 len;  /* multiple of 4 */
	u32 kind;
	u32 seed;
};

struct jbt_manifest {
	u32 magic;
	u32 nregions;
	u32 self_hash;  /* FNV-1a over the payload's code and read-only data */
	u32 pae;        /* 1: expect CR4.PAE set at entry */
	struct jbt_region region[JBT_MAX_REGIONS];
};

_Static_assert(sizeof(struct jbt_region) == 24, "manifest region layout");
_Static_assert(sizeof(struct jbt_manifest) == 16 + 24 * JBT_MAX_REGIONS, "manifest layout");

#endif
