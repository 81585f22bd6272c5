/* The usable-RAM map: union of usable firmware entries minus the reserved ones. Pure. */
#include "plan.h"

static void range_sort(struct mem_range *r, u32 n)
{
	for (u32 i = 1; i < n; i++) {
		struct mem_range key = r[i];
		u32 j = i;

		for (; j > 0 && r[j - 1].start > key.start; j--)
			r[j] = r[j - 1];
		r[j] = key;
	}
}

/* Sorts and merges overlapping or touching ranges in place; returns the new count. */
static u32 range_merge(struct mem_range *r, u32 n)
{
	u32 out = 0;

	range_sort(r, n);
	for (u32 i = 0; i < n; i++) {
		if (out && r[i].start <= r[out - 1].end) {
			if (r[i].end > r[out - 1].end)
				r[out - 1].end = r[i].end;
		} else {
			r[out++] = r[i];
		}
	}
	return out;
}

/* Removes [cut.start, cut.end) from the sorted ranges; returns the new count or -1 when full. */
static int range_subtract(struct mem_range *r, u32 n, u32 cap, struct mem_range cut)
{
	for (u32 i = 0; i < n; i++) {
		if (cut.end <= r[i].start || cut.start >= r[i].end)
			continue;
		bool keep_low = r[i].start < cut.start;
		bool keep_high = r[i].end > cut.end;

		if (keep_low && keep_high) {
			if (n == cap)
				return -1;
			for (u32 j = n; j > i + 1; j--)
				r[j] = r[j - 1];
			r[i + 1] = (struct mem_range){ cut.end, r[i].end };
			r[i].end = cut.start;
			n++;
			i++;
		} else if (keep_low) {
			r[i].end = cut.start;
		} else if (keep_high) {
			r[i].start = cut.end;
		} else {
			for (u32 j = i; j + 1 < n; j++)
				r[j] = r[j + 1];
			n--;
			i--;
		}
	}
	return (int)n;
}

static bool entry_range(const struct mem_entry *e, struct mem_range *r)
{
	if (e->len == 0)
		return false;
	r->start = e->start;
	r->end = e->start + e->len < e->start ? UINT64_MAX : e->start + e->len;
	return r->start < r->end; /* clamping at UINT64_MAX can leave nothing */
}

int ram_map_build(const struct mem_entry *e, u32 n, struct ram_map *out, struct jb_diag *d)
{
	struct mem_range r;

	out->n = 0;
	for (u32 i = 0; i < n; i++) {
		if (e[i].type != MEM_TYPE_USABLE || !entry_range(&e[i], &r))
			continue;
		if (out->n == RAM_MAX_RANGES)
			return diag_fail(d, -JB_ETOOBIG, "memory map has more than %u usable entries",
					 RAM_MAX_RANGES);
		out->r[out->n++] = r;
	}
	out->n = range_merge(out->r, out->n);
	for (u32 i = 0; i < n; i++) {
		if (e[i].type == MEM_TYPE_USABLE || !entry_range(&e[i], &r))
			continue;
		int left = range_subtract(out->r, out->n, RAM_MAX_RANGES, r);

		if (left < 0)
			return diag_fail(d, -JB_ETOOBIG, "memory map splits into more than %u ranges",
					 RAM_MAX_RANGES);
		out->n = (u32)left;
	}
	if (out->n == 0)
		return diag_fail(d, -JB_EMEMMAP, "the memory map lists no usable RAM");
	return 0;
}

bool ram_map_contains(const struct ram_map *ram, u64 start, u64 end)
{
	for (u32 i = 0; i < ram->n; i++)
		if (start >= ram->r[i].start && end <= ram->r[i].end)
			return true;
	return false;
}
