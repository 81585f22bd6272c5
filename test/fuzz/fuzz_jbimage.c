/*
 * Fuzz target for the image header (lib/jbimage.c, lib/xxh64.c; docs/image-format.md):
 * jbi_check on the raw input and again with its CRC made right (so the later checks are
 * reached), jbi_memmap_check against a fixed machine map, jbi_check_table on the input's
 * bytes as a hash table, and XXH64 streamed in two pieces.
 * Built with libFuzzer or, with FUZZ_STANDALONE, as a seeded mutation runner under ASan/UBSan.
 *
 * Input layout: the first JBI_HEADER_SIZE bytes are the header (zero-padded when shorter);
 * 8 bytes after it, when present, are the image size the disk offers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "jbimage.h"
#include "plan.h"
#include "xxh64.h"
#include "../unit/unit_helpers.h"

#define FUZZ_ASSERT(cond)                                                                       \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* The machine the image is compared with: a -m 128M QEMU guest. */
static const struct mem_entry machine_map[] = {
	{ 0, 0x9fc00, 1 },
	{ 0x9fc00, 0x400, 2 },
	{ 0xf0000, 0x10000, 2 },
	{ 0x100000, 0x7ee0000, 1 },
	{ 0xfffc0000, 0x40000, 2 },
};

#define INPUT_WORDS ((JBI_HEADER_SIZE + 16) / 8)

static void check_diag(int rc, const struct jb_diag *d)
{
	FUZZ_ASSERT(rc < 0);
	FUZZ_ASSERT(strcmp(jb_strerror(rc), "unknown error") != 0);
	FUZZ_ASSERT(memchr(d->text, '\0', sizeof(d->text)) != NULL);
	FUZZ_ASSERT(d->text[0] != '\0');
}

/* What jbi_check promises about a header it accepts. */
static void check_accepted(const struct jbi_header *h, u64 image_bytes)
{
	FUZZ_ASSERT(jbi_has_magic(h->magic, sizeof(h->magic)));
	FUZZ_ASSERT(h->version == JBI_VERSION && h->header_size == JBI_HEADER_SIZE);
	FUZZ_ASSERT(h->header_crc == jbi_header_crc(h));
	FUZZ_ASSERT(h->state == JBI_STATE_VALID || h->state == JBI_STATE_USED);
	FUZZ_ASSERT((h->flags & ~(JBI_FLAG_MODE64 | JBI_FLAG_PAE)) == 0);
	FUZZ_ASSERT(h->nmem <= JBI_MAX_MEM && h->nseg <= JBI_MAX_SEGS);
	FUZZ_ASSERT(h->chunk_size == JBI_CHUNK_SIZE && h->hash_offset == JBI_HASH_OFFSET);
	FUZZ_ASSERT(h->core_offset == JBI_HEADER_SIZE + jbi_table_bytes(h->nchunk));
	FUZZ_ASSERT(h->core_offset >= h->hash_offset + (u64)h->nchunk * 8);
	FUZZ_ASSERT(h->core_offset % JBI_TABLE_ALIGN == 0 && h->core_offset <= image_bytes);
	FUZZ_ASSERT(h->core_size <= image_bytes - h->core_offset);
	FUZZ_ASSERT(memchr(h->release, '\0', sizeof(h->release)) != NULL);
	for (u32 i = 0; i < h->nmem; i++) { /* sorted, none empty, wrapping or overlapping */
		FUZZ_ASSERT(h->mem[i].len > 0 && h->mem[i].len - 1 <= UINT64_MAX - h->mem[i].start);
		FUZZ_ASSERT(i == 0 || (h->mem[i].start >= h->mem[i - 1].start &&
				       h->mem[i].start - h->mem[i - 1].start >= h->mem[i - 1].len));
	}
}

/* An accepted header's map against the machine's: equal usable RAM, or a named difference. */
static void fuzz_memmap(const struct jbi_header *h)
{
	static struct mem_entry e[JBI_MAX_MEM];
	static struct ram_map now, then;
	struct jb_diag d = { "" };

	FUZZ_ASSERT(ram_map_build(machine_map, JB_ARRAY_LEN(machine_map), &now, &d) == 0);
	int rc = jbi_memmap_check(h, &now, &d);

	if (rc) {
		FUZZ_ASSERT(rc == -JB_EMEMMAP || rc == -JB_EBADIMG);
		check_diag(rc, &d);
		return;
	}
	for (u32 i = 0; i < h->nmem; i++)
		e[i] = (struct mem_entry){ h->mem[i].start, h->mem[i].len, h->mem[i].type };
	FUZZ_ASSERT(ram_map_build(e, h->nmem, &then, &d) == 0);
	FUZZ_ASSERT(then.n == now.n);
	for (u32 i = 0; i < now.n; i++)
		FUZZ_ASSERT(then.r[i].start == now.r[i].start && then.r[i].end == now.r[i].end);
}

static void fuzz_check(const struct jbi_header *h, u64 image_bytes)
{
	struct jb_diag d = { "" };
	int rc = jbi_check(h, image_bytes, &d);

	if (rc) {
		FUZZ_ASSERT(rc == -JB_EBADIMG || rc == -JB_ETRUNC);
		check_diag(rc, &d);
		return;
	}
	check_accepted(h, image_bytes);
	fuzz_memmap(h);
}

/*
 * Any split of the input hashes like the whole; the input read as a hash table of its whole
 * u64s passes jbi_check_table exactly when table_xxh64 is their XXH64.
 */
static void fuzz_hash(const uint8_t *data, size_t size)
{
	static u64 table[INPUT_WORDS];
	static struct jbi_header h;
	struct xxh64 one, two;
	struct jb_diag d = { "" };
	size_t cut = size ? data[0] % (size + 1) : 0;

	xxh64_init(&one, 0);
	xxh64_update(&one, data, size);
	xxh64_init(&two, 0);
	xxh64_update(&two, data, cut);
	xxh64_update(&two, data + cut, size - cut);
	FUZZ_ASSERT(xxh64_final(&one) == xxh64_final(&two));
	h.nchunk = (u32)(size / 8 < INPUT_WORDS ? size / 8 : INPUT_WORDS);
	memcpy(table, data, h.nchunk * 8);
	h.table_xxh64 = xxh64(table, h.nchunk * 8, 0);
	FUZZ_ASSERT(jbi_check_table(&h, table, &d) == 0);
	h.table_xxh64 ^= 1u << (size % 64 % 32);
	FUZZ_ASSERT(jbi_check_table(&h, table, &d) == -JB_EBADIMG);
	check_diag(-JB_EBADIMG, &d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jbi_header h;
	u64 image_bytes = UINT64_MAX;
	size_t n = size < sizeof(h) ? size : sizeof(h);

	memset(&h, 0, sizeof(h));
	memcpy(&h, data, n);
	if (size >= sizeof(h) + 8) {
		image_bytes = 0;
		for (int i = 7; i >= 0; i--)
			image_bytes = image_bytes << 8 | data[sizeof(h) + i];
	}
	fuzz_check(&h, image_bytes);
	/* The same header with a right CRC: now the fields after the CRC decide. */
	h.header_crc = jbi_header_crc(&h);
	fuzz_check(&h, image_bytes);
	fuzz_hash(data, size);
	return 0;
}

#ifdef FUZZ_STANDALONE

#include "fuzz_driver.h"

#define INPUT_CAP (JBI_HEADER_SIZE + 16)
#define NSEEDS 3

static u8 seeds[NSEEDS][INPUT_CAP];
static size_t seed_len[NSEEDS];

/* A header as jbwrite writes it for the machine above, and image sizes around its core. */
static void seeds_make(void)
{
	struct jbi_header h = { 0 };

	memcpy(h.magic, JBI_MAGIC, 8);
	h.version = JBI_VERSION;
	h.state = JBI_STATE_VALID;
	h.header_size = JBI_HEADER_SIZE;
	h.flags = JBI_FLAG_MODE64;
	h.nmem = JB_ARRAY_LEN(machine_map);
	for (u32 i = 0; i < h.nmem; i++)
		h.mem[i] = (struct jbi_mem){ machine_map[i].start, machine_map[i].len,
					     machine_map[i].type, 0 };
	h.entry = 0x1000d40;
	h.nseg = 4;
	h.nchunk = 5;
	h.chunk_size = JBI_CHUNK_SIZE;
	h.hash_offset = JBI_HASH_OFFSET;
	h.core_offset = jbi_core_offset(h.nchunk);
	h.core_size = 0x1000000;
	h.created = 1700000000;
	strcpy(h.release, "6.1.0-13-amd64");
	h.header_crc = jbi_header_crc(&h);
	for (int s = 0; s < NSEEDS; s++) {
		u64 image = h.core_offset + h.core_size - (s == 1);

		memcpy(seeds[s], &h, sizeof(h));
		seed_len[s] = sizeof(h);
		if (s < 2) {
			put64(seeds[s] + sizeof(h), image);
			seed_len[s] += 8;
		}
	}
	memcpy(seeds[2] + 12, "USED", 4);
}

static const u8 *seed_at(size_t i, size_t *len)
{
	*len = seed_len[i];
	return seeds[i];
}

/* Offsets of the fields worth aiming at: the fixed fields, the first map entries, the release. */
static const u16 field_at[] = { 0, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 68, 72, 143,
				144, 152, 160, 168, 176, 184, 192, 3216, 3224, 3232, 3236, 8191 };
static const u64 interesting[] = { 0, 1, 2, 3, 4, 0x80, 127, 128, 129, 511, 512, 513, 8192, 4096,
				   0xffffffff, 1ull << 32, UINT64_MAX, UINT64_MAX - 8191,
				   0x9fc00, 0x100000, 0x7fe0000, 0x44455355, 0x444C4156,
				   0x1000000, 0x3000, 12288, 16384, 8193 };

static size_t next_input(struct test_rng *rng, u8 *buf)
{
	size_t s = (size_t)rng_below(rng, NSEEDS), len = seed_len[s];
	int rounds = (int)rng_range(rng, 1, 4);

	memcpy(buf, seeds[s], len);
	for (int r = 0; r < rounds; r++) {
		size_t at = rng_chance(rng, 70) ? field_at[rng_below(rng, JB_ARRAY_LEN(field_at))]
						 : (size_t)rng_below(rng, len);

		switch (rng_below(rng, 4)) {
		case 0: /* flip a bit */
			buf[at % len] ^= (u8)(1u << rng_below(rng, 8));
			break;
		case 1: { /* an interesting value, 1 to 8 bytes wide */
			u64 v = interesting[rng_below(rng, JB_ARRAY_LEN(interesting))];
			size_t w = (size_t)1 << rng_below(rng, 4);

			for (size_t i = 0; i < w && at + i < len; i++)
				buf[at + i] = (u8)(v >> (8 * i));
			break;
		}
		case 2: /* cut the end */
			len = (size_t)rng_below(rng, len + 1);
			if (len == 0)
				return 0;
			break;
		default: /* the image size */
			if (len < JBI_HEADER_SIZE + 8) {
				memset(buf + len, 0, JBI_HEADER_SIZE + 8 - len);
				len = JBI_HEADER_SIZE + 8;
			}
			put64(buf + JBI_HEADER_SIZE, rng_chance(rng, 50) ? rng_next(rng)
					 : 12288 + rng_below(rng, 0x2000000));
			break;
		}
	}
	return len;
}

int main(int argc, char **argv)
{
	seeds_make();

	const struct fuzz_driver driver = {
		.name = "fuzz_jbimage",
		.seed_prefix = "jbimage",
		.default_seed = 0x1b1,
		.nseeds = NSEEDS,
		.seed = seed_at,
		.next_input = next_input,
		.input_cap = INPUT_CAP,
	};

	return fuzz_driver_main(&driver, argc, argv);
}

#endif
