/* Carrying out a restore plan: reads, zero-fills and overlap checks, with a progress report. */
#ifndef JB_RESTORE_H
#define JB_RESTORE_H

#include "diag.h"
#include "disk.h"
#include "plan.h"

struct restore_src {
	struct disk *dk;
	u64 base_byte; /* ELF core start on the disk, in bytes */
	/* jbhash64 of each segment's data (jumpback images), NULL to skip the check */
	const u64 *seg_hash;
	u32 nseg;
};

/* Prints every operation of the plan (dry run, or for the record). */
void restore_print_plan(const struct plan *p);

/*
 * Runs the plan. With dryrun, every image byte is still read (through the stub's own
 * buffer) but no RAM outside the stub is written and overlap checks are skipped. With
 * seg_hash, every segment's data is hashed where it lands and compared.
 */
int restore_run(const struct restore_src *src, const struct plan *p, bool dryrun,
		struct jb_diag *d);

#endif
