/* Carrying out a restore plan: reads, zero-fills and overlap checks, with a progress report. */
#ifndef JB_RESTORE_H
#define JB_RESTORE_H

#include "checkq.h"
#include "diag.h"
#include "disk.h"
#include "elfcore.h"
#include "plan.h"

struct restore_src {
	struct disk *dk;
	u64 base_byte; /* ELF core start on the disk, in bytes */
	/*
	 * The image's hash table (jumpback images): XXH64 of each 16 MiB chunk of each
	 * segment's file data, segments in order (docs/image-format.md); NULL to skip the check
	 */
	const u64 *chunk_hash;
	const struct elf_core *core;
	/*
	 * Dry run only: scratch_pieces * RESTORE_DRYRUN_SLOT bytes of free RAM (plan_hole) that
	 * the reads land in, in the restore's own pieces, piece i in slot i % scratch_pieces at
	 * the same offset in its 4 KiB page as its destination; scratch_pieces 0 reads through
	 * the stub's 512 KiB buffer instead.
	 */
	u64 scratch;
	u32 scratch_pieces;
	/* Filled in by restore_run: where the time of the pipelined reads went. */
	struct restore_stats *stats;
	/* The helper CPU runs (include/smp.h): it may check chunks of placement reads. */
	bool helper;
};

struct restore_stats {
	u64 hash_us;       /* checking pieces that had landed (XXH64), here or by the helper */
	u64 wait_us;       /* waiting for the disk with nothing left to check */
	struct checkq_stats check; /* the check queue's counts */
};

/* The longest the helper may take over one 16 MiB chunk before the restore gives up. */
#define RESTORE_HELPER_TIMEOUT_MS 10000u

/* Bytes per placement read: one disk command, hashed while the next one is read. */
#define RESTORE_CHUNK (16u << 20)
/*
 * A dry run's scratch, in pieces: at least the piece being hashed and the piece being read,
 * at most as many as the restore writes (each in RAM of its own, as in a restore).
 */
#define RESTORE_DRYRUN_MIN_PIECES 2u
#define RESTORE_DRYRUN_MAX_PIECES 256u
/*
 * A dry-run slot: a piece, placed at its destination's offset in a 4 KiB page, since DMA to
 * an address off a page boundary can cost more (QEMU bounces O_DIRECT reads there).
 */
#define RESTORE_DRYRUN_SLOT (RESTORE_CHUNK + 4096u)

/* Prints every operation of the plan (dry run, or for the record). */
void restore_print_plan(const struct plan *p);

/*
 * Runs the plan. With dryrun, every image byte is still read, with the same disk commands
 * as a restore when src->scratch_pieces is set (else through the stub's own buffer), but no byte
 * lands where the plan would place it and overlap checks are skipped. With
 * chunk_hash, every segment's data is hashed where it lands and compared at every 16 MiB
 * boundary of the segment's file data and at its end.
 */
int restore_run(const struct restore_src *src, const struct plan *p, bool dryrun,
		struct jb_diag *d);

#endif
