/*
 * Restore planning (DESIGN.md §4): validate every PT_LOAD destination, then emit reads,
 * zero-fills and overlap checks in segment order. Pure.
 */
#include "plan.h"

/* Destinations already written by earlier segments: sorted, merged. */
struct written_set {
	u32 n;
	struct mem_range r[ELFCORE_MAX_SEGS + 1];
};

static void written_add(struct written_set *w, struct mem_range add)
{
	u32 i = 0;

	while (i < w->n && w->r[i].end < add.start)
		i++;
	/* Absorb every range that overlaps or touches add. */
	u32 j = i;

	while (j < w->n && w->r[j].start <= add.end) {
		if (w->r[j].start < add.start)
			add.start = w->r[j].start;
		if (w->r[j].end > add.end)
			add.end = w->r[j].end;
		j++;
	}
	u32 removed = j - i;

	if (removed == 0) {
		for (u32 k = w->n; k > i; k--)
			w->r[k] = w->r[k - 1];
		w->n++;
	} else {
		for (u32 k = i + 1; k + removed - 1 < w->n; k++)
			w->r[k] = w->r[k + removed - 1];
		w->n -= removed - 1;
	}
	w->r[i] = add;
}

static int plan_emit(struct plan *p, enum plan_op_kind kind, u32 seg, u64 dest, u64 file_off,
		     u64 len, struct jb_diag *d)
{
	if (len == 0)
		return 0;
	if (p->nops == PLAN_MAX_OPS)
		return diag_fail(d, -JB_ETOOBIG, "segment %u: the plan needs more than %u operations",
				 seg, PLAN_MAX_OPS);
	p->op[p->nops++] = (struct plan_op){ kind, seg, dest, file_off, len };
	switch (kind) {
	case PLAN_READ:
		p->bytes_read += len;
		break;
	case PLAN_ZERO:
		p->bytes_zero += len;
		break;
	case PLAN_CHECK:
		p->bytes_read += len;
		p->bytes_checked += len;
		break;
	case PLAN_CHECK_ZERO:
		p->bytes_checked += len;
		break;
	}
	return 0;
}

/*
 * Emits [start, end) of one segment: parts no earlier segment wrote get `fresh`, parts
 * already written get `covered`. file_base is the file offset matching `start` (data parts).
 */
static int plan_part(struct plan *p, const struct written_set *w, u32 seg, u64 start, u64 end,
		     u64 file_base, enum plan_op_kind fresh, enum plan_op_kind covered,
		     struct jb_diag *d)
{
	u64 pos = start;
	int rc;

	for (u32 i = 0; i < w->n && pos < end; i++) {
		if (w->r[i].end <= pos || w->r[i].start >= end)
			continue;
		if (w->r[i].start > pos) {
			rc = plan_emit(p, fresh, seg, pos, file_base + (pos - start), w->r[i].start - pos,
				       d);
			if (rc)
				return rc;
			pos = w->r[i].start;
		}
		u64 stop = w->r[i].end < end ? w->r[i].end : end;

		rc = plan_emit(p, covered, seg, pos, file_base + (pos - start), stop - pos, d);
		if (rc)
			return rc;
		pos = stop;
	}
	return plan_emit(p, fresh, seg, pos, file_base + (pos - start), end - pos, d);
}

static int plan_check_segment(const struct plan_input *in, u32 i, struct jb_diag *d)
{
	const struct elf_seg *s = &in->core->seg[i];
	u64 start = s->paddr, end = s->paddr + s->memsz;

	if (end > in->addr_limit)
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "segment %u (0x%llx-0x%llx) ends above 0x%llx, which this build cannot"
				 " reach yet",
				 i, (unsigned long long)start, (unsigned long long)end,
				 (unsigned long long)in->addr_limit);
	if (!ram_map_contains(in->ram, start, end))
		return diag_fail(d, -JB_ENOTRAM,
				 "segment %u (0x%llx-0x%llx) is not inside usable RAM of this machine's"
				 " memory map; was the snapshot taken on another machine or with more RAM?",
				 i, (unsigned long long)start, (unsigned long long)end);
	for (u32 k = 0; k < in->nlive; k++) {
		const struct live_range *l = &in->live[k];

		if (start < l->end && l->start < end)
			return diag_fail(d, -JB_ELIVE,
					 "segment %u (0x%llx-0x%llx) overlaps the %s (0x%llx-0x%llx);"
					 " load jumpback elsewhere",
					 i, (unsigned long long)start, (unsigned long long)end, l->name,
					 (unsigned long long)l->start, (unsigned long long)l->end);
	}
	return 0;
}

int plan_build(const struct plan_input *in, struct plan *out, struct jb_diag *d)
{
	static struct written_set written;
	int rc;

	out->nops = 0;
	out->bytes_read = out->bytes_zero = out->bytes_checked = 0;
	written.n = 0;
	for (u32 i = 0; i < in->core->nseg; i++) {
		const struct elf_seg *s = &in->core->seg[i];
		u64 data_end = s->paddr + s->filesz, end = s->paddr + s->memsz;

		rc = plan_check_segment(in, i, d);
		if (rc)
			return rc;
		rc = plan_part(out, &written, i, s->paddr, data_end, s->offset, PLAN_READ, PLAN_CHECK,
			       d);
		if (rc)
			return rc;
		rc = plan_part(out, &written, i, data_end, end, 0, PLAN_ZERO, PLAN_CHECK_ZERO, d);
		if (rc)
			return rc;
		written_add(&written, (struct mem_range){ s->paddr, end });
	}
	return 0;
}
