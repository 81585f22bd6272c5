/* The disk layer: a driver-neutral sector device, and byte-granular reads on top of it. */
#ifndef JB_DISK_H
#define JB_DISK_H

#include "diag.h"
#include "types.h"

/* The unit of resume_offset= and of partition-table probes; logical blocks are 512 or 4096. */
#define DISK_SECTOR_SIZE 512u
#define DISK_BLOCK_MAX 4096u /* the largest logical block the disk layer handles */
/* Attempts per request before a read error is final (DESIGN.md §6). */
#define DISK_READ_TRIES 3u

struct disk;

struct disk_ops {
	/* Reads count logical blocks ("sectors") at lba into physical memory at phys; 0 or -JB_E*. */
	int (*read)(struct disk *dk, u64 lba, u32 count, u64 phys, struct jb_diag *d);
	/* Writes count sectors from buf (in the stub, below 4 GiB) to lba; 0 or -JB_E*. */
	int (*write)(struct disk *dk, u64 lba, u32 count, const void *buf, struct jb_diag *d);
	/*
	 * Optional, a read that runs while the CPU works: read_submit starts it and returns,
	 * read_wait finishes it (0 or -JB_E*). One at a time, and no other call in between.
	 */
	void (*read_submit)(struct disk *dk, u64 lba, u32 count, u64 phys);
	int (*read_wait)(struct disk *dk, struct jb_diag *d);
	/* Whether read_wait would return at once (the read finished, or failed); no waiting. */
	bool (*read_ready)(struct disk *dk);
	/* Stops all device DMA so nothing can write into kernel A after the hand-off. */
	void (*quiesce)(struct disk *dk);
};

struct disk {
	char name[32];
	u64 sectors;       /* capacity in logical blocks ("sectors") of sector_size bytes */
	u32 sector_size;   /* logical block size: 512 or 4096 bytes */
	u32 max_sectors;   /* per read call */
	u32 dma_align;     /* destination alignment for direct reads (power of two) */
	u64 dma_limit;     /* direct reads must end at or below this address */
	const struct disk_ops *ops;
	void *priv;
};

/* Reads whole sectors, retrying DISK_READ_TRIES times; a read past the end is -JB_ERANGE. */
int disk_read_sectors(struct disk *dk, u64 lba, u32 count, u64 phys, struct jb_diag *d);

/* Writes whole sectors from buf (at most max_sectors), with the same retries and checks. */
int disk_write_sectors(struct disk *dk, u64 lba, u32 count, const void *buf, struct jb_diag *d);

/*
 * Reads disk bytes [byte_off, byte_off + len) to physical address dest. Partial sectors and
 * destinations the driver cannot reach directly go through the bounce buffer; the rest is
 * read by DMA straight into place.
 */
int disk_read_bytes(struct disk *dk, u64 byte_off, u64 dest, u64 len, struct jb_diag *d);

/*
 * A read of disk bytes [byte_off, byte_off + len) to physical address dest that may run
 * between disk_read_start and disk_read_finish while the CPU does something else. One such
 * read at a time, and no other disk call until it is finished (or abandoned).
 */
struct disk_req {
	u64 byte_off;
	u64 dest;
	u64 len;
	bool queued; /* its whole sectors are with the driver */
};

/*
 * Starts r: its whole sectors, when the driver can reach them by DMA in one command, are
 * submitted; partial sectors at either end, and anything else, are read synchronously
 * (disk_read_bytes) here. 0 or -JB_E*.
 */
int disk_read_start(struct disk *dk, struct disk_req *r, struct jb_diag *d);

/*
 * Whether r has landed, or failed, so that disk_read_finish will not wait; it does not wait
 * itself, so the caller can work while the disk reads.
 */
bool disk_read_landed(struct disk *dk, const struct disk_req *r);

/* Waits for r; an error is retried synchronously like disk_read_sectors. 0 or -JB_E*. */
int disk_read_finish(struct disk *dk, struct disk_req *r, struct jb_diag *d);

/* Waits for r without retries, on the way out of an error: no DMA outlives the caller. */
void disk_read_abandon(struct disk *dk, struct disk_req *r);

/* Stops the device's DMA; called before the hand-off. */
void disk_quiesce(struct disk *dk);

#endif
