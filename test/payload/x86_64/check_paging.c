/*
 * Check mode, 64-bit: the page tables jumpback left in CR3 map the first 4 GiB, the payload
 * and every manifest region to themselves, present and writable (4-level paging, SDM vol. 3,
 * 4.5). The tables are read through that same map; a hole shows as a reported page fault.
 */
#include "cpu64.h"
#include "fmt.h"
#include "payload.h"

#define LEVELS 4
#define ADDR_4G (1ull << 32)

/* The physical address behind va and the size of its page; false if not present. */
static bool translate(u64 cr3, u64 va, u64 *pa, u64 *page, bool *writable)
{
	u64 table = cr3 & PTE_ADDR;

	*writable = true;
	for (int level = LEVELS - 1; level >= 0; level--) {
		u32 shift = 12 + 9 * (u32)level;
		u64 e = ((const volatile u64 *)(uintptr_t)table)[(va >> shift) % PT_ENTRIES];

		if (!(e & PTE_P))
			return false;
		*writable = *writable && (e & PTE_RW);
		/* PS in a PDPT or PD entry: a 1 GiB or 2 MiB page; bits below it hold PAT etc. */
		if (level == 0 || (level < LEVELS - 1 && (e & PTE_PS))) {
			*page = 1ull << shift;
			*pa = (e & PTE_ADDR & ~(*page - 1)) | (va & (*page - 1));
			return true;
		}
		table = e & PTE_ADDR;
	}
	return false;
}

/* One problem per range at most: the first address that is not identity-mapped read-write. */
static bool range_identity(u64 cr3, const char *what, u64 start, u64 end)
{
	for (u64 va = start; va < end;) {
		u64 pa, page;
		bool writable;

		if (!translate(cr3, va, &pa, &page, &writable)) {
			jbt_problem("paging: %s: 0x%llx is not mapped", what, (unsigned long long)va);
			return false;
		}
		if (pa != va || !writable) {
			jbt_problem("paging: %s: 0x%llx maps to 0x%llx%s, not to itself read-write",
				    what, (unsigned long long)va, (unsigned long long)pa,
				    writable ? "" : " read-only");
			return false;
		}
		va = (va & ~(page - 1)) + page;
	}
	return true;
}

void check_paging(u64 cr3, const struct jbt_manifest *m)
{
	u32 nregions = m->magic == JBT_MANIFEST_MAGIC && m->nregions <= JBT_MAX_REGIONS ?
			       m->nregions : 0;
	bool ok = range_identity(cr3, "first 4 GiB", 0, ADDR_4G);

	ok = range_identity(cr3, "payload", (uintptr_t)jbt_payload_start,
			    (uintptr_t)jbt_payload_end) && ok;
	for (u32 i = 0; i < nregions; i++) {
		const struct jbt_region *r = &m->region[i];

		char what[24];

		/* check_mem.c reports a region past the limit; do not walk it here. */
		if (r->addr >= JBT_ADDR_LIMIT || r->len > JBT_ADDR_LIMIT - r->addr)
			continue;
		fmt_buf(what, sizeof(what), "manifest region %u", i);
		ok = range_identity(cr3, what, r->addr, r->addr + r->len) && ok;
	}
	if (ok)
		jbt_printf("jbtest: paging ok: identity map of 0-4 GiB, the payload and %u"
			   " regions\n", nregions);
}
