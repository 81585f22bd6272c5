/*
 * Partition tables: MBR (primaries, EBR chains of logical partitions) and GPT (UEFI spec,
 * "GUID Partition Table (GPT) Disk Layout"), read through a caller's sector callback. Numbers
 * and PARTUUIDs follow Linux, so resume=ahci:0:5 and resume=PARTUUID=... mean what they mean
 * to Linux (DESIGN.md §3). Pure.
 */
#ifndef JB_PART_H
#define JB_PART_H

#include "diag.h"
#include "types.h"

#define PART_MAX 128
#define PART_SECTOR_SIZE 512u
#define PART_SECTOR_SIZE_4K 4096u
/* A GPT name is 36 UTF-16 code units; as UTF-8 that is at most 108 bytes, plus the NUL. */
#define PART_LABEL_SIZE 109
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and its NUL; an MBR PARTUUID is shorter. */
#define PART_UUID_TEXT_SIZE 37
/* disk_sectors for a disk whose size is unknown: no backup GPT at the end to fall back to. */
#define PART_DISK_SIZE_UNKNOWN UINT64_MAX

struct part {
	u32 number; /* as Linux numbers them: MBR primaries 1-4, logicals 5, 6, ... in EBR chain
		       order; GPT: entry index + 1 */
	u64 first_lba;
	u64 sectors; /* > 0; first_lba + sectors <= the disk's sectors */
	bool gpt;
	u8 mbr_type;      /* MBR partition type byte; 0 for GPT */
	u8 type_guid[16]; /* GPT partition type GUID as stored on disk; zero for MBR */
	u8 uuid[16];      /* GPT unique partition GUID as stored on disk; zero for MBR */
	char label[PART_LABEL_SIZE]; /* GPT name, UTF-16LE converted to UTF-8; "" for MBR */
};

struct part_table {
	bool has_table; /* LBA 0 holds an MBR or a protective MBR (false: no table, n = 0) */
	bool gpt;
	u32 mbr_signature;    /* MBR disk signature (offset 440); 0 for GPT */
	u8 disk_guid[16];     /* GPT disk GUID as stored on disk */
	bool used_backup_gpt; /* the primary GPT was damaged or unreadable */
	u32 n;
	struct part part[PART_MAX]; /* in number order */
};

/* Reads count logical blocks at lba into buf; 0 or -JB_E* (the caller's disk layer). */
typedef int (*part_read_fn)(void *ctx, u64 lba, u32 count, void *buf, struct jb_diag *d);

/*
 * Reads the partition table of a disk of disk_sectors logical blocks of sector_size bytes (512
 * or 4096; PART_DISK_SIZE_UNKNOWN if the size is unknown). LBAs count in those blocks: the MBR
 * is in the first 512 bytes of LBA 0, a GPT header at LBA 1 (byte 4096 on a 4Kn disk). scratch
 * (at least one block; 16 KiB reads a usual GPT entry array in one call) receives the reads; a
 * read never asks for more blocks than scratch holds, nor for blocks past disk_sectors.
 *
 * A disk without the 0x55AA signature at LBA 0, or whose LBA 0 is not a partition table
 * (an ELF header, boot flags other than 0x00/0x80), has no table: out->n = 0 and 0 is
 * returned, since such a disk may hold a raw image. A protective MBR (type 0xEE) means GPT:
 * the primary at LBA 1, else the backup. Partitions that do not lie inside the disk (and for
 * GPT inside the usable LBAs, for logicals inside their extended partition) are left out;
 * their numbers stay taken. A broken EBR chain ends the chain.
 *
 * Returns 0 with d->text empty, or 0 with d->text holding a warning (backup GPT used,
 * partitions left out, chain cut short) for the caller to show; or a negative code with d
 * naming what is wrong and where: -JB_EBADIMG (no valid GPT), -JB_ETOOBIG (more than
 * PART_MAX partitions), -JB_EINVAL (scratch too small), or the callback's read error;
 * then out->n is 0.
 */
int part_scan(part_read_fn read, void *ctx, u64 disk_sectors, u32 sector_size, u8 *scratch,
	      size_t scratch_len, struct part_table *out, struct jb_diag *d);

/* The partition with this number, or NULL. */
const struct part *part_by_number(const struct part_table *t, u32 number);

/* The first partition whose PARTUUID (part_uuid_text) equals text, ignoring case; or NULL. */
const struct part *part_by_uuid(const struct part_table *t, const char *text);

/* The first GPT partition whose name is exactly label (UTF-8); NULL for "" or no match. */
const struct part *part_by_label(const struct part_table *t, const char *label);

/*
 * Writes p's PARTUUID as Linux shows it (/dev/disk/by-partuuid, blkid): GPT, the unique
 * partition GUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lowercase; MBR, "ssssssss-nn", the
 * disk signature and the partition number in lowercase hex. Returns 0, or -JB_EINVAL (out
 * set to "" when size > 0) if size is too small (PART_UUID_TEXT_SIZE always suffices).
 */
int part_uuid_text(const struct part_table *t, const struct part *p, char *out, size_t size);

/* Writes a GUID stored in GPT byte order as lowercase text; size >= PART_UUID_TEXT_SIZE. */
int part_guid_text(const u8 *guid, char *out, size_t size);

#endif
