/* Executes the restore plan (include/plan.h) against the disk, printing progress. */
#include "restore.h"

#include "console.h"
#include "physmem.h"

/* Image bytes compared against RAM (overlap checks) or read in a dry run pass through here. */
#define RESTORE_SCRATCH_SIZE (512u * 1024u)
#define RESTORE_PROGRESS_STEPS 10u

static u8 restore_scratch[RESTORE_SCRATCH_SIZE] __attribute__((aligned(4096)));

static const char *const plan_op_names[] = {
	[PLAN_READ] = "read",
	[PLAN_ZERO] = "zero",
	[PLAN_CHECK] = "check",
	[PLAN_CHECK_ZERO] = "check-zero",
};

void restore_print_plan(const struct plan *p)
{
	for (u32 i = 0; i < p->nops; i++) {
		const struct plan_op *op = &p->op[i];

		kprintf("  %-10s seg %-3u 0x%010llx-0x%010llx", plan_op_names[op->kind], op->seg,
			(unsigned long long)op->dest, (unsigned long long)(op->dest + op->len));
		if (op->kind == PLAN_READ || op->kind == PLAN_CHECK)
			kprintf(" <- image 0x%llx", (unsigned long long)op->file_off);
		if (op->target != op->dest)
			kprintf(" (staged at 0x%llx)", (unsigned long long)op->target);
		kprintf("\n");
	}
	for (u32 i = 0; i < p->ncopies; i++)
		kprintf("  final copy 0x%010llx-0x%010llx <- staged 0x%llx\n",
			(unsigned long long)p->copy[i].dst,
			(unsigned long long)(p->copy[i].dst + p->copy[i].len),
			(unsigned long long)p->copy[i].src);
	kprintf("  final stage at 0x%llx\n", (unsigned long long)p->final_at);
}

/* Hashing segment data as it lands: ops of a segment come in file order (lib/plan.c). */
struct verify {
	const u64 *want; /* NULL: no check */
	u32 nseg;
	u32 seg; /* being hashed, or UINT32_MAX */
	struct jbhash h;
};

static int verify_finish(struct verify *v, struct jb_diag *d)
{
	if (!v->want || v->seg == UINT32_MAX)
		return 0;
	u64 got = jbhash_final(&v->h);
	u32 seg = v->seg;

	v->seg = UINT32_MAX;
	if (got == v->want[seg])
		return 0;
	return diag_fail(d, -JB_EMISMATCH,
			 "segment %u: data checksum mismatch (header 0x%016llx, read 0x%016llx);"
			 " the image was damaged or changed after it was written",
			 seg, (unsigned long long)v->want[seg], (unsigned long long)got);
}

/* Starts hashing op's segment if it is a new one. */
static int verify_enter(struct verify *v, u32 seg, struct jb_diag *d)
{
	if (!v->want || seg == v->seg)
		return 0;
	int rc = verify_finish(v, d);

	if (rc)
		return rc;
	v->seg = seg;
	jbhash_init(&v->h);
	return 0;
}

struct progress {
	u64 total;
	u64 done;
	u32 step;
};

static void progress_add(struct progress *pr, u64 bytes)
{
	pr->done += bytes;
	u32 step = (u32)(pr->done * RESTORE_PROGRESS_STEPS / pr->total);

	if (step <= pr->step)
		return;
	pr->step = step;
	char bar[RESTORE_PROGRESS_STEPS + 1];

	for (u32 i = 0; i < RESTORE_PROGRESS_STEPS; i++)
		bar[i] = i < step ? '#' : '.';
	bar[RESTORE_PROGRESS_STEPS] = '\0';
	kprintf("[%s] %3u%% %llu of %llu MiB\n", bar, step * (100 / RESTORE_PROGRESS_STEPS),
		(unsigned long long)(pr->done >> 20), (unsigned long long)(pr->total >> 20));
}

/* Chunk size for progress reporting on large direct reads. */
#define RESTORE_CHUNK (16u << 20)

static int restore_op(const struct restore_src *src, const struct plan_op *op, bool dryrun,
		      struct progress *pr, struct verify *v, struct jb_diag *d)
{
	u64 done = 0;
	bool data = op->kind == PLAN_READ || op->kind == PLAN_CHECK;
	int rc = data ? verify_enter(v, op->seg, d) : 0;

	if (rc)
		return rc;
	struct jb_diag io; /* the disk layer's message, wrapped with the segment */

	while (done < op->len) {
		u64 left = op->len - done;
		u64 target = op->target + done;
		u64 file = src->base_byte + op->file_off + done;
		/* Dry runs and checks read into the scratch buffer, placement reads go to target. */
		bool to_scratch = dryrun || op->kind == PLAN_CHECK;
		u64 chunk = to_scratch ? RESTORE_SCRATCH_SIZE : RESTORE_CHUNK;
		u32 n = left < chunk ? (u32)left : (u32)chunk;
		u32 diff = n;
		u8 got = 0;

		if (op->kind == PLAN_READ || op->kind == PLAN_CHECK) {
			u64 to = to_scratch ? (uintptr_t)restore_scratch : target;
			rc = disk_read_bytes(src->dk, file, to, n, &io);
			if (rc)
				return diag_fail(d, rc, "segment %u at 0x%llx: %s", op->seg,
						 (unsigned long long)(op->dest + done), io.text);
			if (v->want)
				phys_hash(&v->h, to, n);
		}
		if (!dryrun) {
			if (op->kind == PLAN_ZERO)
				phys_zero(target, n);
			else if (op->kind == PLAN_CHECK)
				diff = phys_compare(target, restore_scratch, n, &got);
			else if (op->kind == PLAN_CHECK_ZERO)
				diff = phys_compare(target, NULL, n, &got);
		}
		if (diff < n && op->kind == PLAN_CHECK)
			return diag_fail(d, -JB_EMISMATCH,
					 "segment %u overlaps an earlier segment at 0x%llx but holds"
					 " different data (0x%02x, earlier 0x%02x)",
					 op->seg, (unsigned long long)(op->dest + done + diff),
					 restore_scratch[diff], got);
		if (diff < n)
			return diag_fail(d, -JB_EMISMATCH,
					 "segment %u zero-fills 0x%llx, where an earlier segment holds"
					 " data (0x%02x)",
					 op->seg, (unsigned long long)(op->dest + done + diff), got);
		done += n;
		progress_add(pr, n);
	}
	return 0;
}

int restore_run(const struct restore_src *src, const struct plan *p, bool dryrun,
		struct jb_diag *d)
{
	struct progress pr = { 0 };
	struct verify v = { .want = src->seg_hash, .nseg = src->nseg, .seg = UINT32_MAX };
	struct jbhash empty;
	int rc;

	for (u32 i = 0; i < p->nops; i++)
		pr.total += p->op[i].len;
	if (pr.total == 0)
		pr.total = 1;
	for (u32 i = 0; i < p->nops; i++) {
		rc = restore_op(src, &p->op[i], dryrun, &pr, &v, d);
		if (rc)
			return rc;
	}
	rc = verify_finish(&v, d);
	if (rc || !v.want)
		return rc;
	/* A segment with no file data was never entered: its hash is that of nothing. */
	jbhash_init(&empty);
	for (u32 s = 0; s < v.nseg; s++) {
		bool has_data = false;

		for (u32 i = 0; i < p->nops && !has_data; i++)
			has_data = p->op[i].seg == s &&
				   (p->op[i].kind == PLAN_READ || p->op[i].kind == PLAN_CHECK);
		if (!has_data && v.want[s] != jbhash_final(&empty))
			return diag_fail(d, -JB_EMISMATCH,
					 "segment %u has no file data but its header checksum is"
					 " 0x%016llx",
					 s, (unsigned long long)v.want[s]);
	}
	return 0;
}
