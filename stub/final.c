/*
 * Placing the final stage: its code and parameters, the copy list, a hand-off stack and, for
 * the 64-bit hand-off, identity-mapped page tables (2 MiB pages), all in one hole.
 */
#include "final.h"

#include "cpu.h"

#define FINAL_STACK_SIZE 4096u
#define PAGE 4096u
#define GIB (1ull << 30)
#define PTE_PRESENT 0x1ull
#define PTE_WRITE 0x2ull
#define PTE_LARGE 0x80ull /* in a PD entry: a 2 MiB page */

extern const u8 final_blob_start[], final_blob_end[], final_blob_entry[]; /* boot/final.asm */

/* Jumps to the placed blob with EBX = its address (boot/final.asm's calling convention). */
static void __attribute__((noreturn)) final_enter(u32 at, u32 entry)
{
	__asm__ volatile("jmp *%1" : : "b"(at), "r"(entry) : "memory");
	__builtin_unreachable();
}

static u64 round_up(u64 v, u64 a)
{
	return (v + a - 1) / a * a;
}

/* Pages of the identity map of [0, top): PML4, PDPTs and one PD per GiB. */
static u64 page_table_pages(u64 top)
{
	u64 gib = round_up(top, GIB) / GIB;

	return 1 + round_up(gib, 512) / 512 + gib;
}

/* Layout of the hole: blob | copies | stack | page tables (each 4 KiB aligned). */
struct final_layout {
	u64 copies, stack_top, tables, end;
};

static struct final_layout final_layout(u64 at, const struct final_handoff *h)
{
	struct final_layout l;
	u64 blob = (u64)(final_blob_end - final_blob_start);

	l.copies = at + round_up(blob, PAGE);
	l.stack_top = round_up(l.copies + PLAN_MAX_COPIES * sizeof(struct final_copy), PAGE) +
		      FINAL_STACK_SIZE;
	l.tables = l.stack_top;
	l.end = l.tables + (h->mode == 64 ? page_table_pages(h->map_top) * PAGE : 0);
	return l;
}

u64 final_size(const struct final_handoff *h)
{
	return final_layout(0, h).end;
}

/* Identity map of [0, top) with 2 MiB pages; tables start at `at`, which is below 4 GiB. */
static u32 page_tables_build(u64 at, u64 top)
{
	u64 gib = round_up(top, GIB) / GIB;
	u64 npdpt = round_up(gib, 512) / 512;
	u64 *pml4 = (u64 *)(uintptr_t)at;
	u64 *pdpt = pml4 + 512;
	u64 *pd = pdpt + 512 * npdpt;

	zero_bytes(pml4, (u32)(page_table_pages(top) * PAGE));
	for (u64 i = 0; i < npdpt; i++)
		pml4[i] = (at + PAGE * (1 + i)) | PTE_PRESENT | PTE_WRITE;
	for (u64 g = 0; g < gib; g++) {
		pdpt[g] = ((uintptr_t)(pd + 512 * g)) | PTE_PRESENT | PTE_WRITE;
		for (u64 m = 0; m < 512; m++)
			pd[512 * g + m] = (g * GIB + m * (2ull << 20)) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
	}
	return (u32)at;
}

void final_run(const struct plan *p, const struct final_handoff *h)
{
	u64 at = p->final_at;
	struct final_layout l = final_layout(at, h);
	struct final_params *fp = (struct final_params *)(uintptr_t)at;
	struct final_copy *copies = (struct final_copy *)(uintptr_t)l.copies;

	copy_bytes(fp, final_blob_start, (u32)(final_blob_end - final_blob_start));
	*fp = (struct final_params){
		.mode = h->mode,
		.cr4 = h->pae ? 1u << 5 : 0,
		.entry = h->entry,
		.ncopies = p->ncopies,
		.copies = (u32)l.copies,
		.stack_top = (u32)l.stack_top,
		.serial_port = h->serial_port,
	};
	for (u32 i = 0; i < p->ncopies; i++)
		copies[i] = (struct final_copy){ (u32)p->copy[i].src, (u32)p->copy[i].dst,
						 (u32)p->copy[i].len, 0 };
	if (h->mode == 64)
		fp->cr3 = page_tables_build(l.tables, h->map_top);
	final_enter((u32)at, (u32)at + (u32)(final_blob_entry - final_blob_start));
}
