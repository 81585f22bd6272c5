/*
 * Access to physical memory above 4 GiB from the 32-bit stub: PAE paging (Intel SDM vol. 3
 * §4.4) with the low 4 GiB identity-mapped by 2 MiB pages and the last 2 MiB of the address
 * space (the BIOS flash, never touched here) used as a window onto any 2 MiB frame. The
 * 2 MiB below it are a second window, the helper CPU's own (stub/smp.c), so the two CPUs can
 * hash above 4 GiB at once.
 */
#include "physmem.h"

#include "cpu.h"

#define LOW_LIMIT (1ull << 32)
#define WINDOW_SIZE (2u << 20)
#define WINDOW_VIRT 0xFFE00000u        /* page directory 3, entry 511 */
#define WINDOW_HELPER_VIRT 0xFFC00000u /* entry 510 */
#define PDE_PRESENT 0x1ull
#define PDE_WRITE 0x2ull
#define PDE_PWT 0x8ull  /* with PCD: PAT entry 3, uncached (device registers) */
#define PDE_PCD 0x10ull
#define PDE_LARGE 0x80ull
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)

static u64 pae_pdpt[4] __attribute__((aligned(32)));
static u64 pae_pd[4][512] __attribute__((aligned(4096)));
static bool pae_ready;
/* Long mode's top two levels over the same page directories (boot/hash64.asm). */
static u64 lm_pml4[512] __attribute__((aligned(4096)));
static u64 lm_pdpt[512] __attribute__((aligned(4096)));
static xxh64_stripes_fn *hash_stripes;

static void pae_tables_init(void)
{
	for (u32 i = 0; i < 4; i++) {
		pae_pdpt[i] = (u64)(uintptr_t)pae_pd[i] | PDE_PRESENT;
		for (u32 j = 0; j < 512; j++)
			pae_pd[i][j] = ((u64)i << 30 | (u64)j << 21) | PDE_PRESENT | PDE_WRITE | PDE_LARGE;
	}
	pae_ready = true;
}

static void stripes_long(u64 acc[4], const u8 *p, size_t n)
{
	xxh64_stripes_long(acc, p, n, (u32)(uintptr_t)lm_pml4);
}

/* XXH64's stripe loop in 64-bit mode when the CPU has it, else the portable one. */
static xxh64_stripes_fn *stripes_pick(void)
{
	if (hash_stripes)
		return hash_stripes;
	hash_stripes = xxh64_stripes;
	if (cpu_has_long_mode()) {
		if (!pae_ready)
			pae_tables_init();
		lm_pml4[0] = (u64)(uintptr_t)lm_pdpt | PDE_PRESENT | PDE_WRITE;
		for (u32 i = 0; i < 4; i++)
			lm_pdpt[i] = (u64)(uintptr_t)pae_pd[i] | PDE_PRESENT | PDE_WRITE;
		hash_stripes = stripes_long;
	}
	return hash_stripes;
}

const char *phys_hash_loop(void)
{
	return stripes_pick() == stripes_long ? "64-bit" : "32-bit";
}

static void paging_on(void)
{
	u32 cr0, cr4;

	if (!pae_ready)
		pae_tables_init();
	__asm__ volatile("mov %0, %%cr3" : : "r"((u32)(uintptr_t)pae_pdpt) : "memory");
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_PAE) : "memory");
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | CR0_PG) : "memory");
}

static void paging_off(void)
{
	u32 cr0, cr4;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 & ~CR0_PG) : "memory");
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 & ~CR4_PAE) : "memory");
}

/*
 * Points the window at virt (WINDOW_VIRT or the helper's) at the 2 MiB frame holding phys,
 * with extra PDE flags; returns phys's address in the window.
 */
static u8 *window_map_in(u32 virt, u64 phys, u64 flags)
{
	pae_pd[3][(virt >> 21) & 511] = (phys & ~(u64)(WINDOW_SIZE - 1)) | PDE_PRESENT |
					 PDE_WRITE | PDE_LARGE | flags;
	__asm__ volatile("invlpg (%0)" : : "r"(virt) : "memory");
	return (u8 *)(uintptr_t)(virt + (u32)(phys & (WINDOW_SIZE - 1)));
}

static u8 *window_map(u64 phys)
{
	return window_map_in(WINDOW_VIRT, phys, 0);
}

/* The window onto the 2 MiB frame holding a device register, uncached. */
static volatile u32 *window_map_mmio(u64 phys)
{
	return (volatile u32 *)window_map_in(WINDOW_VIRT, phys, PDE_PCD | PDE_PWT);
}

/* Bytes from phys to the end of its window frame, at most len. */
static u32 window_span(u64 phys, u64 len)
{
	u32 room = WINDOW_SIZE - (u32)(phys & (WINDOW_SIZE - 1));

	return len < room ? (u32)len : room;
}

void phys_write(u64 dst, const void *src, u32 len)
{
	const u8 *s = src;

	if (dst + len <= LOW_LIMIT) {
		copy_bytes((void *)(uintptr_t)dst, src, len);
		return;
	}
	paging_on();
	while (len) {
		u32 n = window_span(dst, len);

		copy_bytes(window_map(dst), s, n);
		dst += n;
		s += n;
		len -= n;
	}
	paging_off();
}

void phys_zero(u64 dst, u64 len)
{
	if (dst + len <= LOW_LIMIT) {
		zero_bytes((void *)(uintptr_t)dst, (u32)len);
		return;
	}
	paging_on();
	while (len) {
		u32 n = window_span(dst, len);

		zero_bytes(window_map(dst), n);
		dst += n;
		len -= n;
	}
	paging_off();
}

void phys_prepare(void)
{
	stripes_pick();
	if (!pae_ready)
		pae_tables_init();
}

static void phys_hash_in(struct xxh64 *h, u64 addr, u32 len, u32 window)
{
	xxh64_stripes_fn *stripes = stripes_pick();

	if (addr + len <= LOW_LIMIT) {
		xxh64_update_by(h, (const void *)(uintptr_t)addr, len, stripes);
		return;
	}
	paging_on();
	while (len) {
		u32 n = window_span(addr, len);

		xxh64_update_by(h, window_map_in(window, addr, 0), n, stripes);
		addr += n;
		len -= n;
	}
	paging_off();
}

void phys_hash(struct xxh64 *h, u64 addr, u32 len)
{
	phys_hash_in(h, addr, len, WINDOW_VIRT);
}

void phys_hash_helper(struct xxh64 *h, u64 addr, u32 len)
{
	phys_hash_in(h, addr, len, WINDOW_HELPER_VIRT);
}

u32 phys_compare(u64 addr, const u8 *ref, u32 len, u8 *got)
{
	bool high = addr + len > LOW_LIMIT;
	u32 at = 0;

	if (high)
		paging_on();
	while (at < len) {
		u32 n = high ? window_span(addr + at, len - at) : len;
		const u8 *ram = high ? window_map(addr + at) : (const u8 *)(uintptr_t)(addr + at);
		u32 i = ref ? compare_bytes(ram, ref + at, n) : zero_scan(ram, n);

		if (i < n) {
			*got = ram[i];
			at += i;
			break;
		}
		at += n;
	}
	if (high)
		paging_off();
	return at;
}

u32 phys_mmio_read32(u64 addr)
{
	u32 v;

	if (addr + 4 <= LOW_LIMIT)
		return mmio_read32((uintptr_t)addr);
	paging_on();
	v = *window_map_mmio(addr);
	paging_off();
	return v;
}

void phys_mmio_write32(u64 addr, u32 v)
{
	if (addr + 4 <= LOW_LIMIT) {
		mmio_write32((uintptr_t)addr, v);
		return;
	}
	paging_on();
	*window_map_mmio(addr) = v;
	paging_off();
}
