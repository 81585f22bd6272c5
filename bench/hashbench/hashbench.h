/* bench/hashbench: what its files share. */
#ifndef JB_HASHBENCH_H
#define JB_HASHBENCH_H

#include "types.h"

/* ref.c: XXH64 and XXH3_64bits (seed 0) from Debian's xxhash.h, built with the stub's flags. */
u64 hb_ref_xxh64(const void *p, size_t n);
u64 hb_ref_xxh3(const void *p, size_t n);

#endif
