/*
 * Restore planning (DESIGN.md §4): validate every PT_LOAD destination, stage what falls on
 * the stub's live ranges in holes, then emit reads, zero-fills and overlap checks in segment
 * order, and the final copies that bring staged bytes home. Pure.
 */
#include "plan.h"

/* Adds [add.start, add.end) to a sorted, merged set of ranges with room for one more. */
static void covered_add(struct mem_range *r, u32 *n, struct mem_range add)
{
	u32 i = 0;

	while (i < *n && r[i].end < add.start)
		i++;
	u32 j = i; /* absorb every range that overlaps or touches add */

	while (j < *n && r[j].start <= add.end) {
		if (r[j].start < add.start)
			add.start = r[j].start;
		if (r[j].end > add.end)
			add.end = r[j].end;
		j++;
	}
	u32 removed = j - i;

	if (removed == 0) {
		for (u32 k = *n; k > i; k--)
			r[k] = r[k - 1];
		(*n)++;
	} else {
		for (u32 k = i + 1; k + removed - 1 < *n; k++)
			r[k] = r[k + removed - 1];
		*n -= removed - 1;
	}
	r[i] = add;
}

static u64 max_u64(u64 a, u64 b)
{
	return a > b ? a : b;
}

static u64 min_u64(u64 a, u64 b)
{
	return a < b ? a : b;
}

static u64 align_up(u64 v, u64 a)
{
	return (v + a - 1) & ~(a - 1);
}

/* ---- staging and the final stage's hole --------------------------------------------- */

/* Is [start, end) free: usable RAM below the limit, no destination, no live range? */
static bool hole_free(const struct plan_input *in, const struct plan *p, u64 start, u64 end)
{
	if (end > in->stage_limit || !ram_map_contains(in->ram, start, end))
		return false;
	for (u32 i = 0; i < p->ncovered; i++)
		if (start < p->covered[i].end && p->covered[i].start < end)
			return false;
	for (u32 i = 0; i < in->nlive; i++)
		if (start < in->live[i].end && in->live[i].start < end)
			return false;
	for (u32 i = 0; i < p->nstages; i++) {
		u64 at = p->stage[i].at, at_end = at + (p->stage[i].end - p->stage[i].start);

		if (start < at_end && at < end)
			return false;
	}
	return true;
}

/*
 * First fit, lowest address at or above 1 MiB first (low memory is precious to firmware and
 * to later BIOS calls), then below. Candidates are the starts of RAM ranges and the ends of
 * everything that blocks; returns false when nothing fits.
 */
static bool hole_find(const struct plan_input *in, const struct plan *p, u64 size, u64 *at)
{
	u64 best = UINT64_MAX;

	for (u32 pass = 0; pass < 2 && best == UINT64_MAX; pass++) {
		for (u32 k = 0;; k++) {
			u64 cand;
			u32 nram = in->ram->n, ncov = p->ncovered, nlive = in->nlive;

			if (k < nram)
				cand = in->ram->r[k].start;
			else if (k < nram + ncov)
				cand = p->covered[k - nram].end;
			else if (k < nram + ncov + nlive)
				cand = in->live[k - nram - ncov].end;
			else if (k < nram + ncov + nlive + p->nstages)
				cand = p->stage[k - nram - ncov - nlive].at +
				       (p->stage[k - nram - ncov - nlive].end -
					p->stage[k - nram - ncov - nlive].start);
			else if (k == nram + ncov + nlive + p->nstages)
				cand = 1ull << 20; /* where one RAM range runs on across 1 MiB */
			else
				break;
			cand = align_up(cand, PLAN_HOLE_ALIGN);
			if ((pass == 0) != (cand >= (1ull << 20)) || cand >= best)
				continue;
			if (size > in->stage_limit || cand > in->stage_limit - size)
				continue;
			if (hole_free(in, p, cand, cand + size))
				best = cand;
		}
	}
	*at = best;
	return best != UINT64_MAX;
}

/* The first segment whose destination meets [start, end), for messages. */
static u32 segment_meeting(const struct elf_core *core, u64 start, u64 end)
{
	for (u32 i = 0; i < core->nseg; i++)
		if (core->seg[i].paddr < end && start < core->seg[i].paddr + core->seg[i].memsz)
			return i;
	return 0;
}

static int plan_stage_live(const struct plan_input *in, struct plan *p, struct jb_diag *d)
{
	for (u32 k = 0; k < in->nlive; k++) {
		const struct live_range *l = &in->live[k];
		u64 lo = UINT64_MAX, hi = 0;

		for (u32 i = 0; i < p->ncovered; i++) {
			if (p->covered[i].end <= l->start || p->covered[i].start >= l->end)
				continue;
			lo = min_u64(lo, max_u64(p->covered[i].start, l->start));
			hi = max_u64(hi, min_u64(p->covered[i].end, l->end));
		}
		if (lo >= hi)
			continue;
		if (p->nstages == PLAN_MAX_LIVE)
			return diag_fail(d, -JB_ETOOBIG, "the image covers more than %u live ranges",
					 PLAN_MAX_LIVE);
		u64 at;

		if (!hole_find(in, p, hi - lo, &at)) {
			u32 seg = segment_meeting(in->core, lo, hi);

			return diag_fail(d, -JB_ELIVE,
					 "segment %u (0x%llx-0x%llx) covers the %s (0x%llx-0x%llx) and no"
					 " free hole of %llu KiB is left below 0x%llx to stage it in; leave"
					 " kernel B's window, where jumpback loads, out of the snapshot",
					 seg, (unsigned long long)in->core->seg[seg].paddr,
					 (unsigned long long)(in->core->seg[seg].paddr +
							      in->core->seg[seg].memsz),
					 l->name, (unsigned long long)l->start,
					 (unsigned long long)l->end, (unsigned long long)((hi - lo) >> 10),
					 (unsigned long long)in->stage_limit);
		}
		p->stage[p->nstages++] = (struct plan_stage){ lo, hi, at, k };
	}
	return 0;
}

/*
 * Final copies: every covered part of every staged range, from its staging copy. Last stage
 * first: where live ranges overlap, plan_emit wrote a byte to the first stage holding it, so
 * that stage's copy must come last.
 */
static int plan_final_copies(struct plan *p, struct jb_diag *d)
{
	for (u32 s = p->nstages; s-- > 0;) {
		const struct plan_stage *st = &p->stage[s];

		for (u32 i = 0; i < p->ncovered; i++) {
			u64 lo = max_u64(p->covered[i].start, st->start);
			u64 hi = min_u64(p->covered[i].end, st->end);

			if (lo >= hi)
				continue;
			if (p->ncopies == PLAN_MAX_COPIES)
				return diag_fail(d, -JB_ETOOBIG,
						 "more than %u separate pieces to copy over the live ranges",
						 PLAN_MAX_COPIES);
			p->copy[p->ncopies++] = (struct plan_copy){ st->at + (lo - st->start), lo, hi - lo };
			p->bytes_staged += hi - lo;
		}
	}
	return 0;
}

/* ---- operations ------------------------------------------------------------------------- */

static int plan_emit_one(struct plan *p, enum plan_op_kind kind, u32 seg, u64 dest, u64 target,
			 u64 file_off, u64 len, struct jb_diag *d)
{
	if (len == 0)
		return 0;
	if (p->nops == PLAN_MAX_OPS)
		return diag_fail(d, -JB_ETOOBIG, "segment %u: the plan needs more than %u operations",
				 seg, PLAN_MAX_OPS);
	p->op[p->nops++] = (struct plan_op){ kind, seg, dest, target, file_off, len };
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

/* Emits [dest, +len), split where it enters or leaves a staged range. */
static int plan_emit(struct plan *p, enum plan_op_kind kind, u32 seg, u64 dest, u64 file_off,
		     u64 len, struct jb_diag *d)
{
	while (len) {
		u64 piece = len, target = dest;

		for (u32 s = 0; s < p->nstages; s++) {
			const struct plan_stage *st = &p->stage[s];

			if (dest >= st->start && dest < st->end) {
				piece = min_u64(piece, st->end - dest); /* up to an earlier stage's start */
				target = st->at + (dest - st->start);
				break;
			}
			if (st->start > dest)
				piece = min_u64(piece, st->start - dest);
		}
		int rc = plan_emit_one(p, kind, seg, dest, target, file_off, piece, d);

		if (rc)
			return rc;
		dest += piece;
		file_off += piece;
		len -= piece;
	}
	return 0;
}

/*
 * Emits [start, end) of one segment: parts no earlier segment wrote get `fresh`, parts
 * already written get `covered`. file_base is the file offset matching `start` (data parts).
 */
static int plan_part(struct plan *p, const struct mem_range *w, u32 nw, u32 seg, u64 start,
		     u64 end, u64 file_base, enum plan_op_kind fresh, enum plan_op_kind covered,
		     struct jb_diag *d)
{
	u64 pos = start;
	int rc;

	for (u32 i = 0; i < nw && pos < end; i++) {
		if (w[i].end <= pos || w[i].start >= end)
			continue;
		if (w[i].start > pos) {
			rc = plan_emit(p, fresh, seg, pos, file_base + (pos - start), w[i].start - pos, d);
			if (rc)
				return rc;
			pos = w[i].start;
		}
		u64 stop = min_u64(w[i].end, end);

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
				 " reach; restore it with a build that reaches that far",
				 i, (unsigned long long)start, (unsigned long long)end,
				 (unsigned long long)in->addr_limit);
	if (!ram_map_contains(in->ram, start, end))
		return diag_fail(d, -JB_ENOTRAM,
				 "segment %u (0x%llx-0x%llx) is not inside usable RAM of this machine's"
				 " memory map (not usable RAM now, or the VGA hole, ROM or MMIO); resume"
				 " on the machine the snapshot was taken on, with the same RAM",
				 i, (unsigned long long)start, (unsigned long long)end);
	return 0;
}

static int plan_operations(const struct plan_input *in, struct plan *p, struct jb_diag *d)
{
	/* Destinations written so far; the array lives on in p->covered once all are added. */
	struct mem_range *written = p->covered;
	u32 nwritten = 0;

	p->ncovered = 0;

	for (u32 i = 0; i < in->core->nseg; i++) {
		const struct elf_seg *s = &in->core->seg[i];
		u64 data_end = s->paddr + s->filesz, end = s->paddr + s->memsz;
		int rc = plan_part(p, written, nwritten, i, s->paddr, data_end, s->offset, PLAN_READ,
				   PLAN_CHECK, d);

		if (rc)
			return rc;
		rc = plan_part(p, written, nwritten, i, data_end, end, 0, PLAN_ZERO, PLAN_CHECK_ZERO, d);
		if (rc)
			return rc;
		covered_add(written, &nwritten, (struct mem_range){ s->paddr, end });
	}
	p->ncovered = nwritten;
	return 0;
}

int plan_build(const struct plan_input *in, struct plan *out, struct jb_diag *d)
{
	int rc;

	out->nops = out->nstages = out->ncopies = out->ncovered = 0;
	out->bytes_read = out->bytes_zero = out->bytes_checked = out->bytes_staged = 0;
	out->final_at = 0;
	for (u32 i = 0; i < in->core->nseg; i++) {
		const struct elf_seg *s = &in->core->seg[i];

		rc = plan_check_segment(in, i, d);
		if (rc)
			return rc;
		covered_add(out->covered, &out->ncovered, (struct mem_range){ s->paddr, s->paddr + s->memsz });
	}
	rc = plan_stage_live(in, out, d);
	if (rc)
		return rc;
	if (in->final_size && !hole_find(in, out, in->final_size, &out->final_at))
		return diag_fail(d, -JB_ELIVE,
				 "no free hole of %llu KiB below 0x%llx for the final copier and"
				 " hand-off: the image covers nearly all RAM; leave kernel B's window out"
				 " of the snapshot",
				 (unsigned long long)(in->final_size >> 10),
				 (unsigned long long)in->stage_limit);
	rc = plan_final_copies(out, d);
	if (rc)
		return rc;
	/* plan_part needs "written before this segment": rebuild the union segment by segment. */
	return plan_operations(in, out, d);
}

bool plan_hole(const struct plan_input *in, const struct plan *p, u64 size, u64 *at)
{
	return hole_find(in, p, size, at);
}
