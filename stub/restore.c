/* Executes the restore plan (include/plan.h) against the disk, printing progress. */
#include "restore.h"

#include "checkq.h"
#include "console.h"
#include "errors.h"
#include "jbimage.h"
#include "physmem.h"
#include "smp.h"
#include "timer.h"

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

/*
 * Hashing segment data as it lands, one XXH64 per 16 MiB chunk of each segment's file data
 * (docs/image-format.md): ops of a segment come in file order (lib/plan.c), so the data of
 * one segment is fed front to back into the check queue (include/checkq.h), which the boot
 * CPU works through while the disk reads and hands whole chunks to the helper CPU.
 */
struct verify {
	const u64 *want; /* the hash table; NULL: no check */
	const struct elf_core *core;
	u64 base_byte;   /* the core's first byte on the disk */
	u32 sector_size; /* the disk's, for the LBAs in messages */
	u32 seg;         /* being hashed, or UINT32_MAX */
	u32 first;       /* the segment's first chunk in the table */
	u64 pos;         /* bytes of the segment's file data landed so far */
	struct checkq q;
};

static const struct checkq_ops verify_ops = {
	.hash = phys_hash,
	.helper_idle = smp_idle,
	.helper_post = smp_post,
	.helper_wait = smp_wait,
	.helper_timeout_ms = RESTORE_HELPER_TIMEOUT_MS,
};

/* The message for a failed check (rc from the queue). */
static int verify_error(const struct verify *v, int rc, struct jb_diag *d)
{
	const struct checkq *q = &v->q;
	const struct checkq_chunk *c = &q->bad;
	const struct elf_seg *s = &v->core->seg[c->seg];
	u64 disk = v->base_byte + s->offset;

	if (rc == -JB_ETIMEDOUT)
		return diag_fail(d, rc,
				 "segment %u chunk %u: the second CPU did not finish checking it in %u"
				 " ms; boot with nosmp to check on one CPU",
				 c->seg, c->k, RESTORE_HELPER_TIMEOUT_MS);
	if (rc != -JB_EMISMATCH)
		return diag_fail(d, rc, "internal: the check queue failed (%s)", jb_strerror(rc));
	return diag_fail(d, rc,
			 "segment %u (phdr %u) chunk %u (table entry %u)%s: data checksum mismatch in"
			 " bytes 0x%llx-0x%llx of the segment, physical 0x%llx-0x%llx, disk LBA"
			 " %llu-%llu (table 0x%016llx, read 0x%016llx); the image is damaged: write"
			 " it again",
			 c->seg, s->phdr_index, c->k, c->entry,
			 q->bad_by_helper ? ", checked by the second CPU" : "",
			 (unsigned long long)c->start, (unsigned long long)c->end,
			 (unsigned long long)(s->paddr + c->start),
			 (unsigned long long)(s->paddr + c->end),
			 (unsigned long long)((disk + c->start) / v->sector_size),
			 (unsigned long long)((disk + c->end - 1) / v->sector_size),
			 (unsigned long long)q->bad_want, (unsigned long long)q->bad_got);
}

/* The chunk that ends at v->pos is complete: into the queue with its table entry. */
static int verify_chunk_end(struct verify *v, struct jb_diag *d)
{
	u64 start = (v->pos - 1) / JBI_CHUNK_SIZE * JBI_CHUNK_SIZE;
	u32 k = (u32)(start / JBI_CHUNK_SIZE);
	struct checkq_chunk c = { v->seg, k, v->first + k, start, v->pos };
	int rc = checkq_close(&v->q, &c, v->want[c.entry]);

	return rc ? verify_error(v, rc, d) : 0;
}

/*
 * Feeds n bytes at physical addr, the segment's next file data, closing chunks on the way.
 * stable: they stay there until the restore ends, so their hashing may wait.
 */
static int verify_feed(struct verify *v, u64 addr, u32 n, bool stable, struct jb_diag *d)
{
	while (n) {
		u32 room = JBI_CHUNK_SIZE - (u32)(v->pos % JBI_CHUNK_SIZE);
		u32 k = n < room ? n : room;
		int rc = checkq_add(&v->q, addr, k, stable);

		if (rc)
			return verify_error(v, rc, d);
		v->pos += k;
		addr += k;
		n -= k;
		if (v->pos % JBI_CHUNK_SIZE == 0 && (rc = verify_chunk_end(v, d)))
			return rc;
	}
	return 0;
}

static int verify_finish(struct verify *v, struct jb_diag *d)
{
	if (!v->want || v->seg == UINT32_MAX)
		return 0;
	const struct elf_seg *s = &v->core->seg[v->seg];
	int rc = 0;

	if (v->pos != s->filesz)
		return diag_fail(d, -JB_EMISMATCH,
				 "internal: segment %u: 0x%llx of its 0x%llx bytes of file data were"
				 " read and checked",
				 v->seg, (unsigned long long)v->pos, (unsigned long long)s->filesz);
	if (v->pos % JBI_CHUNK_SIZE)
		rc = verify_chunk_end(v, d);
	v->seg = UINT32_MAX;
	return rc;
}

/* Starts hashing op's segment if it is a new one; its data must come in file order. */
static int verify_enter(struct verify *v, const struct plan_op *op, struct jb_diag *d)
{
	if (!v->want)
		return 0;
	if (op->seg != v->seg) {
		int rc = verify_finish(v, d);

		if (rc)
			return rc;
		v->seg = op->seg;
		v->pos = 0;
		v->first = 0;
		for (u32 i = 0; i < op->seg; i++)
			v->first += (u32)jbi_seg_chunks(v->core->seg[i].filesz);
	}
	if (op->file_off != v->core->seg[op->seg].offset + v->pos)
		return diag_fail(d, -JB_EMISMATCH,
				 "internal: segment %u's data at core offset 0x%llx comes out of order"
				 " (0x%llx bytes checked)",
				 op->seg, (unsigned long long)op->file_off,
				 (unsigned long long)v->pos);
	return 0;
}

/*
 * While read r is under way, the boot CPU checks what landed before, a slice at a time, and
 * looks at the disk between slices, so the next read starts as soon as this one lands.
 */
static int verify_while_reading(const struct restore_src *src, const struct disk_req *r,
				struct verify *v, struct jb_diag *d)
{
	u64 t0 = timer_now_us();
	int rc = 0;

	while (v->want && !disk_read_landed(src->dk, r) && (rc = checkq_step(&v->q)) > 0)
		;
	src->stats->hash_us += timer_now_us() - t0;
	return rc < 0 ? verify_error(v, rc, d) : 0;
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

/*
 * Sets up r for the op's next piece (at most RESTORE_CHUNK) and starts it: into place, or in
 * a dry run into the scratch slot that piece number `i` owns.
 */
static int piece_start(const struct restore_src *src, const struct plan_op *op, bool dryrun,
		       u32 i, u64 *started, struct disk_req *r, struct jb_diag *io)
{
	u64 left = op->len - *started;

	r->byte_off = src->base_byte + op->file_off + *started;
	r->dest = op->target + *started;
	if (dryrun)
		r->dest = src->scratch + (i % src->scratch_pieces) * (u64)RESTORE_DRYRUN_SLOT +
			  (r->dest & 4095);
	r->len = left < RESTORE_CHUNK ? left : RESTORE_CHUNK;
	/*
	 * A piece that does not finish the op ends on a block boundary of the disk, so the next
	 * one starts on one: only the op's first and last pieces have partial blocks, which the
	 * disk layer reads through its bounce buffer, one synchronous command each.
	 */
	if (r->len < left)
		r->len -= (r->byte_off + r->len) % src->dk->sector_size;
	*started += r->len;
	return disk_read_start(src->dk, r, io);
}

/*
 * Piece r has landed (stable: in place, not in a dry run's reused scratch): into the check
 * queue, and counted.
 */
static int piece_done(const struct disk_req *r, bool stable, struct progress *pr,
		      struct verify *v, struct restore_stats *st, struct jb_diag *d)
{
	u64 t0 = timer_now_us();
	int rc = v->want ? verify_feed(v, r->dest, (u32)r->len, stable, d) : 0;

	st->hash_us += timer_now_us() - t0;
	if (rc == 0)
		progress_add(pr, r->len);
	return rc;
}

/*
 * A placement read, piece by piece (RESTORE_CHUNK): while piece i+1 is on its way from the
 * disk, the boot CPU checks what landed before it (DESIGN.md §8), so a verified restore runs
 * at the pace of the slower of the two instead of their sum. One read is in flight at a time
 * (include/disk.h). A dry run with scratch RAM issues the very same reads into it.
 */
static int restore_read(const struct restore_src *src, const struct plan_op *op, bool dryrun,
			struct progress *pr, struct verify *v, struct jb_diag *d)
{
	struct disk_req req[2];
	struct jb_diag io; /* the disk layer's message, wrapped with the segment */
	u64 started = 0;
	struct disk_req *bad = &req[0]; /* the piece a disk error is about */
	int rc = piece_start(src, op, dryrun, 0, &started, bad, &io);

	for (u32 i = 0; rc == 0; i++) {
		struct disk_req *cur = &req[i & 1], *next = &req[(i + 1) & 1];
		bool more = started < op->len;

		bad = cur;
		rc = verify_while_reading(src, cur, v, d);
		if (rc) {
			disk_read_abandon(src->dk, cur);
			return rc;
		}
		u64 t0 = timer_now_us();

		rc = disk_read_finish(src->dk, cur, &io);
		src->stats->wait_us += timer_now_us() - t0;
		if (rc)
			break;
		bad = next;
		if (more && (rc = piece_start(src, op, dryrun, i + 1, &started, next, &io)))
			break;
		rc = piece_done(cur, !dryrun, pr, v, src->stats, d);
		if (rc && more)
			disk_read_abandon(src->dk, next);
		if (rc || !more)
			return rc;
	}
	return diag_fail(d, rc, "segment %u at 0x%llx: %s", op->seg,
			 (unsigned long long)(op->dest + bad->byte_off - src->base_byte -
					      op->file_off),
			 io.text);
}

static int restore_op(const struct restore_src *src, const struct plan_op *op, bool dryrun,
		      struct progress *pr, struct verify *v, struct jb_diag *d)
{
	u64 done = 0;
	bool data = op->kind == PLAN_READ || op->kind == PLAN_CHECK;
	int rc = data ? verify_enter(v, op, d) : 0;

	if (rc)
		return rc;
	if (op->kind == PLAN_READ && (!dryrun || src->scratch_pieces))
		return restore_read(src, op, dryrun, pr, v, d);
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
			if (v->want && (rc = verify_feed(v, to, n, false, d)))
				return rc;
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
					 " different data (0x%02x, earlier 0x%02x); the core is inconsistent:"
					 " write it again from kernel B's /proc/vmcore",
					 op->seg, (unsigned long long)(op->dest + done + diff),
					 restore_scratch[diff], got);
		if (diff < n)
			return diag_fail(d, -JB_EMISMATCH,
					 "segment %u zero-fills 0x%llx, where an earlier segment holds"
					 " data (0x%02x); the core is inconsistent: write it again from kernel"
					 " B's /proc/vmcore",
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
	struct verify v = { .want = src->chunk_hash, .core = src->core,
			    .base_byte = src->base_byte, .sector_size = src->dk->sector_size,
			    .seg = UINT32_MAX };
	int rc;

	checkq_init(&v.q, &verify_ops, src->helper);

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
	u64 t0 = timer_now_us();

	if (rc == 0 && v.want && (rc = checkq_drain(&v.q)))
		rc = verify_error(&v, rc, d);
	src->stats->hash_us += timer_now_us() - t0;
	src->stats->check = v.q.st;
	if (rc || !v.want)
		return rc;
	/* Every segment with file data must have been read and checked (it has chunks). */
	for (u32 s = 0; s < src->core->nseg; s++) {
		bool has_data = src->core->seg[s].filesz == 0;

		for (u32 i = 0; i < p->nops && !has_data; i++)
			has_data = p->op[i].seg == s &&
				   (p->op[i].kind == PLAN_READ || p->op[i].kind == PLAN_CHECK);
		if (!has_data)
			return diag_fail(d, -JB_EMISMATCH,
					 "internal: segment %u has 0x%llx bytes of file data, but none was read"
					 " and checked",
					 s, (unsigned long long)src->core->seg[s].filesz);
	}
	return 0;
}
