/*
 * resume= forms: ahci:N, nvme:N, virtio:N (each [:PART]), bios:0xDRIVE[:PART], PARTUUID=,
 * PARTLABEL=, auto. A scan looks at every disk the chosen driver reaches (with driver=auto,
 * every native disk of every kind, the BIOS's only when there is no native one) and at each
 * partition's start for an ELF core.
 */
#include "locate.h"

#include "ahci.h"
#include "bios.h"
#include "console.h"
#include "disk_bios.h"
#include "elf.h"
#include "fmt.h"
#include "jbimage.h"
#include "nvme.h"
#include "le.h"
#include "part.h"
#include "virtio_blk.h"

#define SCAN_MAX_DISKS 40
#define SCAN_SEEN_SIZE 480
#define PART_SCRATCH_SIZE (16u * 1024u)

enum disk_kind { DISK_AHCI, DISK_NVME, DISK_VIRTIO, DISK_BIOS };

struct disk_id {
	enum disk_kind kind;
	u32 unit; /* index among the disks of its kind, or BIOS drive */
};

/* The native drivers, in scan order: a new driver is one entry here. */
static const struct native_driver {
	enum disk_kind kind;
	const char *name;
	enum jb_resume_kind resume;
	enum jb_driver driver;
	u32 (*count)(struct jb_diag *why);
	int (*open)(u32 index, struct disk *out, struct jb_diag *d);
} natives[] = {
	{ DISK_AHCI, "ahci", RESUME_AHCI, DRIVER_AHCI, ahci_count, ahci_open },
	{ DISK_NVME, "nvme", RESUME_NVME, DRIVER_NVME, nvme_count, nvme_open },
	{ DISK_VIRTIO, "virtio", RESUME_VIRTIO, DRIVER_VIRTIO, virtio_blk_count, virtio_blk_open },
};

static const struct native_driver *native_of(enum disk_kind kind)
{
	for (u32 i = 0; i < JB_ARRAY_LEN(natives); i++)
		if (natives[i].kind == kind)
			return &natives[i];
	return NULL;
}

static struct part_table ptab;
static u8 part_scratch[PART_SCRATCH_SIZE] __attribute__((aligned(512)));
static u8 probe_sector[DISK_SECTOR_SIZE] __attribute__((aligned(512)));

/* Partition tables count in the disk's logical blocks (GPT on a 4Kn disk: LBA 1 = byte 4096). */
static int part_read(void *ctx, u64 lba, u32 count, void *buf, struct jb_diag *d)
{
	struct disk *dk = ctx;

	return disk_read_bytes(dk, lba * dk->sector_size, (uintptr_t)buf,
			       (u64)count * dk->sector_size, d);
}

/*
 * Opens the disk id names into dk. The device of a disk of another kind opened before is
 * stopped first, so that only the one device in use ever runs DMA of ours.
 */
static int disk_open_id(struct disk_id id, struct disk *dk, struct jb_diag *d)
{
	static struct disk last; /* the last disk opened, and its kind */
	static enum disk_kind last_kind;
	const struct native_driver *nd = native_of(id.kind);
	int rc;

	if (last.ops && last_kind != id.kind) {
		disk_quiesce(&last);
		last.ops = NULL;
	}
	if (nd) {
		rc = nd->open(id.unit, dk, d);
	} else {
		bios_init();
		rc = bios_disk_open((u8)id.unit, dk, d);
	}
	if (rc == 0) {
		last = *dk;
		last_kind = id.kind;
		/* The disk layer and the partition code handle these two block sizes only. */
		if (dk->sector_size != DISK_SECTOR_SIZE && dk->sector_size != DISK_BLOCK_MAX)
			rc = diag_fail(d, -JB_EUNSUPPORTED,
				       "%s: the driver reports logical blocks of %u bytes (512 or 4096"
				       " expected)",
				       dk->name, dk->sector_size);
	}
	return rc;
}

static int table_read(struct disk *dk, struct jb_diag *d)
{
	struct jb_diag note = { "" };
	int rc = part_scan(part_read, dk, dk->sectors, dk->sector_size, part_scratch,
			   sizeof(part_scratch), &ptab, &note);

	if (rc)
		return diag_fail(d, rc,
				 "%s: %s; repair the partition table, or name the whole disk (no :PART)"
				 " with resume_offset=",
				 dk->name, note.text);
	if (note.text[0])
		kprintf("warning: %s: %s\n", dk->name, note.text);
	return 0;
}

/*
 * The image window: a partition (number > 0) or the whole disk, from resume_offset on (in
 * 512-byte units whatever the disk's logical block size).
 */
static int window_set(const struct jb_options *o, struct disk *dk, const struct part *p,
		      struct image_loc *loc, struct jb_diag *d)
{
	u64 first = p ? p->first_lba : 0, blocks = p ? p->sectors : dk->sectors;
	u64 size = blocks * dk->sector_size, skip = o->resume_offset * DISK_SECTOR_SIZE;

	if (skip >= size)
		return diag_fail(d, -JB_ERANGE,
				 "resume_offset=%llu is past the end of %s (%llu 512-byte sectors)",
				 (unsigned long long)o->resume_offset, loc->where,
				 (unsigned long long)(size / DISK_SECTOR_SIZE));
	loc->base = first * dk->sector_size + skip;
	loc->bytes = size - skip;
	return 0;
}

static void where_set(struct image_loc *loc, const struct disk *dk, const struct part *p)
{
	if (p)
		fmt_buf(loc->where, sizeof(loc->where), "%s partition %u", dk->name, p->number);
	else
		fmt_buf(loc->where, sizeof(loc->where), "%s", dk->name);
}

static int locate_on_disk(const struct jb_options *o, struct disk_id id, struct disk *dk,
			  struct image_loc *loc, struct jb_diag *d)
{
	const struct part *p = NULL;
	int rc = disk_open_id(id, dk, d);

	if (rc)
		return rc;
	loc->uses_bios = id.kind == DISK_BIOS;
	if (o->resume_part) {
		rc = table_read(dk, d);
		if (rc)
			return rc;
		p = part_by_number(&ptab, o->resume_part);
		if (!p)
			return diag_fail(d, -JB_ENODEV,
					 "%s has no partition %u (%s table with %u partitions); name one"
					 " of its partitions, or the whole disk without :PART",
					 dk->name, o->resume_part,
					 !ptab.has_table ? "no" : ptab.gpt ? "a GPT" : "an MBR", ptab.n);
	}
	where_set(loc, dk, p);
	return window_set(o, dk, p, loc, d);
}

static const char *driver_name(enum jb_driver driver)
{
	for (u32 i = 0; i < JB_ARRAY_LEN(natives); i++)
		if (natives[i].driver == driver)
			return natives[i].name;
	return driver == DRIVER_BIOS ? "bios" : "auto";
}

/* The disks a scan looks at: every native one, or the BIOS's when there are none (or asked). */
static u32 scan_disks(const struct jb_options *o, bool have_bios, struct disk_id *ids,
		      struct jb_diag *d)
{
	u32 n = 0;
	char why[200] = "";
	size_t used = 0;

	for (u32 k = 0; k < JB_ARRAY_LEN(natives) && o->driver != DRIVER_BIOS; k++) {
		const struct native_driver *nd = &natives[k];
		struct jb_diag note = { "" };

		if (o->driver != DRIVER_AUTO && o->driver != nd->driver)
			continue;
		u32 count = nd->count(&note);

		for (u32 i = 0; i < count && n < SCAN_MAX_DISKS; i++)
			ids[n++] = (struct disk_id){ nd->kind, i };
		if (count == 0 && used + 1 < sizeof(why))
			used += fmt_buf(why + used, sizeof(why) - used, "%s%s", used ? "; " : "",
					note.text);
	}
	if (used >= sizeof(why))
		used = sizeof(why) - 1;
	if (n || (o->driver != DRIVER_AUTO && o->driver != DRIVER_BIOS)) {
		if (!n)
			diag_fail(d, -JB_ENODEV, "no disk found for driver=%s (%s)",
				  driver_name(o->driver), why);
		return n;
	}
	if (!have_bios) {
		diag_fail(d, -JB_ENODEV,
			  "no native disk found (%s), and no BIOS to ask: the machine booted through"
			  " UEFI",
			  why);
		return 0;
	}
	if (o->driver == DRIVER_AUTO)
		kprintf("no native disk found (%s); scanning the BIOS's disks\n", why);
	bios_init();
	u32 count = bios_hard_disks();

	for (u32 i = 0; i < count && n < SCAN_MAX_DISKS; i++)
		ids[n++] = (struct disk_id){ DISK_BIOS, 0x80 + i };
	if (!n)
		diag_fail(d, -JB_ENODEV, "the BIOS reports no hard disk");
	return n;
}

enum probe { PROBE_NONE, PROBE_IMAGE, PROBE_USED };

/*
 * Does an image start at this byte: a jumpback image (used or not), an ELF core, or a
 * compressed dump (an image too, so that the user gets the clear error about it)?
 */
static enum probe image_at(struct disk *dk, u64 at)
{
	struct jb_diag ignore;
	const struct elf32_ehdr *h = (const struct elf32_ehdr *)probe_sector;

	if (at + DISK_SECTOR_SIZE > dk->sectors * dk->sector_size ||
	    disk_read_bytes(dk, at, (uintptr_t)probe_sector, DISK_SECTOR_SIZE, &ignore))
		return PROBE_NONE;
	if (jbi_has_magic(probe_sector, DISK_SECTOR_SIZE))
		return le32(probe_sector + JBI_STATE_OFFSET) == JBI_STATE_USED ? PROBE_USED
									 : PROBE_IMAGE;
	if (probe_sector[0] == 'K' && probe_sector[1] == 'D' && probe_sector[2] == 'U' &&
	    probe_sector[3] == 'M' && probe_sector[4] == 'P')
		return PROBE_IMAGE;
	return probe_sector[0] == 0x7F && probe_sector[1] == 'E' && probe_sector[2] == 'L' &&
			       probe_sector[3] == 'F' && h->e_type == ET_CORE
		       ? PROBE_IMAGE
		       : PROBE_NONE;
}

struct scan_state {
	char seen[SCAN_SEEN_SIZE]; /* what each disk held, for the error message */
	size_t used;
	u32 found;
	u32 used_images; /* seen, listed, never chosen */
	struct disk_id id;
	u32 part; /* 0: whole disk */
};

static void seen_add(struct scan_state *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void seen_add(struct scan_state *s, const char *fmt, ...)
{
	va_list ap;

	if (s->used + 1 >= sizeof(s->seen))
		return;
	va_start(ap, fmt);
	s->used += fmt_vbuf(s->seen + s->used, sizeof(s->seen) - s->used, fmt, ap);
	va_end(ap);
	if (s->used >= sizeof(s->seen))
		s->used = sizeof(s->seen) - 1;
}

static void scan_found(struct scan_state *s, struct disk_id id, u32 part, const char *name,
		       enum probe what)
{
	const char *kind = what == PROBE_USED ? "a used image (skipped)" : "an image";

	if (what == PROBE_NONE)
		return;
	if (what == PROBE_USED)
		s->used_images++;
	if (what == PROBE_IMAGE && s->found++ == 0) {
		s->id = id;
		s->part = part;
	}
	if (part)
		seen_add(s, "%s%s partition %u holds %s", s->used ? "; " : "", name, part, kind);
	else
		seen_add(s, "%s%s holds %s", s->used ? "; " : "", name, kind);
}

/* Looks at one disk for the PARTUUID/PARTLABEL, or (auto) for images at partition starts. */
static void scan_disk(const struct jb_options *o, struct disk_id id, struct disk *dk,
		      struct scan_state *s)
{
	struct jb_diag why = { "" };

	if (disk_open_id(id, dk, &why) || table_read(dk, &why)) {
		seen_add(s, "%s%s", s->used ? "; " : "", why.text);
		return;
	}
	u32 before = s->found + s->used_images;

	if (o->resume == RESUME_AUTO) {
		u64 skip = o->resume_offset * DISK_SECTOR_SIZE;

		scan_found(s, id, 0, dk->name, image_at(dk, skip));
		for (u32 i = 0; i < ptab.n; i++)
			if (ptab.part[i].sectors * dk->sector_size > skip)
				scan_found(s, id, ptab.part[i].number, dk->name,
					   image_at(dk, ptab.part[i].first_lba * dk->sector_size +
								skip));
	} else {
		const struct part *p = o->resume == RESUME_PARTUUID ? part_by_uuid(&ptab, o->resume_name)
								    : part_by_label(&ptab, o->resume_name);

		if (p)
			scan_found(s, id, p->number, dk->name, PROBE_IMAGE);
	}
	if (s->found + s->used_images == before)
		seen_add(s, "%s%s: %s, %u partitions, no match", s->used ? "; " : "", dk->name,
			 !ptab.has_table ? "no partition table" : ptab.gpt ? "GPT" : "MBR", ptab.n);
}

static int locate_by_scan(const struct jb_options *o, bool have_bios, struct disk *dk,
			  struct image_loc *loc, struct jb_diag *d)
{
	static struct disk_id ids[SCAN_MAX_DISKS];
	static struct scan_state s;
	const char *what = o->resume == RESUME_AUTO ? "resume=auto" : o->resume == RESUME_PARTUUID
									      ? "PARTUUID="
									      : "PARTLABEL=";
	u32 n = scan_disks(o, have_bios, ids, d);

	if (!n)
		return -JB_ENODEV;
	s = (struct scan_state){ .used = 0 };
	for (u32 i = 0; i < n; i++)
		scan_disk(o, ids[i], dk, &s);
	if (s.found == 0)
		return diag_fail(d, -JB_ENODEV,
				 "%s%s: no usable image found; seen: %s; hibernate again to write an"
				 " image, or name its disk with resume=DISK[:PART]",
				 what, o->resume == RESUME_AUTO ? "" : o->resume_name, s.seen);
	if (s.found > 1)
		return diag_fail(d, -JB_ENODEV,
				 "%s%s: %u candidates, name one with resume=DISK[:PART]: %s", what,
				 o->resume == RESUME_AUTO ? "" : o->resume_name, s.found, s.seen);
	struct jb_options chosen = *o;

	chosen.resume_part = s.part;
	int rc = locate_on_disk(&chosen, s.id, dk, loc, d);

	if (rc == 0)
		kprintf("%s%s: the image is on %s\n", what,
			o->resume == RESUME_AUTO ? "" : o->resume_name, loc->where);
	return rc;
}

int locate_image(const struct jb_options *o, bool have_bios, struct disk *dk,
		 struct image_loc *loc, struct jb_diag *d)
{
	for (u32 i = 0; i < JB_ARRAY_LEN(natives); i++) {
		const struct native_driver *nd = &natives[i];

		if (o->resume != nd->resume)
			continue;
		if (o->driver != DRIVER_AUTO && o->driver != nd->driver)
			return diag_fail(d, -JB_ECMDLINE, "resume=%s:%u names a %s disk but driver=%s",
					 nd->name, o->resume_unit, nd->name, driver_name(o->driver));
		return locate_on_disk(o, (struct disk_id){ nd->kind, o->resume_unit }, dk, loc, d);
	}
	if (o->resume == RESUME_BIOS) {
		if (o->driver != DRIVER_AUTO && o->driver != DRIVER_BIOS)
			return diag_fail(d, -JB_ECMDLINE,
					 "resume=bios:0x%02x names a BIOS disk but driver=%s",
					 o->resume_unit, driver_name(o->driver));
		if (!have_bios)
			return diag_fail(d, -JB_ENODEV,
					 "resume=bios:0x%02x: this machine booted through UEFI and has"
					 " no BIOS; use resume=ahci:N, nvme:N, virtio:N or a scan",
					 o->resume_unit);
		return locate_on_disk(o, (struct disk_id){ DISK_BIOS, o->resume_unit }, dk, loc, d);
	}
	return locate_by_scan(o, have_bios, dk, loc, d);
}
