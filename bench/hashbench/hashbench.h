/* bench/hashbench: what its files share. */
#ifndef JB_HASHBENCH_H
#define JB_HASHBENCH_H

#include "jbhash.h"
#include "types.h"
#include "xxh64.h"

/* ref.c: XXH64 and XXH3_64bits (seed 0) from Debian's xxhash.h, built with the stub's flags. */
u64 hb_ref_xxh64(const void *p, size_t n);
u64 hb_ref_xxh3(const void *p, size_t n);

/* The candidates as one-shot functions, for the host and the bare-metal timers alike. */
static inline u64 run_jbhash(const void *p, size_t n)
{
	struct jbhash h;

	jbhash_init(&h);
	jbhash_update(&h, p, n);
	return jbhash_final(&h);
}

static inline u64 run_xxh64(const void *p, size_t n)
{
	return xxh64(p, n, 0);
}

#endif
