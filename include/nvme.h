/*
 * The native NVMe driver (stub/nvme.c, NVM Express base specification 1.4): every namespace
 * of every NVMe controller on the PCI bus, as disks counted in PCI order, then NSID order.
 */
#ifndef JB_NVME_H
#define JB_NVME_H

#include "diag.h"
#include "disk.h"
#include "types.h"

/* How many NVMe namespaces the machine has; 0 with why saying what was found instead. */
u32 nvme_count(struct jb_diag *why);

/* Opens the index-th namespace as a disk. One disk is open at a time: opening another
 * stops the previous one. */
int nvme_open(u32 index, struct disk *out, struct jb_diag *d);

#endif
