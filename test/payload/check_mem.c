/*
 * Check mode, part 2: every 32-bit word of every manifest region holds what was saved:
 * pattern_word(seed, address) for PATTERN regions (include/pattern.h), 0 for ZERO regions.
 * Addresses are uintptr_t: 32-bit arithmetic in the 32-bit payload, which TCG runs faster.
 */
#include "pattern.h"
#include "payload.h"

#define MISMATCHES_SHOWN 8 /* lines of detail; the count covers the rest */

static u32 mismatches_shown;

static bool in_range(u64 addr, u64 start, u64 len)
{
	return addr >= start && addr - start < len;
}

void check_outside(const char *what, u64 addr, const struct jbt_manifest *m)
{
	u32 start = (u32)(uintptr_t)jbt_payload_start;
	u32 end = (u32)(uintptr_t)jbt_payload_end;

	if (in_range(addr, start, end - start))
		jbt_problem("%s 0x%08llx lies inside the payload 0x%08x-0x%08x", what,
			    (unsigned long long)addr, start, end);
	if (m->magic != JBT_MANIFEST_MAGIC || m->nregions > JBT_MAX_REGIONS)
		return;
	for (u32 i = 0; i < m->nregions; i++)
		if (in_range(addr, m->region[i].addr, m->region[i].len))
			jbt_problem("%s 0x%08llx lies inside restored region %u (0x%llx+0x%llx)",
				    what, (unsigned long long)addr, i,
				    (unsigned long long)m->region[i].addr,
				    (unsigned long long)m->region[i].len);
}

static void mismatch_show(uintptr_t addr, u32 want, u32 got)
{
	if (mismatches_shown++ < MISMATCHES_SHOWN)
		jbt_printf("jbtest: mismatch at 0x%08llx: expected 0x%08x got 0x%08x\n",
			   (unsigned long long)addr, want, got);
}

/* Returns the number of mismatched words; *first gets the address of the first one. */
static uintptr_t region_compare(uintptr_t addr, uintptr_t words, u32 kind, u32 seed,
				uintptr_t *first)
{
	const volatile u32 *p = (const volatile u32 *)addr;
	uintptr_t bad = 0;

	for (uintptr_t i = 0; i < words; i++, addr += 4) {
		u32 want = kind == JBT_REGION_PATTERN ? pattern_word(seed, addr) : 0;
		u32 got = p[i];

		if (got != want) {
			if (bad++ == 0)
				*first = addr;
			mismatch_show(addr, want, got);
		}
	}
	return bad;
}

/* A region the payload cannot read whole, or that covers the payload, is a manifest bug. */
static bool region_usable(u32 i, const struct jbt_region *r)
{
	u64 start = (uintptr_t)jbt_payload_start, end = (uintptr_t)jbt_payload_end;

	if (r->kind != JBT_REGION_PATTERN && r->kind != JBT_REGION_ZERO)
		jbt_problem("manifest region %u: unknown kind %u", i, r->kind);
	else if (r->addr % 4 || r->len % 4)
		jbt_problem("manifest region %u: 0x%llx+0x%llx is not 4-byte aligned", i,
			    (unsigned long long)r->addr, (unsigned long long)r->len);
	else if (r->addr >= JBT_ADDR_LIMIT || r->len > JBT_ADDR_LIMIT - r->addr)
		jbt_problem("manifest region %u: 0x%llx+0x%llx reaches above " JBT_ADDR_LIMIT_TEXT,
			    i, (unsigned long long)r->addr, (unsigned long long)r->len);
	else if (r->addr < end && start < r->addr + r->len)
		jbt_problem("manifest region %u: 0x%llx+0x%llx overlaps the payload itself", i,
			    (unsigned long long)r->addr, (unsigned long long)r->len);
	else
		return true;
	return false;
}

u64 check_regions(const struct jbt_manifest *m)
{
	u64 checked = 0;

	for (u32 i = 0; i < m->nregions; i++) {
		const struct jbt_region *r = &m->region[i];
		const char *kind = r->kind == JBT_REGION_ZERO ? "zero" : "pattern";
		uintptr_t first = 0;

		if (!region_usable(i, r))
			continue;
		uintptr_t bad = region_compare((uintptr_t)r->addr, (uintptr_t)(r->len / 4),
					       r->kind, r->seed, &first);

		checked += r->len;
		if (bad)
			jbt_problem("region %u (0x%08llx+0x%llx, %s, seed 0x%08x): %llu of %llu words"
				    " differ, first at 0x%08llx",
				    i, (unsigned long long)r->addr, (unsigned long long)r->len, kind,
				    r->seed, (unsigned long long)bad,
				    (unsigned long long)(r->len / 4), (unsigned long long)first);
		else
			jbt_printf("jbtest: region %u ok: 0x%08llx+0x%llx %s seed 0x%08x\n", i,
				   (unsigned long long)r->addr, (unsigned long long)r->len, kind,
				   r->seed);
	}
	return checked;
}
