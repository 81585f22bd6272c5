/* The BIOS disk driver (stub/disk_bios.c): any disk the firmware can read via int 13h. */
#ifndef JB_DISK_BIOS_H
#define JB_DISK_BIOS_H

#include "diag.h"
#include "disk.h"

/* Opens BIOS drive `drive` (0x80 = first hard disk); needs bios_init() first. */
int bios_disk_open(u8 drive, struct disk *out, struct jb_diag *d);

/* How many hard disks (0x80, 0x81, ...) the BIOS reports in its data area. */
u32 bios_hard_disks(void);

#endif
