/*
 * MBR and GPT partition tables. GPT follows the UEFI spec chapter "GUID Partition Table (GPT)
 * Disk Layout" (protective MBR, GPT header, partition entry array); the MBR and its EBR chain
 * follow the IBM PC layout, with partitions numbered the way Linux numbers them.
 */
#include "part.h"

#include "crc32.h"
#include "fmt.h"
#include "le.h"

/* MBR sector layout; an EBR has the same one. */
#define MBR_DISK_SIGNATURE 440
#define MBR_ENTRIES 446
#define MBR_ENTRY_SIZE 16
#define MBR_NENTRIES 4
#define MBR_BOOT_SIGNATURE 510 /* bytes 0x55 0xAA */
/* Fields of an MBR partition entry (the CHS fields are ignored: LBA is what counts). */
#define MBR_E_STATUS 0
#define MBR_E_TYPE 4
#define MBR_E_START 8
#define MBR_E_SECTORS 12

#define MBR_STATUS_ACTIVE 0x80
#define MBR_TYPE_EMPTY 0x00
#define MBR_TYPE_GPT_PROTECTIVE 0xee
#define MBR_LOGICAL_FIRST 5 /* Linux numbers logical partitions from 5 */
/* Links followed per extended partition: more than a table can hold means a runaway chain. */
#define EBR_CHAIN_MAX PART_MAX

/* GPT header fields (UEFI spec, table "GPT Header"). */
#define GPT_SIGNATURE "EFI PART"
#define GPT_H_REVISION 8
#define GPT_H_SIZE 12
#define GPT_H_CRC 16
#define GPT_H_MY_LBA 24
#define GPT_H_ALTERNATE_LBA 32
#define GPT_H_FIRST_USABLE 40
#define GPT_H_LAST_USABLE 48
#define GPT_H_DISK_GUID 56
#define GPT_H_ENTRY_LBA 72
#define GPT_H_ENTRY_COUNT 80
#define GPT_H_ENTRY_SIZE 84
#define GPT_H_ENTRY_CRC 88
#define GPT_HEADER_MIN 92 /* the fields above; HeaderSize may be larger, up to one block */
#define GPT_REVISION_MAJOR 1u

/* GPT partition entry fields (UEFI spec, table "GPT Partition Entry"). */
#define GPT_E_TYPE 0
#define GPT_E_UUID 16
#define GPT_E_FIRST 32
#define GPT_E_LAST 40 /* inclusive */
#define GPT_E_NAME 56
#define GPT_NAME_UNITS 36 /* UTF-16 code units */
#define GPT_ENTRY_MIN 128

/* Sanity bounds: the spec's usual array is 128 entries of 128 bytes (16 KiB). */
#define GPT_ENTRY_SIZE_MAX 4096u
#define GPT_ARRAY_BYTES_MAX (1u << 20)

_Static_assert(PART_LABEL_SIZE >= 3 * GPT_NAME_UNITS + 1, "a GPT name fits as UTF-8");

static void bytes_copy(u8 *dst, const u8 *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i];
}

static bool bytes_zero(const u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static u64 min_u64(u64 a, u64 b)
{
	return a < b ? a : b;
}

/* [first, first + n) lies inside [lo, end). */
static bool range_inside(u64 first, u64 n, u64 lo, u64 end)
{
	return first >= lo && first <= end && n <= end - first;
}

/* Appends a warning to d, "; " between several: a success that leaves text in d warns. */
static void part_warn(struct jb_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void part_warn(struct jb_diag *d, const char *fmt, ...)
{
	va_list ap;
	size_t len = 0;

	if (!d)
		return;
	while (len < sizeof(d->text) && d->text[len])
		len++;
	if (len) {
		if (len + 3 > sizeof(d->text))
			return;
		d->text[len++] = ';';
		d->text[len++] = ' ';
	}
	va_start(ap, fmt);
	fmt_vbuf(d->text + len, sizeof(d->text) - len, fmt, ap);
	va_end(ap);
}

struct scan {
	part_read_fn read;
	void *ctx;
	u64 disk_sectors;
	u32 bs; /* logical block size: GPT structures and LBAs count in it */
	u8 *scratch;
	u32 scratch_sectors;
	struct part_table *t;
};

/* Reads into scratch; a failure names what was read and where, then the callback's words. */
static int scan_read(const struct scan *s, u64 lba, u32 count, const char *what, struct jb_diag *d)
{
	struct jb_diag rd = { "" };
	int rc = s->read(s->ctx, lba, count, s->scratch, &rd);

	if (rc == 0)
		return 0;
	if (rc > 0)
		rc = -JB_EIO;
	return diag_fail(d, rc, "%s at LBA %llu: %s", what, (unsigned long long)lba,
			 rd.text[0] ? rd.text : jb_strerror(rc));
}

static int table_add(struct part_table *t, const struct part *p, struct jb_diag *d)
{
	if (t->n == PART_MAX)
		return diag_fail(d, -JB_ETOOBIG, "partition %u: the disk has more than %u partitions",
				 p->number, PART_MAX);
	t->part[t->n++] = *p;
	return 0;
}

/* ---- MBR ---- */

struct mbr_entry {
	u8 status, type;
	u32 start, sectors;
};

static void mbr_entry_read(const u8 *sector, u32 i, struct mbr_entry *e)
{
	const u8 *p = sector + MBR_ENTRIES + i * MBR_ENTRY_SIZE;

	e->status = p[MBR_E_STATUS];
	e->type = p[MBR_E_TYPE];
	e->start = le32(p + MBR_E_START);
	e->sectors = le32(p + MBR_E_SECTORS);
}

static bool mbr_used(const struct mbr_entry *e)
{
	return e->type != MBR_TYPE_EMPTY && e->sectors != 0;
}

static bool mbr_is_extended(u8 type)
{
	return type == 0x05 || type == 0x0f || type == 0x85; /* CHS, LBA, Linux extended */
}

static bool mbr_has_signature(const u8 *sector)
{
	return sector[MBR_BOOT_SIGNATURE] == 0x55 && sector[MBR_BOOT_SIGNATURE + 1] == 0xaa;
}

/*
 * Whether LBA 0 is a partition table. A raw image written to the whole disk is not; an ELF
 * core can carry 0x55AA at byte 510 by chance, and so can a filesystem boot sector, whose
 * "boot flags" are then not 0x00 or 0x80.
 */
static bool mbr_is_table(const u8 *sector)
{
	static const u8 elf_magic[4] = { 0x7f, 'E', 'L', 'F' };
	struct mbr_entry e;

	if (!mbr_has_signature(sector))
		return false;
	if (sector[0] == elf_magic[0] && sector[1] == elf_magic[1] && sector[2] == elf_magic[2] &&
	    sector[3] == elf_magic[3])
		return false;
	for (u32 i = 0; i < MBR_NENTRIES; i++) {
		mbr_entry_read(sector, i, &e);
		if (e.status != 0 && e.status != MBR_STATUS_ACTIVE)
			return false;
	}
	return true;
}

/* A protective MBR (UEFI: an entry of type 0xEE; a hybrid MBR has others beside it). */
static bool mbr_is_protective(const u8 *sector)
{
	struct mbr_entry e;

	for (u32 i = 0; i < MBR_NENTRIES; i++) {
		mbr_entry_read(sector, i, &e);
		if (e.type == MBR_TYPE_GPT_PROTECTIVE)
			return true;
	}
	return false;
}

/*
 * Adds one MBR partition if it lies inside the disk and, for a logical one (ebr_lba != 0),
 * inside [ebr_lba + 1, end) of extended partition ext_slot; warns and skips it if not.
 */
static int mbr_add(struct scan *s, u32 number, u8 type, u64 first, u32 sectors, u32 ext_slot,
		   u64 ebr_lba, u64 end, struct jb_diag *d)
{
	struct part p = { .number = number, .first_lba = first, .sectors = sectors, .mbr_type = type };

	if (!range_inside(first, sectors, 0, s->disk_sectors)) {
		part_warn(d, "partition %u (LBA %llu, %u sectors) lies past the disk end (%llu sectors);"
			  " left out", number, (unsigned long long)first, sectors,
			  (unsigned long long)s->disk_sectors);
		return 0;
	}
	if (ebr_lba && !range_inside(first, sectors, ebr_lba + 1, end)) {
		part_warn(d, "partition %u (LBA %llu, %u sectors) lies outside extended partition %u"
			  " after its EBR (LBAs %llu..%llu); left out", number,
			  (unsigned long long)first, sectors, ext_slot + 1,
			  (unsigned long long)ebr_lba + 1, (unsigned long long)end - 1);
		return 0;
	}
	return table_add(s->t, &p, d);
}

/*
 * Follows the EBR chain of the extended partition in primary slot `slot`: each EBR's first
 * entry is a logical partition relative to that EBR, its second entry links to the next EBR
 * relative to the extended partition's start. Links must move forward and stay inside the
 * extended partition, so the chain ends; a bad link ends it early with a warning.
 */
static int mbr_walk_chain(struct scan *s, u32 slot, const struct mbr_entry *ext, u32 *next,
			  struct jb_diag *d)
{
	u64 ext_start = ext->start;
	u64 end = min_u64(ext_start + ext->sectors, s->disk_sectors);
	u64 lba = ext_start;
	struct mbr_entry e;

	for (u32 links = 0; lba < end; links++) {
		if (links == EBR_CHAIN_MAX) {
			part_warn(d, "extended partition %u: EBR chain longer than %u links, stopped at"
				  " LBA %llu", slot + 1, EBR_CHAIN_MAX, (unsigned long long)lba);
			return 0;
		}
		int rc = scan_read(s, lba, 1, "EBR", d);

		if (rc)
			return rc;
		if (!mbr_has_signature(s->scratch)) {
			part_warn(d, "EBR at LBA %llu: no 0x55AA signature; the chain stops there",
				  (unsigned long long)lba);
			return 0;
		}
		mbr_entry_read(s->scratch, 0, &e);
		if (mbr_used(&e) && !mbr_is_extended(e.type)) {
			rc = mbr_add(s, (*next)++, e.type, lba + e.start, e.sectors, slot, lba, end, d);
			if (rc)
				return rc;
		}
		mbr_entry_read(s->scratch, 1, &e);
		if (!mbr_used(&e) || !mbr_is_extended(e.type))
			return 0;
		u64 link = ext_start + e.start;

		if (link <= lba) {
			part_warn(d, "EBR at LBA %llu: link to LBA %llu does not move forward (a loop?);"
				  " the chain stops there", (unsigned long long)lba,
				  (unsigned long long)link);
			return 0;
		}
		if (link >= end) {
			part_warn(d, "EBR at LBA %llu: link to LBA %llu lies outside extended partition"
				  " %u or the disk; the chain stops there", (unsigned long long)lba,
				  (unsigned long long)link, slot + 1);
			return 0;
		}
		lba = link;
	}
	return 0;
}

static int mbr_scan(struct scan *s, struct jb_diag *d)
{
	struct mbr_entry e[MBR_NENTRIES];
	u32 next = MBR_LOGICAL_FIRST;
	int rc;

	s->t->mbr_signature = le32(s->scratch + MBR_DISK_SIGNATURE);
	for (u32 i = 0; i < MBR_NENTRIES; i++)
		mbr_entry_read(s->scratch, i, &e[i]);
	for (u32 i = 0; i < MBR_NENTRIES; i++) {
		if (!mbr_used(&e[i]))
			continue;
		rc = mbr_add(s, i + 1, e[i].type, e[i].start, e[i].sectors, 0, 0, 0, d);
		if (rc)
			return rc;
	}
	/* Logicals after all primaries, extended partitions in slot order, as Linux does. */
	for (u32 i = 0; i < MBR_NENTRIES; i++) {
		if (!mbr_used(&e[i]) || !mbr_is_extended(e[i].type))
			continue;
		rc = mbr_walk_chain(s, i, &e[i], &next, d);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- GPT ---- */

struct gpt_header {
	u64 my_lba, alternate_lba, first_usable, last_usable, entry_lba;
	u32 entry_count, entry_size, entry_crc;
	u64 entry_sectors;
	u8 disk_guid[16];
};

/* Checks the header in scratch, read from LBA lba, and parses it into h. */
static int gpt_header_parse(const struct scan *s, u64 lba, struct gpt_header *h, struct jb_diag *d)
{
	static const u8 zero_crc[4] = { 0, 0, 0, 0 };
	const u8 *b = s->scratch;
	unsigned long long at = lba;

	for (u32 i = 0; i < 8; i++)
		if (b[i] != (u8)GPT_SIGNATURE[i])
			return diag_fail(d, -JB_EBADIMG,
					 "GPT header at LBA %llu: no \"EFI PART\" signature", at);
	u32 revision = le32(b + GPT_H_REVISION);
	u32 size = le32(b + GPT_H_SIZE);

	if (revision >> 16 != GPT_REVISION_MAJOR)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: revision 0x%08x is not 1.x",
				 at, revision);
	if (size < GPT_HEADER_MIN || size > s->bs)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: header size %u is outside"
				 " %u..%u", at, size, GPT_HEADER_MIN, s->bs);
	/* The CRC covers HeaderSize bytes with the CRC field itself taken as zero. */
	u32 stored = le32(b + GPT_H_CRC);
	u32 crc = crc32_update(0, b, GPT_H_CRC);

	crc = crc32_update(crc, zero_crc, sizeof(zero_crc));
	crc = crc32_update(crc, b + GPT_H_CRC + 4, size - GPT_H_CRC - 4);
	if (crc != stored)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: CRC mismatch (stored 0x%08x,"
				 " computed 0x%08x)", at, stored, crc);

	h->my_lba = le64(b + GPT_H_MY_LBA);
	h->alternate_lba = le64(b + GPT_H_ALTERNATE_LBA);
	h->first_usable = le64(b + GPT_H_FIRST_USABLE);
	h->last_usable = le64(b + GPT_H_LAST_USABLE);
	h->entry_lba = le64(b + GPT_H_ENTRY_LBA);
	h->entry_count = le32(b + GPT_H_ENTRY_COUNT);
	h->entry_size = le32(b + GPT_H_ENTRY_SIZE);
	h->entry_crc = le32(b + GPT_H_ENTRY_CRC);
	bytes_copy(h->disk_guid, b + GPT_H_DISK_GUID, sizeof(h->disk_guid));

	if (h->my_lba != lba)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: MyLBA is %llu", at,
				 (unsigned long long)h->my_lba);
	if (h->first_usable > h->last_usable)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: FirstUsableLBA %llu is past"
				 " LastUsableLBA %llu", at, (unsigned long long)h->first_usable,
				 (unsigned long long)h->last_usable);
	if (h->last_usable >= s->disk_sectors)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: LastUsableLBA %llu lies past"
				 " the disk end (%llu sectors)", at, (unsigned long long)h->last_usable,
				 (unsigned long long)s->disk_sectors);
	if (lba >= h->first_usable && lba <= h->last_usable)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: lies inside its usable LBAs"
				 " %llu..%llu", at, (unsigned long long)h->first_usable,
				 (unsigned long long)h->last_usable);
	if (h->entry_size < GPT_ENTRY_MIN || h->entry_size % GPT_ENTRY_MIN != 0 ||
	    h->entry_size > GPT_ENTRY_SIZE_MAX)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: partition entry size %u is"
				 " not a multiple of %u in %u..%u", at, h->entry_size, GPT_ENTRY_MIN,
				 GPT_ENTRY_MIN, GPT_ENTRY_SIZE_MAX);
	u64 bytes = (u64)h->entry_count * h->entry_size;

	if (bytes > GPT_ARRAY_BYTES_MAX)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: %u partition entries of %u"
				 " bytes exceed %u bytes", at, h->entry_count, h->entry_size,
				 GPT_ARRAY_BYTES_MAX);
	h->entry_sectors = (bytes + s->bs - 1) / s->bs;
	if (h->entry_sectors == 0)
		return 0;
	if (!range_inside(h->entry_lba, h->entry_sectors, 0, s->disk_sectors))
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: entry array at LBA %llu (%llu"
				 " sectors) lies past the disk end (%llu sectors)", at,
				 (unsigned long long)h->entry_lba, (unsigned long long)h->entry_sectors,
				 (unsigned long long)s->disk_sectors);
	u64 array_end = h->entry_lba + h->entry_sectors;

	if (h->entry_lba <= h->last_usable && array_end > h->first_usable)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: entry array at LBA %llu (%llu"
				 " sectors) overlaps the usable LBAs %llu..%llu", at,
				 (unsigned long long)h->entry_lba, (unsigned long long)h->entry_sectors,
				 (unsigned long long)h->first_usable, (unsigned long long)h->last_usable);
	if (lba >= h->entry_lba && lba < array_end)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: entry array at LBA %llu (%llu"
				 " sectors) overlaps the header", at, (unsigned long long)h->entry_lba,
				 (unsigned long long)h->entry_sectors);
	return 0;
}

/* Appends UTF-8 for code point c (at most U+10FFFF) at out; returns the bytes written. */
static size_t utf8_put(u32 c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * A GPT name (UTF-16LE, up to 36 units, NUL-terminated if shorter) as UTF-8. Surrogate pairs
 * become one 4-byte sequence; an unpaired surrogate becomes U+FFFD.
 */
static void gpt_name_utf8(const u8 *name, char out[PART_LABEL_SIZE])
{
	size_t o = 0;

	for (u32 i = 0; i < GPT_NAME_UNITS; i++) {
		u32 c = le16(name + 2 * i);
		u32 next = i + 1 < GPT_NAME_UNITS ? le16(name + 2 * i + 2) : 0;

		if (c == 0)
			break;
		if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
			c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
			i++;
		} else if (c >= 0xd800 && c <= 0xdfff) {
			c = 0xfffd;
		}
		o += utf8_put(c, out + o);
	}
	out[o] = '\0';
}

/* What reading an entry array found besides the partitions it added. */
struct gpt_tally {
	u32 used;           /* entries with a type GUID */
	u32 skipped;        /* used, but outside the usable LBAs */
	u32 skip_number;    /* the first of those */
	u64 skip_first, skip_last;
};

/* One entry (its first 128 bytes) at index `index`; unused entries have a zero type GUID. */
static void gpt_entry_add(struct part_table *t, const struct gpt_header *h, const u8 *e, u32 index,
			  struct gpt_tally *tally)
{
	if (bytes_zero(e + GPT_E_TYPE, 16))
		return;
	tally->used++;
	if (t->n == PART_MAX)
		return; /* counted: too many is an error once the array's CRC is known good */
	u64 first = le64(e + GPT_E_FIRST), last = le64(e + GPT_E_LAST);

	if (first > last || first < h->first_usable || last > h->last_usable) {
		if (tally->skipped++ == 0) {
			tally->skip_number = index + 1;
			tally->skip_first = first;
			tally->skip_last = last;
		}
		return;
	}
	struct part *p = &t->part[t->n++];

	*p = (struct part){ .number = index + 1, .first_lba = first, .sectors = last - first + 1,
			    .gpt = true };
	bytes_copy(p->type_guid, e + GPT_E_TYPE, 16);
	bytes_copy(p->uuid, e + GPT_E_UUID, 16);
	gpt_name_utf8(e + GPT_E_NAME, p->label);
}

/*
 * Reads and checks the header at lba and its entry array into s->t. *header_ok says whether
 * the header itself was good (so that its AlternateLBA can be trusted). Warnings go to d too.
 */
static int gpt_load(struct scan *s, u64 lba, bool *header_ok, struct gpt_header *h,
		    struct jb_diag *d)
{
	struct part_table *t = s->t;
	struct gpt_tally tally = { 0 };
	u8 entry[GPT_ENTRY_MIN];
	u32 pos = 0, index = 0, crc = 0;
	int rc;

	*header_ok = false;
	t->n = 0;
	if (lba >= s->disk_sectors)
		return diag_fail(d, -JB_EBADIMG, "GPT header at LBA %llu: past the disk end (%llu"
				 " sectors)", (unsigned long long)lba,
				 (unsigned long long)s->disk_sectors);
	rc = scan_read(s, lba, 1, "GPT header", d);
	if (rc)
		return rc;
	rc = gpt_header_parse(s, lba, h, d);
	if (rc)
		return rc;
	*header_ok = true;

	/* Streams the array through scratch; an entry may straddle two reads. */
	u64 left = (u64)h->entry_count * h->entry_size;

	for (u64 at = h->entry_lba; left > 0;) {
		u32 count = (u32)min_u64(s->scratch_sectors,
					 (left + s->bs - 1) / s->bs);
		u32 len = (u32)min_u64((u64)count * s->bs, left);

		rc = scan_read(s, at, count, "GPT entry array", d);
		if (rc)
			return rc;
		crc = crc32_update(crc, s->scratch, len);
		for (u32 off = 0; off < len;) {
			u32 take = len - off < h->entry_size - pos ? len - off : h->entry_size - pos;

			for (u32 i = 0; i < take && pos + i < GPT_ENTRY_MIN; i++)
				entry[pos + i] = s->scratch[off + i];
			pos += take;
			off += take;
			if (pos == h->entry_size) {
				gpt_entry_add(t, h, entry, index++, &tally);
				pos = 0;
			}
		}
		left -= len;
		at += count;
	}
	if (crc != h->entry_crc) {
		t->n = 0;
		return diag_fail(d, -JB_EBADIMG, "GPT entry array at LBA %llu: CRC mismatch (stored"
				 " 0x%08x, computed 0x%08x)", (unsigned long long)h->entry_lba,
				 h->entry_crc, crc);
	}
	if (tally.used > PART_MAX) {
		t->n = 0;
		return diag_fail(d, -JB_ETOOBIG, "GPT at LBA %llu: %u partitions in use, more than %u",
				 (unsigned long long)lba, tally.used, PART_MAX);
	}
	if (tally.skipped)
		part_warn(d, "GPT partition %u (LBAs %llu..%llu) lies outside the usable LBAs"
			  " %llu..%llu; left out%s", tally.skip_number,
			  (unsigned long long)tally.skip_first, (unsigned long long)tally.skip_last,
			  (unsigned long long)h->first_usable, (unsigned long long)h->last_usable,
			  tally.skipped > 1 ? ", as are others" : "");
	t->gpt = true;
	bytes_copy(t->disk_guid, h->disk_guid, sizeof(t->disk_guid));
	return 0;
}

/* The primary GPT at LBA 1, else the backup (UEFI: the backup header is at AlternateLBA). */
static int gpt_scan(struct scan *s, struct jb_diag *d)
{
	struct jb_diag primary = { "" }, backup = { "" };
	struct gpt_header h;
	bool header_ok;
	u64 alt;
	int rc = gpt_load(s, 1, &header_ok, &h, &primary);

	if (rc == 0) {
		if (primary.text[0])
			part_warn(d, "%s", primary.text);
		return 0;
	}
	if (rc == -JB_ETOOBIG)
		return diag_fail(d, rc, "%s", primary.text);
	if (header_ok && h.alternate_lba > 1 && h.alternate_lba < s->disk_sectors)
		alt = h.alternate_lba;
	else if (s->disk_sectors == PART_DISK_SIZE_UNKNOWN)
		return diag_fail(d, rc, "%s, and no backup GPT to try (disk size unknown)",
				 primary.text);
	else if (s->disk_sectors > 2)
		alt = s->disk_sectors - 1;
	else
		return diag_fail(d, rc, "%s, and no room for a backup GPT", primary.text);

	int rc_backup = gpt_load(s, alt, &header_ok, &h, &backup);

	if (rc_backup == 0) {
		s->t->used_backup_gpt = true;
		part_warn(d, "%s; using the backup at LBA %llu", primary.text, (unsigned long long)alt);
		if (backup.text[0])
			part_warn(d, "%s", backup.text);
		return 0;
	}
	/* A read error says more about what to fix than a damaged table does. */
	if (rc_backup == -JB_ETOOBIG || rc == -JB_EBADIMG)
		rc = rc_backup;
	return diag_fail(d, rc, "%s, and no valid backup (%s)", primary.text, backup.text);
}

/* ---- the entry point and lookups ---- */

int part_scan(part_read_fn read, void *ctx, u64 disk_sectors, u32 sector_size, u8 *scratch,
	      size_t scratch_len, struct part_table *out, struct jb_diag *d)
{
	struct scan s = { read, ctx, disk_sectors, sector_size, scratch, 0, out };
	int rc;

	if (d)
		d->text[0] = '\0';
	out->has_table = false;
	out->gpt = false;
	out->mbr_signature = 0;
	for (size_t i = 0; i < sizeof(out->disk_guid); i++)
		out->disk_guid[i] = 0;
	out->used_backup_gpt = false;
	out->n = 0;
	if (sector_size != PART_SECTOR_SIZE && sector_size != PART_SECTOR_SIZE_4K)
		return diag_fail(d, -JB_EINVAL, "partition scan: logical blocks of %u bytes (512 or"
				 " 4096 expected)", sector_size);
	if (scratch_len < sector_size)
		return diag_fail(d, -JB_EINVAL, "partition scan: a scratch buffer of %zu bytes holds"
				 " no sector", scratch_len);
	/* Larger reads would not help: no single read is longer than the largest entry array. */
	s.scratch_sectors = (u32)min_u64(scratch_len / sector_size,
					 GPT_ARRAY_BYTES_MAX / sector_size);
	if (disk_sectors == 0)
		return 0;
	rc = scan_read(&s, 0, 1, "MBR", d);
	if (rc)
		return rc;
	if (!mbr_is_table(scratch))
		return 0;
	out->has_table = true;
	rc = mbr_is_protective(scratch) ? gpt_scan(&s, d) : mbr_scan(&s, d);
	if (rc)
		out->n = 0; /* no half tables */
	return rc;
}

const struct part *part_by_number(const struct part_table *t, u32 number)
{
	for (u32 i = 0; i < t->n; i++)
		if (t->part[i].number == number)
			return &t->part[i];
	return NULL;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

const struct part *part_by_uuid(const struct part_table *t, const char *text)
{
	char mine[PART_UUID_TEXT_SIZE];

	if (!text)
		return NULL;
	for (u32 i = 0; i < t->n; i++) {
		size_t k = 0;

		if (part_uuid_text(t, &t->part[i], mine, sizeof(mine)))
			continue;
		while (mine[k] && ascii_lower(text[k]) == mine[k])
			k++;
		if (mine[k] == '\0' && text[k] == '\0')
			return &t->part[i];
	}
	return NULL;
}

const struct part *part_by_label(const struct part_table *t, const char *label)
{
	if (!label || !label[0])
		return NULL;
	for (u32 i = 0; i < t->n; i++) {
		const char *mine = t->part[i].label; /* "" for MBR partitions */
		size_t k = 0;

		while (mine[k] && mine[k] == label[k])
			k++;
		if (mine[k] == '\0' && label[k] == '\0')
			return &t->part[i];
	}
	return NULL;
}

int part_guid_text(const u8 *guid, char *out, size_t size)
{
	/* The first three fields are little-endian on disk, the last two are byte strings. */
	size_t len = fmt_buf(out, size, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			     le32(guid), (unsigned int)le16(guid + 4), (unsigned int)le16(guid + 6),
			     guid[8], guid[9], guid[10], guid[11], guid[12], guid[13], guid[14],
			     guid[15]);

	if (len >= size) {
		if (size)
			out[0] = '\0';
		return -JB_EINVAL;
	}
	return 0;
}

int part_uuid_text(const struct part_table *t, const struct part *p, char *out, size_t size)
{
	if (p->gpt)
		return part_guid_text(p->uuid, out, size);
	/* Linux (block/partitions/msdos.c) and blkid: "<disk signature>-<partition number>". */
	size_t len = fmt_buf(out, size, "%08x-%02x", t->mbr_signature, p->number);

	if (len >= size) {
		if (size)
			out[0] = '\0';
		return -JB_EINVAL;
	}
	return 0;
}
