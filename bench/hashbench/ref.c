/*
 * XXH64 and XXH3_64bits from libxxhash-dev's own header (xxHash 0.8.1), compiled into this
 * file with the stub's code generation flags (i686, general registers only, so XXH3 takes its
 * scalar path): the reference the stub's lib/xxh64.c is measured against, in the host's
 * 32-bit build and in the QEMU kernel. Bench only; nothing of it goes into the stub.
 */
#include "hashbench.h"

/* Plain loads instead of memcpy() calls: this file builds without a C library's builtins. */
#define XXH_FORCE_MEMORY_ACCESS 1
#define XXH_INLINE_ALL
#include <xxhash.h>

u64 hb_ref_xxh64(const void *p, size_t n)
{
	return XXH64(p, n, 0);
}

u64 hb_ref_xxh3(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}
