/*
 * Disk layer: bounded retries, range checks, and byte-granular reads over sector drivers of
 * 512- or 4096-byte logical blocks (dk->sector_size; the bounce buffer holds whole blocks).
 */
#include "disk.h"

#include "console.h"
#include "physmem.h"

#define DISK_BOUNCE_SIZE (512u * 1024u)

static u8 disk_bounce[DISK_BOUNCE_SIZE] __attribute__((aligned(4096)));

static int disk_range_check(const struct disk *dk, const char *what, u64 lba, u32 count,
			    struct jb_diag *d)
{
	if (lba > dk->sectors || count > dk->sectors - lba)
		return diag_fail(d, -JB_ERANGE,
				 "%s: %s of %u sectors at LBA %llu passes the end of the disk"
				 " (%llu sectors)",
				 dk->name, what, count, (unsigned long long)lba,
				 (unsigned long long)dk->sectors);
	return 0;
}

static void disk_retry_note(const struct jb_diag *d, u32 attempt)
{
	kprintf("warning: %s (attempt %u of %u)\n", d->text, attempt, DISK_READ_TRIES);
}

/* The last attempt failed too: the message says so and what to do (docs/errors.md). */
static int disk_give_up(struct jb_diag *d, int rc)
{
	struct jb_diag last = *d;

	return diag_fail(d, rc,
			 "%s; tried %u times: the disk fails there, check its health and cabling,"
			 " or write the image to another disk",
			 last.text, DISK_READ_TRIES);
}

/* Attempts `first` to DISK_READ_TRIES of a synchronous read. */
static int disk_read_tries(struct disk *dk, u64 lba, u32 count, u64 phys, u32 first,
			   struct jb_diag *d)
{
	int rc = 0;

	for (u32 attempt = first; rc == 0; attempt++) {
		rc = dk->ops->read(dk, lba, count, phys, d);
		if (rc && attempt == DISK_READ_TRIES)
			return disk_give_up(d, rc);
		if (rc == 0)
			return rc;
		disk_retry_note(d, attempt);
		rc = 0;
	}
	return rc;
}

int disk_read_sectors(struct disk *dk, u64 lba, u32 count, u64 phys, struct jb_diag *d)
{
	int rc = disk_range_check(dk, "read", lba, count, d);

	return rc ? rc : disk_read_tries(dk, lba, count, phys, 1, d);
}

int disk_write_sectors(struct disk *dk, u64 lba, u32 count, const void *buf, struct jb_diag *d)
{
	int rc = disk_range_check(dk, "write", lba, count, d);

	if (rc == 0 && !dk->ops->write)
		return diag_fail(d, -JB_EUNSUPPORTED, "%s: the driver cannot write", dk->name);
	for (u32 attempt = 1; rc == 0; attempt++) {
		rc = dk->ops->write(dk, lba, count, buf, d);
		if (rc && attempt == DISK_READ_TRIES)
			return disk_give_up(d, rc);
		if (rc == 0)
			return rc;
		disk_retry_note(d, attempt);
		rc = 0;
	}
	return rc;
}

/* Reads [byte_off, +len) through the bounce buffer, one buffer-full at a time. */
static int disk_read_bounced(struct disk *dk, u64 byte_off, u64 dest, u64 len, struct jb_diag *d)
{
	u32 bs = dk->sector_size;

	while (len) {
		u64 lba = byte_off / bs;
		u32 skip = (u32)(byte_off % bs);
		u64 want = skip + len;
		u32 max = DISK_BOUNCE_SIZE / bs < dk->max_sectors ? DISK_BOUNCE_SIZE
								   : dk->max_sectors * bs;
		u32 span = want < max ? (u32)want : max;
		u32 count = (span + bs - 1) / bs;
		int rc = disk_read_sectors(dk, lba, count, (uintptr_t)disk_bounce, d);

		if (rc)
			return rc;
		u32 take = span - skip;

		phys_write(dest, disk_bounce + skip, take);
		byte_off += take;
		dest += take;
		len -= take;
	}
	return 0;
}

int disk_read_bytes(struct disk *dk, u64 byte_off, u64 dest, u64 len, struct jb_diag *d)
{
	int rc;
	u32 bs = dk->sector_size;
	u32 head = (u32)((bs - byte_off % bs) % bs);

	if (head > len)
		head = (u32)len;
	if (head) {
		rc = disk_read_bounced(dk, byte_off, dest, head, d);
		if (rc)
			return rc;
		byte_off += head;
		dest += head;
		len -= head;
	}
	u64 whole = len / bs;
	bool direct = dk->dma_align && (dest & (dk->dma_align - 1)) == 0 &&
		      dest + whole * bs <= dk->dma_limit;

	if (!direct)
		return disk_read_bounced(dk, byte_off, dest, len, d);
	while (whole) {
		u32 count = whole < dk->max_sectors ? (u32)whole : dk->max_sectors;

		rc = disk_read_sectors(dk, byte_off / bs, count, dest, d);
		if (rc)
			return rc;
		byte_off += (u64)count * bs;
		dest += (u64)count * bs;
		len -= (u64)count * bs;
		whole -= count;
	}
	return len ? disk_read_bounced(dk, byte_off, dest, len, d) : 0;
}

/*
 * The whole sectors of r, which go to the driver as one command when it reaches them by DMA;
 * the partial sectors at either end go through the bounce buffer (disk_read_bytes).
 */
static bool disk_req_middle(const struct disk *dk, const struct disk_req *r, u64 *lba,
			    u32 *count, u64 *dest)
{
	u32 bs = dk->sector_size;
	u64 head = (bs - r->byte_off % bs) % bs;
	u64 whole = r->len > head ? (r->len - head) / bs : 0;

	*lba = (r->byte_off + head) / bs;
	*count = (u32)whole;
	*dest = r->dest + head;
	return dk->ops->read_submit && whole && whole <= dk->max_sectors && dk->dma_align &&
	       (*dest & (dk->dma_align - 1)) == 0 &&
	       *dest + whole * bs <= dk->dma_limit;
}

int disk_read_start(struct disk *dk, struct disk_req *r, struct jb_diag *d)
{
	u64 lba, dest;
	u32 count;

	r->queued = false;
	if (!disk_req_middle(dk, r, &lba, &count, &dest))
		return disk_read_bytes(dk, r->byte_off, r->dest, r->len, d);
	u64 head = dest - r->dest, mid = (u64)count * dk->sector_size;
	int rc = disk_range_check(dk, "read", lba, count, d);

	if (rc == 0 && head)
		rc = disk_read_bytes(dk, r->byte_off, r->dest, head, d);
	if (rc == 0 && head + mid < r->len)
		rc = disk_read_bytes(dk, r->byte_off + head + mid, dest + mid, r->len - head - mid, d);
	if (rc)
		return rc;
	dk->ops->read_submit(dk, lba, count, dest);
	r->queued = true;
	return 0;
}

bool disk_read_landed(struct disk *dk, const struct disk_req *r)
{
	return !r->queued || dk->ops->read_ready(dk);
}

int disk_read_finish(struct disk *dk, struct disk_req *r, struct jb_diag *d)
{
	u64 lba, dest;
	u32 count;

	if (!r->queued)
		return 0;
	r->queued = false;
	int rc = dk->ops->read_wait(dk, d);

	if (rc == 0)
		return 0;
	disk_retry_note(d, 1);
	disk_req_middle(dk, r, &lba, &count, &dest);
	return disk_read_tries(dk, lba, count, dest, 2, d);
}

void disk_read_abandon(struct disk *dk, struct disk_req *r)
{
	struct jb_diag ignored;

	if (r->queued)
		dk->ops->read_wait(dk, &ignored);
	r->queued = false;
}

void disk_quiesce(struct disk *dk)
{
	if (dk && dk->ops && dk->ops->quiesce)
		dk->ops->quiesce(dk);
}
