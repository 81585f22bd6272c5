/*
 * Helpers shared by test_part.c and the part_scan fuzz target: a disk in memory behind a
 * part_read_fn, and writers for MBR/EBR entries and GPT headers and entry arrays (UEFI spec
 * field offsets). No test framework here, so test/fuzz/ can include it too.
 */
#ifndef JB_DISK_HELPERS_H
#define JB_DISK_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "errors.h"
#include "part.h"
#include "unit_helpers.h"

#define SECTOR 512u

/* ---- a disk in memory ---- */

struct mem_disk {
	u8 *bytes;
	u64 sectors;        /* what the disk holds */
	size_t scratch_len; /* what part_scan was given, to check every read fits */
	u64 fail_lba[4];    /* a read touching one of these fails with fail_rc */
	u32 nfail;
	int fail_rc;
	u64 reads, sectors_read;
	bool bad_request;   /* a read went past the disk or past the scratch buffer */
};

static inline struct mem_disk *mem_disk_new(u64 sectors)
{
	struct mem_disk *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	m->bytes = calloc(sectors ? sectors : 1, SECTOR);
	if (!m->bytes)
		abort();
	m->sectors = sectors;
	m->fail_rc = -JB_EIO;
	return m;
}

static inline void mem_disk_free(struct mem_disk *m)
{
	free(m->bytes);
	free(m);
}

static inline void mem_disk_fail_at(struct mem_disk *m, u64 lba)
{
	if (m->nfail < JB_ARRAY_LEN(m->fail_lba))
		m->fail_lba[m->nfail++] = lba;
}

static inline int mem_disk_read(void *ctx, u64 lba, u32 count, void *buf, struct jb_diag *d)
{
	struct mem_disk *m = ctx;

	m->reads++;
	m->sectors_read += count;
	if (count == 0 || (u64)count * SECTOR > m->scratch_len) {
		m->bad_request = true;
		return diag_fail(d, -JB_EINVAL, "mem disk: read of %u sectors", count);
	}
	if (lba > m->sectors || count > m->sectors - lba) {
		m->bad_request = true;
		return diag_fail(d, -JB_ERANGE, "mem disk: LBA %llu+%u past the end",
				 (unsigned long long)lba, count);
	}
	for (u32 i = 0; i < m->nfail; i++)
		if (m->fail_lba[i] >= lba && m->fail_lba[i] - lba < count)
			return diag_fail(d, m->fail_rc, "mem disk: injected error at LBA %llu",
					 (unsigned long long)m->fail_lba[i]);
	memcpy(buf, m->bytes + lba * SECTOR, (size_t)count * SECTOR);
	return 0;
}

/* ---- MBR and EBR ---- */

#define MBR_SIG_OFF 440
#define MBR_ENTRY_OFF(i) (446 + 16 * (i))

static inline void mbr_put_entry(u8 *sector, u32 slot, u8 status, u8 type, u32 start, u32 sectors)
{
	u8 *p = sector + MBR_ENTRY_OFF(slot);

	memset(p, 0, 16);
	p[0] = status;
	p[4] = type;
	put32(p + 8, start);
	put32(p + 12, sectors);
}

static inline void mbr_put_boot_signature(u8 *sector)
{
	sector[510] = 0x55;
	sector[511] = 0xaa;
}

/* An EBR at sector: a logical partition relative to the EBR, a link relative to ext_start. */
static inline void ebr_put(u8 *sector, u8 type, u32 rel_start, u32 sectors, u32 link_rel,
			   u32 link_sectors)
{
	memset(sector, 0, SECTOR);
	if (type)
		mbr_put_entry(sector, 0, 0, type, rel_start, sectors);
	if (link_sectors)
		mbr_put_entry(sector, 1, 0, 0x05, link_rel, link_sectors);
	mbr_put_boot_signature(sector);
}

/* ---- GPT ---- */

#define GPT_HDR_SIZE 92u

struct gpt_layout {
	u64 disk_sectors;
	u32 count, esize;
	u64 primary_array, backup_array, backup_header;
	u64 first_usable, last_usable;
	u8 disk_guid[16];
	u32 block; /* gpt_put_header's logical block size; 0: SECTOR */
};

static inline u64 gpt_array_sectors(const struct gpt_layout *l)
{
	return ((u64)l->count * l->esize + SECTOR - 1) / SECTOR;
}

/* The usual layout: header at 1, array at 2, the backup array and header at the disk's end. */
static inline void gpt_layout_init(struct gpt_layout *l, u64 disk_sectors, u32 count, u32 esize)
{
	memset(l, 0, sizeof(*l));
	l->disk_sectors = disk_sectors;
	l->count = count;
	l->esize = esize;
	l->primary_array = 2;
	l->backup_header = disk_sectors - 1;
	l->backup_array = l->backup_header - gpt_array_sectors(l);
	l->first_usable = l->primary_array + gpt_array_sectors(l);
	l->last_usable = l->backup_array - 1;
	for (u32 i = 0; i < 16; i++)
		l->disk_guid[i] = (u8)(0xd0 + i);
}

/* A GUID in GPT byte order from its text fields (first three little-endian). */
static inline void guid_make(u8 *g, u32 a, u16 b, u16 c, u64 rest)
{
	put32(g, a);
	put16(g + 4, b);
	put16(g + 6, c);
	for (int i = 0; i < 8; i++)
		g[8 + i] = (u8)(rest >> (56 - 8 * i));
}

/* Writes entry `index` into both arrays; name is UTF-16 code units, nunits of them (<= 36). */
static inline void gpt_put_entry(u8 *disk, const struct gpt_layout *l, u32 index, const u8 *type,
				 const u8 *uuid, u64 first, u64 last, const u16 *name, u32 nunits)
{
	u64 arrays[2] = { l->primary_array, l->backup_array };

	for (int k = 0; k < 2; k++) {
		u8 *e = disk + arrays[k] * SECTOR + (u64)index * l->esize;

		memset(e, 0, l->esize);
		memcpy(e, type, 16);
		memcpy(e + 16, uuid, 16);
		put64(e + 32, first);
		put64(e + 40, last);
		for (u32 i = 0; i < nunits && i < 36; i++)
			put16(e + 56 + 2 * i, name[i]);
	}
}

/* Recomputes the header CRC over its HeaderSize (taken as 92 when out of range for a
 * block of bs bytes). */
static inline void gpt_fix_header_crc_bs(u8 *h, u32 bs)
{
	u32 size = h[12] | h[13] << 8 | h[14] << 16 | (u32)h[15] << 24;

	if (size < GPT_HDR_SIZE || size > bs)
		size = GPT_HDR_SIZE;
	put32(h + 16, 0);
	put32(h + 16, crc32_update(0, h, size));
}

static inline void gpt_fix_header_crc(u8 *h)
{
	gpt_fix_header_crc_bs(h, SECTOR);
}

/* Writes a header at my_lba describing the array at array_lba, with both CRCs. */
static inline void gpt_put_header(u8 *disk, const struct gpt_layout *l, u64 my_lba, u64 alt_lba,
				  u64 array_lba)
{
	u32 bs = l->block ? l->block : SECTOR;
	u8 *h = disk + my_lba * bs;

	memset(h, 0, bs);
	memcpy(h, "EFI PART", 8);
	put32(h + 8, 0x00010000);
	put32(h + 12, GPT_HDR_SIZE);
	put64(h + 24, my_lba);
	put64(h + 32, alt_lba);
	put64(h + 40, l->first_usable);
	put64(h + 48, l->last_usable);
	memcpy(h + 56, l->disk_guid, 16);
	put64(h + 72, array_lba);
	put32(h + 80, l->count);
	put32(h + 84, l->esize);
	put32(h + 88, crc32_update(0, disk + array_lba * bs, (size_t)l->count * l->esize));
	gpt_fix_header_crc_bs(h, bs);
}

/* A protective MBR and both headers (write the entries first). */
static inline void gpt_seal(u8 *disk, const struct gpt_layout *l)
{
	u64 n = l->disk_sectors - 1;

	memset(disk, 0, SECTOR);
	mbr_put_entry(disk, 0, 0, 0xee, 1, n > 0xffffffffu ? 0xffffffffu : (u32)n);
	mbr_put_boot_signature(disk);
	gpt_put_header(disk, l, 1, l->backup_header, l->primary_array);
	gpt_put_header(disk, l, l->backup_header, 1, l->backup_array);
}

/*
 * For fuzzing: makes the CRCs of the header at lba, and of the array it names, right again
 * after a mutation, reading the (possibly garbage) fields with every bound checked; LBAs
 * count blocks of bs bytes.
 */
static inline void gpt_fix_crcs_bs(u8 *disk, size_t len, u64 lba, u32 bs)
{
	if (lba >= len / bs)
		return;
	u8 *h = disk + lba * bs;
	u64 array_lba = 0;
	u32 count = h[80] | h[81] << 8 | h[82] << 16 | (u32)h[83] << 24;
	u32 esize = h[84] | h[85] << 8 | h[86] << 16 | (u32)h[87] << 24;
	u64 bytes = (u64)count * esize;

	for (int i = 7; i >= 0; i--)
		array_lba = array_lba << 8 | h[72 + i];
	if (array_lba < len / bs && bytes <= len - array_lba * bs)
		put32(h + 88, crc32_update(0, disk + array_lba * bs, (size_t)bytes));
	gpt_fix_header_crc_bs(h, bs);
}

static inline void gpt_fix_crcs(u8 *disk, size_t len, u64 lba)
{
	gpt_fix_crcs_bs(disk, len, lba, SECTOR);
}

#endif
