/* The stub's CPU set-up (stub/cpu.c) and the assembly routines it calls (boot/). */
#ifndef JB_CPU_H
#define JB_CPU_H

#include "portio.h"
#include "types.h"

/* Selectors of the GDT in boot/entry.asm. */
#define SEL_CODE32 0x10
#define SEL_DATA32 0x18

/* Register frame pushed by boot/isr.asm; mirrored there. */
struct fault_frame {
	u32 edi, esi, ebp, esp_at_pushad, ebx, edx, ecx, eax;
	u32 vector, error;
	u32 eip, cs, eflags;
};
_Static_assert(sizeof(struct fault_frame) == 13 * 4, "mirrored in boot/isr.asm");

/* Installs the IDT whose handlers print the fault and stop through the fatal path. */
void cpu_idt_init(void);
/*
 * Loads on another CPU that IDT plus two interrupt vectors (stub/smp.c: the wake-up IPI that
 * ends its hlt, and the local APIC's spurious vector).
 */
void cpu_idt_load_wakeup(u8 wake, const void *wake_handler, u8 spurious,
			 const void *spurious_handler);
void cpu_halt_forever(void) __attribute__((noreturn));
/* Whether the CPU has long mode (CPUID 80000001h EDX.LM); the stub assumes CPUID exists. */
bool cpu_has_long_mode(void);
void cpu_reboot(void) __attribute__((noreturn));

/* boot/copy.asm */
void copy_bytes(void *dst, const void *src, u32 len);
void zero_bytes(void *dst, u32 len);
/* Offset of the first differing (or non-zero) byte, or len when there is none. */
u32 compare_bytes(const void *a, const void *b, u32 len);
u32 zero_scan(const void *a, u32 len);
/* boot/handoff.asm */
void handoff32(u32 entry, u32 stack_top, u32 pae) __attribute__((noreturn));

/* Linker symbols (linker.ld): the whole footprint of the stub. */
extern char __stub_start[], __stub_end[];

#endif
