/*
 * The native virtio-blk driver (stub/virtio_blk.c, virtio 1.0 §4.1 and §5.2): modern and
 * transitional virtio-blk PCI devices, as disks counted in PCI order.
 */
#ifndef JB_VIRTIO_BLK_H
#define JB_VIRTIO_BLK_H

#include "diag.h"
#include "disk.h"
#include "types.h"

/* How many virtio-blk disks the machine has; 0 with why saying what was found instead. */
u32 virtio_blk_count(struct jb_diag *why);

/* Opens the index-th virtio-blk disk. One disk is open at a time: opening another stops
 * the previous one. */
int virtio_blk_open(u32 index, struct disk *out, struct jb_diag *d);

#endif
