/* virtio-blk is not built into this jumpback: no disk of that kind is ever reported. */
#include "virtio_blk.h"

u32 virtio_blk_count(struct jb_diag *why)
{
	diag_fail(why, -JB_ENODEV, "no virtio-blk driver built");
	return 0;
}

int virtio_blk_open(u32 index, struct disk *out, struct jb_diag *d)
{
	(void)out;
	return diag_fail(d, -JB_ENODEV, "no virtio-blk disk %u: no virtio-blk driver built", index);
}
