/*
 * The final stage (boot/final.asm): a position-independent copier and hand-off that the stub
 * places in a hole after its last disk access. It copies staged bytes home (over the stub,
 * if the image covers it) and enters kernel A in the state docs/handoff.md describes.
 */
#ifndef JB_FINAL_H
#define JB_FINAL_H

#include "plan.h"
#include "types.h"

/* Parameters at offset 0 of the placed blob; mirrored in boot/final.asm (FP_*). */
struct final_params {
	u32 mode;      /* 32 or 64 */
	u32 cr4;       /* 32-bit hand-off: CR4 bits to set (CR4.PAE for pae=1) */
	u32 cr3;       /* 64-bit hand-off: the identity map's PML4 */
	u32 ncopies;   /* entries at `copies` */
	u64 entry;     /* kernel A's entry */
	u32 copies;    /* address of struct final_copy[ncopies] */
	u32 stack_top; /* hand-off stack, in the same hole */
	u32 serial_port; /* for the "kernel A returned" message */
	u32 reserved[7];
};

_Static_assert(sizeof(struct final_params) == 64, "mirrored in boot/final.asm");
_Static_assert(__builtin_offsetof(struct final_params, entry) == 16, "mirrored in boot/final.asm");
_Static_assert(__builtin_offsetof(struct final_params, serial_port) == 32, "mirrored in final.asm");

/* One copy; everything the final stage touches lies below 4 GiB (plan stage_limit). */
struct final_copy {
	u32 src, dst, len, reserved;
};

_Static_assert(sizeof(struct final_copy) == 16, "mirrored in boot/final.asm");

struct final_handoff {
	u32 mode; /* 32 or 64 */
	bool pae; /* 32-bit: CR4.PAE at entry */
	u64 entry;
	u64 map_top;  /* 64-bit: identity-map [0, map_top) */
	u16 serial_port;
};

/* Bytes the final stage needs in its hole for this hand-off (plan_input.final_size). */
u64 final_size(const struct final_handoff *h);

/* Places the final stage at plan->final_at and enters it. Never returns. */
void final_run(const struct plan *p, const struct final_handoff *h) __attribute__((noreturn));

#endif
