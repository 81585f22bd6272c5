/*
 * The 64-bit payload's side of payload.h: the CPU state of a 64-bit hand-off as resume_entry
 * stores it (mirrored in x86_64/entry.asm, the ST_* offsets) and the addresses it can read.
 */
#ifndef JBT_PAYLOAD_ARCH_H
#define JBT_PAYLOAD_ARCH_H

#include "types.h"

/* The GDT layout of Linux x86_64 (arch/x86/include/asm/segment.h, GDT_ENTRY_KERNEL*). */
#define JBT_SEL_CODE32 0x08
#define JBT_SEL_CODE64 0x10
#define JBT_SEL_DATA32 0x18

/* 4-level paging identity-maps at most the lower canonical half, 128 TiB. */
#define JBT_ADDR_LIMIT (1ull << 47)
#define JBT_ADDR_LIMIT_TEXT "128 TiB, which 4-level paging cannot identity-map"

struct jbt_entry_state {
	u64 rflags;
	u64 cr0, cr3, cr4;
	u64 efer; /* MSR 0xC0000080 */
	u64 pat;  /* MSR 0x277 */
	u64 rsp;
	u64 ret; /* the qword at [RSP]: jumpback's "kernel A returned" address */
	u16 cs, ds, es, fs, gs, ss;
	u16 pad;
	u16 gdt_limit; /* sgdt stores the limit, then the 64-bit base */
	u64 gdt_base;
	u64 gpr[15]; /* RAX, RBX, RCX, RDX, RSI, RDI, RBP, R8-R15: jumpback clears them */
};

_Static_assert(__builtin_offsetof(struct jbt_entry_state, cr3) == 16, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, pat) == 40, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, ret) == 56, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, cs) == 64, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, ss) == 74, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, gdt_limit) == 78,
	       "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, gpr) == 88, "mirrored in entry.asm");
_Static_assert(sizeof(struct jbt_entry_state) == 208, "mirrored in entry.asm");

#endif
