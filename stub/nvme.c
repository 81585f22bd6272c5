/* NVMe is not built into this jumpback yet: no disk of that kind is ever reported. */
#include "nvme.h"

u32 nvme_count(struct jb_diag *why)
{
	diag_fail(why, -JB_ENODEV, "no NVMe driver built");
	return 0;
}

int nvme_open(u32 index, struct disk *out, struct jb_diag *d)
{
	(void)out;
	return diag_fail(d, -JB_ENODEV, "no NVMe disk %u: no NVMe driver built", index);
}
