/* The manifest (in .data, so it is file-backed and tools/mkcore can patch it) and the self hash. */
#include "fnv1a.h"
#include "payload.h"

/* An explicit .data section: a zero-initialised object would otherwise land in .bss. */
struct jbt_manifest jbt_manifest __attribute__((section(".data.jbt_manifest"), aligned(8)));

u32 jbt_self_hash(void)
{
	uintptr_t len = (uintptr_t)jbt_hash_end - (uintptr_t)jbt_hash_start;

	return fnv1a32(FNV1A32_INIT, jbt_hash_start, len);
}
