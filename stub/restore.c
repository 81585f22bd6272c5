/* Executes the restore plan (include/plan.h) against the disk, printing progress. */
#include "restore.h"

#include "console.h"
#include "cpu.h"

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

		if (op->kind == PLAN_READ || op->kind == PLAN_CHECK)
			kprintf("  %-10s seg %-3u 0x%010llx-0x%010llx <- image 0x%llx\n",
				plan_op_names[op->kind], op->seg, (unsigned long long)op->dest,
				(unsigned long long)(op->dest + op->len),
				(unsigned long long)op->file_off);
		else
			kprintf("  %-10s seg %-3u 0x%010llx-0x%010llx\n", plan_op_names[op->kind],
				op->seg, (unsigned long long)op->dest,
				(unsigned long long)(op->dest + op->len));
	}
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
		      struct progress *pr, struct jb_diag *d)
{
	u64 done = 0;
	struct jb_diag io; /* the disk layer's message, wrapped with the segment */

	while (done < op->len) {
		u64 left = op->len - done;
		u64 dest = op->dest + done;
		u64 file = src->base_byte + op->file_off + done;
		u32 n;
		int rc = 0;

		switch (op->kind) {
		case PLAN_READ:
			if (dryrun) {
				n = left < RESTORE_SCRATCH_SIZE ? (u32)left : RESTORE_SCRATCH_SIZE;
				rc = disk_read_bytes(src->dk, file, (uintptr_t)restore_scratch, n, &io);
			} else {
				n = left < RESTORE_CHUNK ? (u32)left : RESTORE_CHUNK;
				rc = disk_read_bytes(src->dk, file, dest, n, &io);
			}
			break;
		case PLAN_ZERO:
			n = left < RESTORE_CHUNK ? (u32)left : RESTORE_CHUNK;
			if (!dryrun)
				zero_bytes((void *)(uintptr_t)dest, n);
			break;
		case PLAN_CHECK:
			n = left < RESTORE_SCRATCH_SIZE ? (u32)left : RESTORE_SCRATCH_SIZE;
			rc = disk_read_bytes(src->dk, file, (uintptr_t)restore_scratch, n, &io);
			if (rc == 0 && !dryrun) {
				const u8 *ram = (const u8 *)(uintptr_t)dest;

				for (u32 i = 0; i < n; i++)
					if (ram[i] != restore_scratch[i])
						return diag_fail(
							d, -JB_EMISMATCH,
							"segment %u overlaps an earlier segment at 0x%llx"
							" but holds different data (0x%02x, earlier 0x%02x)",
							op->seg, (unsigned long long)(dest + i),
							restore_scratch[i], ram[i]);
			}
			break;
		case PLAN_CHECK_ZERO:
		default:
			n = left < RESTORE_CHUNK ? (u32)left : RESTORE_CHUNK;
			if (!dryrun) {
				const u8 *ram = (const u8 *)(uintptr_t)dest;

				for (u32 i = 0; i < n; i++)
					if (ram[i])
						return diag_fail(
							d, -JB_EMISMATCH,
							"segment %u zero-fills 0x%llx, where an earlier"
							" segment holds data (0x%02x)",
							op->seg, (unsigned long long)(dest + i), ram[i]);
			}
			break;
		}
		if (rc)
			return diag_fail(d, rc, "segment %u at 0x%llx: %s", op->seg,
					 (unsigned long long)dest, io.text);
		done += n;
		progress_add(pr, n);
	}
	return 0;
}

int restore_run(const struct restore_src *src, const struct plan *p, bool dryrun,
		struct jb_diag *d)
{
	struct progress pr = { 0 };

	for (u32 i = 0; i < p->nops; i++)
		pr.total += p->op[i].len;
	if (pr.total == 0)
		pr.total = 1;
	for (u32 i = 0; i < p->nops; i++) {
		int rc = restore_op(src, &p->op[i], dryrun, &pr, d);

		if (rc)
			return rc;
	}
	return 0;
}
