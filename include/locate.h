/* Finding the image (DESIGN.md §3 resume=): a disk, a partition, an offset, or a scan. */
#ifndef JB_LOCATE_H
#define JB_LOCATE_H

#include "diag.h"
#include "disk.h"
#include "options.h"

struct image_loc {
	u64 base;       /* the image's first byte on the disk (resume_offset= need not be a whole
			   logical block on a 4096-byte-sector disk) */
	u64 bytes;      /* from there to the end of its partition or disk */
	bool uses_bios; /* read through int 13h: low memory stays live until the last read */
	char where[96]; /* "ahci:0 partition 2", for messages */
};

/*
 * Opens the disk that holds the image into dk and says where on it the image starts.
 * have_bios is false on UEFI machines: no int 13h to call.
 */
int locate_image(const struct jb_options *o, bool have_bios, struct disk *dk,
		 struct image_loc *loc, struct jb_diag *d);

#endif
