/* x86 port I/O, TSC and MMIO accessors; used by the stub and by the test payload. */
#ifndef JB_PORTIO_H
#define JB_PORTIO_H

#include "types.h"

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

static inline void outw(u16 port, u16 v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline u16 inw(u16 port)
{
	u16 v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
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

static inline u8 mmio_read8(uintptr_t addr)
{
	return *(volatile u8 *)addr;
}

static inline void mmio_write8(uintptr_t addr, u8 v)
{
	*(volatile u8 *)addr = v;
}

static inline u16 mmio_read16(uintptr_t addr)
{
	return *(volatile u16 *)addr;
}

static inline void mmio_write16(uintptr_t addr, u16 v)
{
	*(volatile u16 *)addr = v;
}

#endif
