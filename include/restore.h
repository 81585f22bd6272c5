/* Carrying out a restore plan: reads, zero-fills and overlap checks, with a progress report. */
#ifndef JB_RESTORE_H
#define JB_RESTORE_H

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
};

/* Prints every operation of the plan (dry run, or for the record). */
void restore_print_plan(const struct plan *p);

/*
 * Runs the plan. With dryrun, every image byte is still read (through the stub's own
 * buffer) but no RAM outside the stub is written and overlap checks are skipped. With
 * chunk_hash, every segment's data is hashed where it lands and compared at every 16 MiB
 * boundary of the segment's file data and at its end.
 */
int restore_run(const struct restore_src *src, const struct plan *p, bool dryrun,
		struct jb_diag *d);

#endif
