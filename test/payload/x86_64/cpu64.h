/*
 * The 64-bit payload's registers: control-register and MSR bits it checks or sets (Intel SDM
 * vol. 3, 2.5 and 4.5; vol. 4 for the MSRs), their accessors, and its assembly routines.
 */
#ifndef JBT_CPU64_H
#define JBT_CPU64_H

#include "manifest.h"
#include "types.h"

#define CR0_PE (1ull << 0)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define RFLAGS_IF (1ull << 9)
#define RFLAGS_DF (1ull << 10)

#define MSR_EFER 0xC0000080u
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define MSR_PAT 0x277u
/* What Linux programs (arch/x86/mm/pat/memtype.c): WB WC UC- UC WB WP UC- WT; kernel A keeps it. */
#define PAT_LINUX 0x0407050600070106ull
#define PAT_POWER_ON 0x0007040600070406ull

/* Page-table entry bits (SDM vol. 3, 4.5). */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000FFFFFFFFFF000ull
#define PAGE_2M (1ull << 21)
#define PT_ENTRIES 512

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (u64)hi << 32 | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline u64 read_cr2(void)
{
	u64 v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* idt.c: the IDT whose handlers report the exception and fail (installed by entry.asm). */
void jbt_idt_install(void);
/* check_paging.c: CR3's tables identity-map the first 4 GiB, the payload and the regions. */
void check_paging(u64 cr3, const struct jbt_manifest *m);
/* entry.asm: jumpback's 64-bit hand-off, for `selftest`: loads the payload's GDT (Linux's
   layout), CR3, the segments, RSP and RFLAGS=0x2, then jumps to resume_entry. */
void jbt_selftest_enter(u64 cr3, u64 rsp) __attribute__((noreturn));

#endif
