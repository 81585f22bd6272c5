/*
 * A second CPU that verifies chunks beside the boot CPU (stub/smp.c, boot/ap.asm): started
 * with INIT and start-up IPIs through the local APIC before a verified restore, given one
 * chunk at a time, and put in wait-for-SIPI with INIT before the hand-off, from which kernel
 * A's own INIT-SIPI-SIPI starts it.
 */
#ifndef JB_SMP_H
#define JB_SMP_H

#include "checkq.h"
#include "types.h"
#include "xxh64.h"

/* The start-up page (below 1 MiB, 4 KiB-aligned): live while the second CPU may start. */
#define SMP_TRAMPOLINE 0x4000u
#define SMP_TRAMPOLINE_SIZE 0x1000u
/*
 * Starts the helper. Returns NULL once it runs, else why not (for the boot log): no local
 * APIC, x2APIC mode, no second CPU answered. Needs SMP_TRAMPOLINE free until smp_stop().
 */
const char *smp_start(void);

/* Whether the helper runs and has no chunk, or has finished its last one. */
bool smp_idle(void);

/*
 * Hands the helper a chunk: its hash so far (state) and its remaining bytes (at most
 * CHECKQ_EXTENTS; above 4 GiB through the helper's own window, stub/physmem.c). It must be
 * idle.
 */
void smp_post(const struct xxh64 *state, const struct checkq_extent *ext, u32 n);

/*
 * Waits (up to timeout_ms) for the chunk posted last; its XXH64 in *hash. Returns false on
 * time-out.
 */
bool smp_wait(u64 *hash, u32 timeout_ms);

/* INIT to every other CPU: all in wait-for-SIPI. Harmless when nothing was started. */
void smp_stop(void);

#endif
