/*
 * The one door to the BIOS: rm_int() drops from 32-bit protected mode to real mode, runs
 * `int vec` with the given registers and comes back (boot/realmode.asm). Its trampoline,
 * real-mode stack, request block and bounce buffer share one low region (BIOS_LOW_*), which
 * the restore plan treats as live, with the IVT and BDA, while BIOS calls remain.
 */
#ifndef JB_BIOS_H
#define JB_BIOS_H

#include "types.h"

/* Low memory the BIOS path uses: IVT/BDA, trampoline, stack, request block, bounce buffer. */
#define BIOS_LOW_START 0x0u
#define BIOS_TRAMPOLINE 0x1000u    /* real-mode code and data, CS = 0x0100 */
#define BIOS_STACK_TOP 0x3000u     /* real-mode SS:SP = 0000:3000 */
#define BIOS_REQUEST 0x3000u       /* a 512-byte block for DAPs and result buffers */
#define BIOS_BOUNCE 0x10000u       /* 1000:0000 */
#define BIOS_BOUNCE_SIZE 0x40000u  /* 256 KiB: 512 sectors */
#define BIOS_LOW_END (BIOS_BOUNCE + BIOS_BOUNCE_SIZE)

#define EFLAGS_CF 0x1u

/* Registers in and out of a BIOS call; mirrored in boot/realmode.asm (RM_*). */
struct rm_regs {
	u32 eax, ebx, ecx, edx, esi, edi, ebp;
	u32 eflags; /* out: the BIOS's flags; CF is preset to 1 on the way in */
	u16 ds, es;
} __attribute__((packed));

_Static_assert(sizeof(struct rm_regs) == 36, "mirrored in boot/realmode.asm");

/* Copies the trampoline to BIOS_TRAMPOLINE; call once before the first rm_int(). */
void bios_init(void);

/* Runs `int vec` in real mode. regs is read and then overwritten with the result. */
void rm_int(u8 vec, struct rm_regs *regs);

#endif
