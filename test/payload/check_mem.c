/*
 * Check mode, part 2: every 32-bit word of every manifest region holds what was saved:
 * pattern_word(seed, address) for PATTERN regions (include/pattern.h), 0 for ZERO regions.
 */
#include "pattern.h"
#include "payload.h"

#define ADDR_LIMIT_32 (1ull << 32)
#define MISMATCHES_SHOWN 8 /* lines of detail; the count covers the rest */

static u32 mismatches_shown;

static void mismatch_show(u32 addr, u32 want, u32 got)
{
	if (mismatches_shown++ < MISMATCHES_SHOWN)
		jbt_printf("jbtest: mismatch at 0x%08x: expected 0x%08x got 0x%08x\n", addr, want,
			   got);
}

/* Returns the number of mismatched words; *first gets the address of the first one. */
static u32 region_compare(u32 addr, u32 words, u32 kind, u32 seed, u32 *first)
{
	const volatile u32 *p = (const volatile u32 *)(uintptr_t)addr;
	u32 bad = 0;

	for (u32 i = 0; i < words; i++, addr += 4) {
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
	else if (r->addr >= ADDR_LIMIT_32 || r->len > ADDR_LIMIT_32 - r->addr)
		jbt_problem("manifest region %u: 0x%llx+0x%llx reaches above 4 GiB, which a"
			    " 32-bit payload without paging cannot read",
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
		u32 first = 0;

		if (!region_usable(i, r))
			continue;
		u32 bad = region_compare((u32)r->addr, (u32)(r->len / 4), r->kind, r->seed, &first);

		checked += r->len;
		if (bad)
			jbt_problem("region %u (0x%08x+0x%x, %s, seed 0x%08x): %u of %u words"
				    " differ, first at 0x%08x",
				    i, (u32)r->addr, (u32)r->len, kind, r->seed, bad,
				    (u32)(r->len / 4), first);
		else
			jbt_printf("jbtest: region %u ok: 0x%08x+0x%x %s seed 0x%08x\n", i,
				   (u32)r->addr, (u32)r->len, kind, r->seed);
	}
	return checked;
}
