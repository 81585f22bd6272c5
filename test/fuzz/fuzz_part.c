/*
 * Fuzz target for the partition table reader (lib/part.c). Built with libFuzzer or, with
 * FUZZ_STANDALONE, as a plain program that replays seeded random mutations of a few hand-made
 * MBR and GPT disks under gcc's ASan/UBSan (`build/fuzz/fuzz_part [N [SEED]]`, N=200000).
 *
 * Input layout: all bytes but the last are the disk (a short last sector reads as zeros); the
 * last byte holds knobs: bit 0 makes the GPT CRCs at LBA 1 and at the last LBA right again
 * before the scan (so that mutations get past the checksums), bits 1-2 pick the scratch size,
 * bits 3-4 how big the disk claims to be (exact, larger with zeros, unknown, half). Every
 * input is scanned twice: as a disk of 512-byte sectors and as one of 4096-byte blocks (4Kn).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "part.h"
#include "../unit/disk_helpers.h"

/* A broken promise is a crash, so that both libFuzzer and the standalone runner stop on it. */
#define FUZZ_ASSERT(cond)                                                                       \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* The most a scan may read: the MBR, four chains of PART_MAX EBRs, two 1 MiB GPTs. */
#define READ_BOUND (1 + 4 * PART_MAX + 2 * (1 + 2048))

struct fuzz_disk {
	u32 bs; /* logical block size */
	const u8 *bytes;
	u64 data_sectors; /* sectors the bytes cover */
	u64 disk_sectors; /* what part_scan is told */
	const u8 *scratch;
	size_t scratch_len;
	u64 sectors_read;
};

static int fuzz_read(void *ctx, u64 lba, u32 count, void *buf, struct jb_diag *d)
{
	struct fuzz_disk *f = ctx;

	/* part_scan's promises: reads land in scratch, fit it, and stay inside the disk. */
	FUZZ_ASSERT(buf == f->scratch);
	FUZZ_ASSERT(count >= 1 && (u64)count * f->bs <= f->scratch_len);
	if (f->disk_sectors != PART_DISK_SIZE_UNKNOWN)
		FUZZ_ASSERT(lba < f->disk_sectors && count <= f->disk_sectors - lba);
	f->sectors_read += count;
	FUZZ_ASSERT(f->sectors_read <= READ_BOUND);
	if (f->disk_sectors == PART_DISK_SIZE_UNKNOWN &&
	    (lba >= f->data_sectors || count > f->data_sectors - lba))
		return diag_fail(d, -JB_ERANGE, "LBA %llu past the end", (unsigned long long)lba);
	for (u32 i = 0; i < count; i++) {
		u8 *out = (u8 *)buf + (size_t)i * f->bs;

		if (lba + i < f->data_sectors)
			memcpy(out, f->bytes + (lba + i) * f->bs, f->bs);
		else
			memset(out, 0, f->bs); /* a larger disk than the image */
	}
	return 0;
}

static void check_table(const struct part_table *t, u64 disk_sectors)
{
	char text[PART_UUID_TEXT_SIZE];

	FUZZ_ASSERT(t->n <= PART_MAX);
	FUZZ_ASSERT(t->has_table || t->n == 0);
	FUZZ_ASSERT(!t->used_backup_gpt || t->gpt);
	for (u32 i = 0; i < t->n; i++) {
		const struct part *p = &t->part[i];

		FUZZ_ASSERT(p->sectors > 0);
		FUZZ_ASSERT(p->first_lba < disk_sectors && p->sectors <= disk_sectors - p->first_lba);
		FUZZ_ASSERT(p->number >= 1 && (i == 0 || p->number > t->part[i - 1].number));
		FUZZ_ASSERT(p->gpt == t->gpt);
		FUZZ_ASSERT(memchr(p->label, '\0', sizeof(p->label)) != NULL);
		FUZZ_ASSERT(p->gpt || p->label[0] == '\0');
		FUZZ_ASSERT(part_by_number(t, p->number) == p);
		FUZZ_ASSERT(part_uuid_text(t, p, text, sizeof(text)) == 0);
		FUZZ_ASSERT(strlen(text) == (p->gpt ? 36u : 11u));
		const struct part *u = part_by_uuid(t, text);

		FUZZ_ASSERT(u != NULL && u <= p); /* GUIDs may repeat: the first one wins */
		if (p->label[0]) {
			const struct part *l = part_by_label(t, p->label);

			FUZZ_ASSERT(l != NULL && l <= p && strcmp(l->label, p->label) == 0);
		}
	}
}

/* One scan of the input as a disk of bs-byte blocks. */
static void scan_as(const u8 *data, size_t len, u8 knobs, u32 bs)
{
	static const size_t scratch_sizes[] = { 512, 1536, 4096, 65536 };
	static u8 scratch[65536];
	static struct part_table table;
	u64 data_sectors = (len + bs - 1) / bs;
	u8 *disk = calloc(data_sectors ? data_sectors : 1, bs);

	FUZZ_ASSERT(disk != NULL);
	if (len)
		memcpy(disk, data, len);
	if (knobs & 1) {
		gpt_fix_crcs_bs(disk, (size_t)data_sectors * bs, 1, bs);
		if (data_sectors > 1)
			gpt_fix_crcs_bs(disk, (size_t)data_sectors * bs, data_sectors - 1, bs);
	}
	/* Scratch sizes scale with the block: 1, 3, 8 and 128 sectors; 16 blocks of 4 KiB. */
	size_t scratch_len = scratch_sizes[(knobs >> 1) & 3] * (bs / PART_SECTOR_SIZE);
	struct fuzz_disk f = { bs, disk, data_sectors, data_sectors, scratch,
			       scratch_len < sizeof(scratch) ? scratch_len : sizeof(scratch), 0 };

	switch ((knobs >> 3) & 3) {
	case 1:
		f.disk_sectors = data_sectors + 1 + (knobs >> 5) * 97u;
		break;
	case 2:
		f.disk_sectors = PART_DISK_SIZE_UNKNOWN;
		break;
	case 3:
		f.disk_sectors = data_sectors / 2;
		break;
	}
	struct jb_diag d;

	memset(&d, 0x5a, sizeof(d)); /* part_scan must not rely on d starting empty */
	int rc = part_scan(fuzz_read, &f, f.disk_sectors, bs, scratch, f.scratch_len, &table, &d);

	FUZZ_ASSERT(memchr(d.text, '\0', sizeof(d.text)) != NULL);
	if (rc == 0) {
		check_table(&table, f.disk_sectors);
	} else {
		FUZZ_ASSERT(rc == -JB_EBADIMG || rc == -JB_ETOOBIG ||
			    (rc == -JB_ERANGE && f.disk_sectors == PART_DISK_SIZE_UNKNOWN));
		FUZZ_ASSERT(strcmp(jb_strerror(rc), "unknown error") != 0);
		FUZZ_ASSERT(d.text[0] != '\0');
		FUZZ_ASSERT(table.n == 0);
	}
	free(disk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	scan_as(data, size - 1, data[size - 1], PART_SECTOR_SIZE);
	scan_as(data, size - 1, data[size - 1], PART_SECTOR_SIZE_4K);
	return 0;
}

#ifdef FUZZ_STANDALONE

#include "fuzz_driver.h"

/* ---- the standalone runner: seeds, mutations, and a loop ---- */

#define INPUT_CAP (80 * SECTOR)

struct seed {
	size_t len;
	u8 data[INPUT_CAP];
};

static struct seed seeds[10];
static size_t nseeds;

static void seed_add(const u8 *disk, u64 sectors, u8 knobs)
{
	FUZZ_ASSERT(nseeds < JB_ARRAY_LEN(seeds) && sectors * SECTOR + 1 <= INPUT_CAP);
	memcpy(seeds[nseeds].data, disk, (size_t)sectors * SECTOR);
	seeds[nseeds].data[sectors * SECTOR] = knobs;
	seeds[nseeds++].len = (size_t)sectors * SECTOR + 1;
}

static void seed_gpt(u8 *disk, u64 sectors, u32 count, u32 esize)
{
	static const u16 name[] = { 'r', 'o', 'o', 't', 0xe9, 0xd83d, 0xde00 };
	struct gpt_layout l;
	u8 type[16], uuid[16];

	memset(disk, 0, (size_t)sectors * SECTOR);
	gpt_layout_init(&l, sectors, count, esize);
	guid_make(type, 0x0fc63daf, 0x8483, 0x4772, 0x8e793d69d8477de4ull);
	for (u32 i = 0; i < count; i += 2) {
		guid_make(uuid, 0x01234567, 0x89ab, 0xcdef, 0x0123456789abcd00ull + i);
		gpt_put_entry(disk, &l, i, type, uuid, l.first_usable + i, l.first_usable + i + 1,
			      name, JB_ARRAY_LEN(name) - i % 3);
	}
	gpt_seal(disk, &l);
}

/* A 4Kn GPT in 9 blocks of 4 KiB: 4 entries of 128 bytes (one block) at LBA 2 and 7, headers
 * at LBA 1 and 8, partitions in the usable blocks 3-6. */
static void seed_gpt4k(u8 *disk)
{
	static const u64 header_lba[2] = { 1, 8 }, array_lba[2] = { 2, 7 };
	u8 type[16], uuid[16];

	memset(disk, 0, 9 * 4096);
	guid_make(type, 0x0fc63daf, 0x8483, 0x4772, 0x8e793d69d8477de4ull);
	for (int k = 0; k < 2; k++)
		for (u32 i = 0; i < 4; i++) {
			u8 *e = disk + array_lba[k] * 4096 + i * 128;

			guid_make(uuid, 0x89abcdef, 0x0123, 0x4567, 0x0123456789abcd00ull + i);
			memcpy(e, type, 16);
			memcpy(e + 16, uuid, 16);
			put64(e + 32, 3 + i);
			put64(e + 40, 3 + i);
			put16(e + 56, (u16)('a' + i));
		}
	mbr_put_entry(disk, 0, 0, 0xee, 1, 8);
	mbr_put_boot_signature(disk);
	for (int k = 0; k < 2; k++) {
		u8 *h = disk + header_lba[k] * 4096;

		memcpy(h, "EFI PART", 8);
		put32(h + 8, 0x00010000);
		put32(h + 12, GPT_HDR_SIZE);
		put64(h + 24, header_lba[k]);
		put64(h + 32, header_lba[1 - k]);
		put64(h + 40, 3);
		put64(h + 48, 6);
		memset(h + 56, 0x4b, 16);
		put64(h + 72, array_lba[k]);
		put32(h + 80, 4);
		put32(h + 84, 128);
		gpt_fix_crcs_bs(disk, 9 * 4096, header_lba[k], 4096);
	}
}

static void seeds_make(void)
{
	static u8 disk[INPUT_CAP];

	/* Primaries, an extended partition with a chain of three EBRs. */
	memset(disk, 0, sizeof(disk));
	put32(disk + MBR_SIG_OFF, 0x1a2b3c4d);
	mbr_put_entry(disk, 0, 0x80, 0x83, 2, 8);
	mbr_put_entry(disk, 1, 0, 0x0f, 10, 40);
	mbr_put_entry(disk, 3, 0, 0x82, 50, 14);
	mbr_put_boot_signature(disk);
	ebr_put(disk + 10 * SECTOR, 0x83, 1, 9, 10, 10);
	ebr_put(disk + 20 * SECTOR, 0x07, 2, 8, 20, 10);
	ebr_put(disk + 30 * SECTOR, 0x83, 1, 19, 0, 0);
	seed_add(disk, 64, 0x00);
	seed_add(disk, 64, 0x1e);

	/* GPTs: 4 entries of 128 bytes, 5 of 384 (straddling sectors), 16 of 256. */
	seed_gpt(disk, 40, 4, 128);
	seed_add(disk, 40, 0x00);
	seed_add(disk, 40, 0x09);
	seed_gpt(disk, 48, 5, 384);
	seed_add(disk, 48, 0x02);
	seed_gpt(disk, 64, 16, 256);
	seed_add(disk, 64, 0x11);

	/* A GPT on 4 KiB blocks (the 512-byte scan of it finds no header at byte 512). */
	seed_gpt4k(disk);
	{
		static u8 scratch[65536];
		static struct part_table t;
		struct fuzz_disk f = { 4096, disk, 9, 9, scratch, sizeof(scratch), 0 };
		struct jb_diag d;

		/* The seed must be a valid table, or the 4Kn scans would start from nothing. */
		FUZZ_ASSERT(part_scan(fuzz_read, &f, 9, 4096, scratch, sizeof(scratch), &t, &d) == 0);
		FUZZ_ASSERT(t.gpt && !t.used_backup_gpt && t.n == 4);
	}
	seed_add(disk, 72, 0x00);
	seed_add(disk, 72, 0x0b);

	/* No table; an ELF header with 0x55AA by chance. */
	memset(disk, 0, 2 * SECTOR);
	seed_add(disk, 2, 0);
	memcpy(disk, "\x7f" "ELF", 4);
	mbr_put_boot_signature(disk);
	seed_add(disk, 2, 0);
}

/* Offsets worth aiming at: MBR entry fields, GPT header fields, GPT entry fields. */
static size_t field_offset(struct test_rng *rng)
{
	static const u16 gpt_header[] = { 8, 12, 16, 24, 32, 40, 48, 72, 80, 84, 88 };
	static const u8 gpt_entry[] = { 0, 15, 32, 40, 56 };
	static const u8 mbr_entry[] = { 0, 4, 8, 12 };

	switch (rng_below(rng, 5)) {
	case 0:
		return 446 + 16 * rng_below(rng, 4) + mbr_entry[rng_below(rng, 4)];
	case 1:
		return SECTOR + gpt_header[rng_below(rng, JB_ARRAY_LEN(gpt_header))];
	case 4: /* a 4Kn GPT header */
		return 4096 + gpt_header[rng_below(rng, JB_ARRAY_LEN(gpt_header))];
	case 2:
		return 2 * SECTOR + 128 * rng_below(rng, 8) + gpt_entry[rng_below(rng, 5)];
	default: /* an EBR's entries, wherever one may be */
		return SECTOR * rng_below(rng, 64) + 446 + 16 * rng_below(rng, 2) +
		       mbr_entry[rng_below(rng, 4)];
	}
}

static const u64 interesting[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x1ff, 0x200, 0xffff, 0x10000, 0xffffffff, 1ull << 32,
	INT64_MAX, UINT64_MAX, UINT64_MAX - 1, 5, 0x0f, 0x85, 0xee, 92, 128, 384, 512, 4096, 33, 34,
	0x00010000,
};

static size_t mutate(struct test_rng *rng, u8 *buf, size_t len)
{
	int rounds = (int)rng_range(rng, 1, 6);

	for (int r = 0; r < rounds; r++) {
		size_t at = len ? (size_t)rng_below(rng, len) : 0;

		switch (rng_below(rng, 8)) {
		case 0: /* flip a bit */
			if (len)
				buf[at] ^= (u8)(1u << rng_below(rng, 8));
			break;
		case 1: /* a random byte */
			if (len)
				buf[at] = (u8)rng_next(rng);
			break;
		case 2: /* the knob byte */
			if (len)
				buf[len - 1] = (u8)rng_next(rng);
			break;
		case 3:
		case 4: { /* an interesting value in a field, 1 to 8 bytes wide */
			u64 v = interesting[rng_below(rng, JB_ARRAY_LEN(interesting))];
			size_t w = (size_t)1 << rng_below(rng, 4);

			at = field_offset(rng);
			if (rng_chance(rng, 30))
				v = v - 1 + rng_below(rng, 3);
			for (size_t i = 0; i < w && at + i + 1 < len; i++)
				buf[at + i] = (u8)(v >> (8 * i));
			break;
		}
		case 5: /* cut the end (keeping the knob byte) */
			if (len > 1) {
				u8 knobs = buf[len - 1];

				len = (size_t)rng_range(rng, 1, len);
				buf[len - 1] = knobs;
			}
			break;
		case 6: { /* copy one sector over another (an EBR, a header elsewhere) */
			size_t sectors = len / SECTOR;

			if (sectors >= 2) {
				size_t from = (size_t)rng_below(rng, sectors);
				size_t to = (size_t)rng_below(rng, sectors);

				memmove(buf + to * SECTOR, buf + from * SECTOR, SECTOR);
			}
			break;
		}
		default: { /* splice in part of another seed */
			const struct seed *s = &seeds[rng_below(rng, nseeds)];
			size_t from = (size_t)rng_below(rng, s->len);
			size_t n = (size_t)rng_range(rng, 1, s->len - from);

			if (at + n > INPUT_CAP)
				n = INPUT_CAP - at;
			memcpy(buf + at, s->data + from, n);
			if (at + n > len)
				len = at + n;
			break;
		}
		}
	}
	return len;
}

static const u8 *seed_at(size_t i, size_t *len)
{
	*len = seeds[i].len;
	return seeds[i].data;
}

static size_t next_input(struct test_rng *rng, u8 *buf)
{
	size_t len;

	if (rng_chance(rng, 3)) { /* pure noise, with the boot signature half the time */
		len = (size_t)rng_below(rng, 4 * SECTOR);
		for (size_t i = 0; i < len; i++)
			buf[i] = (u8)rng_next(rng);
		if (len > SECTOR && rng_chance(rng, 50))
			mbr_put_boot_signature(buf);
		return len;
	}
	const struct seed *s = &seeds[rng_below(rng, nseeds)];

	memcpy(buf, s->data, s->len);
	return mutate(rng, buf, s->len);
}

int main(int argc, char **argv)
{
	seeds_make();

	const struct fuzz_driver driver = {
		.name = "fuzz_part",
		.seed_prefix = "part-seed",
		.default_seed = 0x9a27f022,
		.nseeds = nseeds,
		.seed = seed_at,
		.next_input = next_input,
		.input_cap = INPUT_CAP,
	};

	return fuzz_driver_main(&driver, argc, argv);
}

#endif
