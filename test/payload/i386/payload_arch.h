/*
 * The 32-bit payload's side of payload.h: the CPU state of a 32-bit hand-off as resume_entry
 * stores it (mirrored in i386/entry.asm, the ST_* offsets) and the addresses it can read.
 */
#ifndef JBT_PAYLOAD_ARCH_H
#define JBT_PAYLOAD_ARCH_H

#include "types.h"

/* The hand-off contract this payload checks (DESIGN.md section 5, docs/handoff.md). */
#define JBT_SEL_CODE32 0x10
#define JBT_SEL_CODE32_ALT 0x08 /* also flat 32-bit code in the i386 boot GDT */
#define JBT_SEL_DATA32 0x18

/* Protected mode without paging reads physical addresses below 4 GiB only. */
#define JBT_ADDR_LIMIT (1ull << 32)
#define JBT_ADDR_LIMIT_TEXT "4 GiB, which a 32-bit payload without paging cannot read"

struct jbt_entry_state {
	u32 eflags;
	u32 cr0;
	u32 cr4;
	u32 esp;
	u32 ret; /* the dword at [ESP]: jumpback's "kernel A returned" address */
	u16 cs, ds, es, fs, gs, ss;
	u16 pad;
	u16 gdt_limit; /* sgdt stores the limit, then the base */
	u32 gdt_base;
	u32 gpr[7]; /* EAX, EBX, ECX, EDX, ESI, EDI, EBP: jumpback clears them */
};

_Static_assert(__builtin_offsetof(struct jbt_entry_state, cr4) == 8, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, ret) == 16, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, cs) == 20, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, ss) == 30, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, gdt_limit) == 34,
	       "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, gpr) == 40, "mirrored in entry.asm");
_Static_assert(sizeof(struct jbt_entry_state) == 68, "mirrored in entry.asm");

#endif
