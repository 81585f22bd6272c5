/*
 * Physical memory anywhere: below 4 GiB directly (paging is off), above it through a 2 MiB
 * PAE paging window that is switched on only for the access.
 */
#ifndef JB_PHYSMEM_H
#define JB_PHYSMEM_H

#include "types.h"
#include "xxh64.h"

void phys_write(u64 dst, const void *src, u32 len);
void phys_zero(u64 dst, u64 len);

/*
 * Compares physical [addr, +len) with ref (or with zeros when ref is NULL). Returns the
 * offset of the first differing byte, with *got holding RAM's byte, or len when all match.
 */
u32 phys_compare(u64 addr, const u8 *ref, u32 len, u8 *got);

/*
 * Feeds physical [addr, +len) to an XXH64 state (through the window above 4 GiB). On a CPU
 * with long mode the stripe loop runs in 64-bit mode (boot/hash64.asm).
 */
void phys_hash(struct xxh64 *h, u64 addr, u32 len);
/* The same on the helper CPU (stub/smp.c), through a window of its own. */
void phys_hash_helper(struct xxh64 *h, u64 addr, u32 len);
/* Sets up the page tables and picks the stripe loop: before a second CPU hashes. */
void phys_prepare(void);

/* Which stripe loop phys_hash uses: "64-bit" or "32-bit" (for the boot log). */
const char *phys_hash_loop(void);

/* boot/hash64.asm: xxh64_stripes in long mode, paging through the tables at pml4. */
void xxh64_stripes_long(u64 acc[4], const u8 *p, u32 n, u32 pml4);

/*
 * 32-bit device register access at any physical address: directly below 4 GiB, above it
 * through the window mapped uncached (PCD, PWT) for the access. Firmware (OVMF) places 64-bit
 * BARs above 4 GiB.
 */
u32 phys_mmio_read32(u64 addr);
void phys_mmio_write32(u64 addr, u32 v);

#endif
