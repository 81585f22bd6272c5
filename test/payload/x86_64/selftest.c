/*
 * `selftest`, a development aid: once the pattern and manifest are written, fill mode performs
 * jumpback's 64-bit hand-off itself (DESIGN.md section 5) and enters check mode, which must
 * pass (QEMU status 33). `selftest=KIND` adds a region above 4 GiB or breaks one promise (35).
 */
#include "cpu64.h"
#include "payload.h"

/* The MiB below the payload: outside it and every region, as jumpback's own memory would be. */
#define SCRATCH_LEN 0x100000u
#define IDENTITY_GIB 64 /* like fill mode's map: the first 4 GiB and a test guest's RAM */
#define STACK_LEN 16384u
#define RSP_IN_REGION_BACK 4096u /* `rsp`: the stack top this far below the region's end */
#define HIGH_LEN 0x800000u       /* `high`: a region of 8 MiB at the first RAM above 4 GiB */
#define HIGH_SEED_XOR 0x48494748u

struct scratch {
	u64 pml4[PT_ENTRIES];
	u64 pdpt[PT_ENTRIES];
	u64 pd[IDENTITY_GIB][PT_ENTRIES];
	u8 stack[STACK_LEN];
	u8 returned[16]; /* the "kernel A returned" target: cli; hlt; jmp back to the hlt */
};
_Static_assert(sizeof(struct scratch) <= SCRATCH_LEN, "selftest scratch area");

enum selftest_kind { ST_PLAIN, ST_HIGH, ST_PAT, ST_NXE, ST_WORD, ST_RSP, ST_RET, ST_UNMAP };

static const char *const kind_names[] = {
	[ST_PLAIN] = "",
	[ST_HIGH] = "high",   /* passes: also a region above 4 GiB (run the guest with -m 5G) */
	[ST_PAT] = "pat",     /* IA32_PAT left at its power-on value */
	[ST_NXE] = "nxe",     /* EFER.NXE clear */
	[ST_WORD] = "word",   /* one word in the middle of region 0 flipped */
	[ST_RSP] = "rsp",     /* the stack inside region 0 */
	[ST_RET] = "ret",     /* 0 as the return address */
	[ST_UNMAP] = "unmap", /* region 0's last 2 MiB page not present: a page fault */
};

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static enum selftest_kind kind_parse(const char *name)
{
	for (u32 k = 0; k < JB_ARRAY_LEN(kind_names); k++)
		if (str_eq(name, kind_names[k]))
			return (enum selftest_kind)k;
	jbt_fail("fill: unknown selftest=%s; kinds: high pat nxe word rsp ret unmap", name);
}

/* 2 MiB pages, identity, over the first IDENTITY_GIB GiB; `hole` (if not 0) left unmapped. */
static void map_build(struct scratch *s, u64 hole)
{
	for (u32 i = 0; i < PT_ENTRIES; i++)
		s->pml4[i] = s->pdpt[i] = 0;
	s->pml4[0] = (uintptr_t)s->pdpt | PTE_P | PTE_RW;
	for (u32 g = 0; g < IDENTITY_GIB; g++) {
		s->pdpt[g] = (uintptr_t)s->pd[g] | PTE_P | PTE_RW;
		for (u32 i = 0; i < PT_ENTRIES; i++) {
			u64 addr = ((u64)g * PT_ENTRIES + i) * PAGE_2M;

			s->pd[g][i] = hole && hole / PAGE_2M == addr / PAGE_2M ?
					      0 : addr | PTE_P | PTE_RW | PTE_PS;
		}
	}
}

/* A second region where only 64-bit code reaches: RAM above 4 GiB (fill mode maps 64 GiB). */
static void high_region_add(const struct fill_args *a)
{
	struct jbt_manifest *m = &jbt_manifest;
	u32 seed = m->region[0].seed ^ HIGH_SEED_XOR;

	if (a->high_end < a->high_start + HIGH_LEN ||
	    a->high_start + HIGH_LEN > (u64)IDENTITY_GIB << 30)
		jbt_fail("selftest=high: no 8 MiB of usable RAM above 4 GiB and below %u GiB"
			 " (found 0x%llx-0x%llx); run the guest with -m 5G",
			 IDENTITY_GIB, (unsigned long long)a->high_start,
			 (unsigned long long)a->high_end);
	jbt_fill_pattern(a->high_start, a->high_start + HIGH_LEN, seed);
	m->region[m->nregions++] = (struct jbt_region){
		.addr = a->high_start, .len = HIGH_LEN, .kind = JBT_REGION_PATTERN, .seed = seed,
	};
	jbt_printf("jbtest: selftest: region 1: 0x%llx+0x%x pattern seed 0x%08x\n",
		   (unsigned long long)a->high_start, HIGH_LEN, seed);
}

void jbt_fill_end(const struct fill_args *a)
{
	if (!a->selftest)
		jbt_halt(); /* the harness dumps the guest now and kills it */

	enum selftest_kind k = kind_parse(a->selftest_kind);
	const struct jbt_region *r = &jbt_manifest.region[0];
	uintptr_t area = (uintptr_t)jbt_payload_start - SCRATCH_LEN;
	struct scratch *s = (struct scratch *)area;
	static const u8 returned[] = { 0xFA, 0xF4, 0xEB, 0xFD }; /* cli; hlt; jmp $-1 */

	if (area < a->ram_start)
		jbt_fail("selftest: scratch 0x%llx-0x%llx is not in usable RAM (from 0x%llx)",
			 (unsigned long long)area, (unsigned long long)area + SCRATCH_LEN,
			 (unsigned long long)a->ram_start);
	if (k == ST_HIGH)
		high_region_add(a);
	map_build(s, k == ST_UNMAP ? r->addr + r->len - 4 : 0);
	for (u32 i = 0; i < sizeof(returned); i++)
		s->returned[i] = returned[i];

	u64 *sp = k == ST_RSP ? (u64 *)(uintptr_t)(r->addr + r->len - RSP_IN_REGION_BACK)
			      : (u64 *)(s->stack + STACK_LEN) - 1;

	*sp = k == ST_RET ? 0 : (uintptr_t)s->returned;
	if (k == ST_WORD)
		*(volatile u32 *)(uintptr_t)((r->addr + r->len / 2) & ~3ull) ^= 1;
	wrmsr(MSR_PAT, k == ST_PAT ? PAT_POWER_ON : PAT_LINUX);
	wrmsr(MSR_EFER, k == ST_NXE ? rdmsr(MSR_EFER) & ~EFER_NXE : rdmsr(MSR_EFER) | EFER_NXE);
	jbt_printf("jbtest: selftest%s%s: jumping to 0x%08x (64-bit) as jumpback would\n",
		   k ? "=" : "", a->selftest_kind, (u32)(uintptr_t)resume_entry);
	jbt_selftest_enter((uintptr_t)s->pml4, (uintptr_t)sp);
}
