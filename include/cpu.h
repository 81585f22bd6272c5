/* x86 port I/O, control registers and the CPU set-up of the stub (stub/cpu.c, boot/). */
#ifndef JB_CPU_H
#define JB_CPU_H

#include "types.h"

/* Selectors of the GDT in boot/entry.asm. */
#define SEL_CODE32 0x10
#define SEL_DATA32 0x18

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(u16 port, u32 v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline u32 inl(u16 port)
{
	u32 v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause");
}

static inline u32 mmio_read32(uintptr_t addr)
{
	return *(volatile u32 *)addr;
}

static inline void mmio_write32(uintptr_t addr, u32 v)
{
	*(volatile u32 *)addr = v;
}

/* Register frame pushed by boot/isr.asm; mirrored there. */
struct fault_frame {
	u32 edi, esi, ebp, esp_at_pushad, ebx, edx, ecx, eax;
	u32 vector, error;
	u32 eip, cs, eflags;
};
_Static_assert(sizeof(struct fault_frame) == 13 * 4, "mirrored in boot/isr.asm");

/* Installs the IDT whose handlers print the fault and stop through the fatal path. */
void cpu_idt_init(void);
void cpu_halt_forever(void) __attribute__((noreturn));
void cpu_reboot(void) __attribute__((noreturn));

/* boot/copy.asm */
void copy_bytes(void *dst, const void *src, u32 len);
void zero_bytes(void *dst, u32 len);
/* boot/handoff.asm */
void handoff32(u32 entry, u32 stack_top, u32 pae) __attribute__((noreturn));

/* Linker symbols (linker.ld): the whole footprint of the stub. */
extern char __stub_start[], __stub_end[];

#endif
