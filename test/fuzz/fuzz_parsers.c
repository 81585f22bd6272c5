/*
 * Fuzz target for the pure parsers (DESIGN.md §7): the ELF core reader, the command line, the
 * memory map and, when both of the latter parse, the restore plan. Built with libFuzzer
 * (`make fuzz`) or, with FUZZ_STANDALONE, as a plain program that replays seeded random
 * mutations of a few hand-made inputs under gcc's ASan/UBSan.
 *
 * Input layout: the whole input is the image (and, separately, a command line and a table of
 * struct mem_entry). For the plan, the last byte N says that the N % 16 mem_entry records just
 * before it are this machine's memory map, and the byte before those picks the live ranges, the
 * address limit, the staging limit and the final stage's size; so an ELF core with a map
 * appended exercises everything.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfcore.h"
#include "errors.h"
#include "options.h"
#include "plan.h"
#include "../unit/unit_helpers.h"

/* A broken promise is a crash, so that both libFuzzer and the standalone runner stop on it. */
#define FUZZ_ASSERT(cond)                                                                       \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                \
		}                                                                               \
	} while (0)

static u64 load64(const u8 *p)
{
	u64 v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void check_diag(int rc, const struct jb_diag *d)
{
	FUZZ_ASSERT(rc < 0);
	FUZZ_ASSERT(strcmp(jb_strerror(rc), "unknown error") != 0);
	FUZZ_ASSERT(memchr(d->text, '\0', sizeof(d->text)) != NULL);
	FUZZ_ASSERT(d->text[0] != '\0');
}

/* What elfcore_parse promises about an accepted core. */
static void check_core(const struct elf_core *core, u64 image_size)
{
	FUZZ_ASSERT(core->elf_class == 32 || core->elf_class == 64);
	FUZZ_ASSERT(core->machine == EM_386 || core->machine == EM_X86_64);
	FUZZ_ASSERT(core->nseg >= 1 && core->nseg <= ELFCORE_MAX_SEGS);
	for (u32 i = 0; i < core->nseg; i++) {
		const struct elf_seg *s = &core->seg[i];

		FUZZ_ASSERT(s->memsz > 0 && s->filesz <= s->memsz);
		FUZZ_ASSERT(s->offset <= image_size && s->filesz <= image_size - s->offset);
		FUZZ_ASSERT(s->paddr < (1ull << 52) && s->memsz <= (1ull << 52) - s->paddr);
		FUZZ_ASSERT(i == 0 || s->phdr_index > core->seg[i - 1].phdr_index);
	}
}

static int fuzz_elf(const u8 *data, size_t size, u64 image_size, struct elf_core *core)
{
	struct jb_diag d = { "" };
	u64 need = 0;
	int rc = elfcore_headers_len(data, size, image_size, &need, &d);

	if (rc) {
		check_diag(rc, &d);
		FUZZ_ASSERT(elfcore_parse(data, size, image_size, core, &d) == rc);
		return rc;
	}
	FUZZ_ASSERT(need <= image_size);
	rc = elfcore_parse(data, size, image_size, core, &d);
	if (rc) {
		check_diag(rc, &d);
		return rc;
	}
	FUZZ_ASSERT(need <= size);
	check_core(core, image_size);
	return 0;
}

static void fuzz_cmdline(const u8 *data, size_t size)
{
	char *line = malloc(size + 1);
	struct jb_options o;
	struct jb_diag d = { "" };

	FUZZ_ASSERT(line != NULL);
	if (size)
		memcpy(line, data, size);
	line[size] = '\0';
	options_set_defaults(&o);
	int rc = cmdline_parse(line, &o, &d);

	if (rc) {
		FUZZ_ASSERT(rc == -JB_ECMDLINE);
		check_diag(rc, &d);
		FUZZ_ASSERT(strncmp(d.text, "bad value in '", 14) == 0);
	} else {
		FUZZ_ASSERT(memchr(o.unknown, '\0', sizeof(o.unknown)) != NULL);
		FUZZ_ASSERT(memchr(o.resume_name, '\0', sizeof(o.resume_name)) != NULL);
		FUZZ_ASSERT(o.resume_unit <= 0xff);
		FUZZ_ASSERT(o.resume_part <= 128);
		FUZZ_ASSERT(o.pae >= -1 && o.pae <= 1);
		FUZZ_ASSERT(o.serial_port != 0 && o.serial_baud >= 50 && o.serial_baud <= 115200);
		FUZZ_ASSERT(o.console >= 1 && o.console <= 3);
	}
	free(line);
}

static int fuzz_ram(const u8 *bytes, size_t n_entries, struct ram_map *ram)
{
	struct mem_entry *e = malloc((n_entries ? n_entries : 1) * sizeof(*e));
	struct jb_diag d = { "" };

	FUZZ_ASSERT(e != NULL);
	if (n_entries)
		memcpy(e, bytes, n_entries * sizeof(*e)); /* the bytes need not be aligned */
	int rc = ram_map_build(e, (u32)n_entries, ram, &d);

	free(e);
	if (rc) {
		FUZZ_ASSERT(rc == -JB_ETOOBIG || rc == -JB_EMEMMAP);
		check_diag(rc, &d);
		return rc;
	}
	FUZZ_ASSERT(ram->n >= 1 && ram->n <= RAM_MAX_RANGES);
	for (u32 i = 0; i < ram->n; i++) {
		FUZZ_ASSERT(ram->r[i].start < ram->r[i].end);
		FUZZ_ASSERT(i == 0 || ram->r[i - 1].end < ram->r[i].start); /* sorted, merged */
		FUZZ_ASSERT(ram_map_contains(ram, ram->r[i].start, ram->r[i].end));
		FUZZ_ASSERT(!ram_map_contains(ram, ram->r[i].start, ram->r[i].end + (ram->r[i].end < UINT64_MAX)) ||
			    ram->r[i].end == UINT64_MAX);
	}
	return 0;
}

static bool overlaps(u64 a, u64 a_end, u64 b, u64 b_end)
{
	return a < b_end && b < a_end;
}

/* Is [start, end) clear of every destination, every live range and every stage but `skip`? */
static bool area_clear(const struct elf_core *core, const struct plan_input *in,
		       const struct plan *plan, u32 skip, u64 start, u64 end)
{
	for (u32 i = 0; i < core->nseg; i++)
		if (overlaps(start, end, core->seg[i].paddr, core->seg[i].paddr + core->seg[i].memsz))
			return false;
	for (u32 l = 0; l < in->nlive; l++)
		if (overlaps(start, end, in->live[l].start, in->live[l].end))
			return false;
	for (u32 s = 0; s < plan->nstages; s++)
		if (s != skip && overlaps(start, end, plan->stage[s].at,
					  plan->stage[s].at + (plan->stage[s].end - plan->stage[s].start)))
			return false;
	return true;
}

/* A hole for staging or the final stage: aligned, below stage_limit, in RAM, clear of the rest. */
static void check_hole(const struct elf_core *core, const struct plan_input *in,
		       const struct plan *plan, u32 skip, u64 at, u64 size)
{
	FUZZ_ASSERT(at % PLAN_HOLE_ALIGN == 0);
	FUZZ_ASSERT(size <= in->stage_limit && at <= in->stage_limit - size);
	FUZZ_ASSERT(ram_map_contains(in->ram, at, at + size));
	FUZZ_ASSERT(area_clear(core, in, plan, skip, at, at + size));
}

/* The stage whose range holds [dest, dest + len) and which `target` points into, or -1. */
static int stage_of(const struct plan *plan, u64 dest, u64 len, u64 target)
{
	for (u32 s = 0; s < plan->nstages; s++) {
		const struct plan_stage *st = &plan->stage[s];

		if (dest >= st->start && dest <= st->end && len <= st->end - dest &&
		    target == st->at + (dest - st->start))
			return (int)s;
	}
	return -1;
}

static void fuzz_plan(const struct elf_core *core, const struct ram_map *ram, u8 knobs)
{
	/* The stub's usual live ranges, its stack inside its image (live ranges may overlap), tables. */
	static const struct live_range live[] = {
		{ 0, 0x500, "IVT/BDA" },
		{ 0x9fc00, 0x100000, "EBDA and ROM" },
		{ 0x100000, 0x140000, "stub image" },
		{ 0x130000, 0x134000, "stub stack" },
		{ 0x200000, 0x204000, "page tables" },
	};
	static const u64 limits[] = { UINT64_MAX, 1ull << 32, 1ull << 36, 0x20000000 };
	static const u64 stage_limits[] = { 1ull << 32, UINT64_MAX, 0x100000, 0x20000000 };
	static const u64 final_sizes[] = { 0x3000, 0, 0x1001 };
	static struct plan plan;
	struct plan_input in = {
		.core = core,
		.ram = ram,
		.live = live,
		.nlive = knobs % 6,
		.addr_limit = limits[knobs / 6 % 4],
		.stage_limit = stage_limits[knobs / 24 % 4],
		.final_size = final_sizes[knobs / 96 % 3],
	};
	struct jb_diag d = { "" };
	int rc = plan_build(&in, &plan, &d);

	if (rc) {
		FUZZ_ASSERT(rc == -JB_ENOTRAM || rc == -JB_ELIVE || rc == -JB_EUNSUPPORTED ||
			    rc == -JB_ETOOBIG);
		check_diag(rc, &d);
		return;
	}
	u64 read = 0, zero = 0, checked = 0, covered = 0, total = 0, staged = 0;
	u32 seg = 0;

	for (u32 i = 0; i < core->nseg; i++)
		total += core->seg[i].memsz;
	FUZZ_ASSERT(plan.nops <= PLAN_MAX_OPS);
	FUZZ_ASSERT(plan.nstages <= PLAN_MAX_LIVE && plan.ncopies <= PLAN_MAX_COPIES);
	/* Staging areas and the final stage's area are holes of their own. */
	for (u32 s = 0; s < plan.nstages; s++) {
		const struct plan_stage *st = &plan.stage[s];

		FUZZ_ASSERT(st->live < in.nlive && st->start < st->end);
		FUZZ_ASSERT(st->start >= live[st->live].start && st->end <= live[st->live].end);
		check_hole(core, &in, &plan, s, st->at, st->end - st->start);
	}
	if (in.final_size)
		check_hole(core, &in, &plan, UINT32_MAX, plan.final_at, in.final_size);
	for (u32 k = 0; k < plan.nops; k++) {
		const struct plan_op *op = &plan.op[k];
		const struct elf_seg *s = &core->seg[op->seg];

		FUZZ_ASSERT(op->seg < core->nseg && op->seg >= seg);
		seg = op->seg;
		FUZZ_ASSERT(op->len > 0);
		FUZZ_ASSERT(op->dest >= s->paddr && op->dest + op->len <= s->paddr + s->memsz);
		FUZZ_ASSERT(op->dest + op->len <= in.addr_limit);
		FUZZ_ASSERT(ram_map_contains(ram, op->dest, op->dest + op->len));
		/* Written where it belongs, or into one stage's copy of a live range; never on a live range. */
		FUZZ_ASSERT(op->target == op->dest || stage_of(&plan, op->dest, op->len, op->target) >= 0);
		for (u32 l = 0; l < in.nlive; l++)
			FUZZ_ASSERT(!overlaps(op->target, op->target + op->len, live[l].start, live[l].end));
		FUZZ_ASSERT(!in.final_size ||
			    !overlaps(op->target, op->target + op->len, plan.final_at, plan.final_at + in.final_size));
		switch (op->kind) {
		case PLAN_READ:
		case PLAN_CHECK:
			FUZZ_ASSERT(op->dest + op->len <= s->paddr + s->filesz);
			FUZZ_ASSERT(op->file_off - s->offset == op->dest - s->paddr);
			read += op->len;
			checked += op->kind == PLAN_CHECK ? op->len : 0;
			break;
		case PLAN_ZERO:
		case PLAN_CHECK_ZERO:
			FUZZ_ASSERT(op->dest >= s->paddr + s->filesz);
			zero += op->kind == PLAN_ZERO ? op->len : 0;
			checked += op->kind == PLAN_CHECK_ZERO ? op->len : 0;
			break;
		default:
			FUZZ_ASSERT(!"unknown op kind");
		}
		covered += op->len;
	}
	/* Every byte of every segment is in exactly one op (ops of a segment do not overlap). */
	FUZZ_ASSERT(covered == total);
	FUZZ_ASSERT(plan.bytes_read == read && plan.bytes_zero == zero && plan.bytes_checked == checked);
	/* Final copies: from a stage's copy to its home, within the destinations, never over a later source. */
	for (u32 c = 0; c < plan.ncopies; c++) {
		const struct plan_copy *cp = &plan.copy[c];
		bool home = false;

		FUZZ_ASSERT(cp->len > 0 && stage_of(&plan, cp->dst, cp->len, cp->src) >= 0);
		for (u32 i = 0; i < plan.ncovered; i++)
			home |= cp->dst >= plan.covered[i].start && cp->dst + cp->len <= plan.covered[i].end;
		FUZZ_ASSERT(home);
		for (u32 later = c + 1; later < plan.ncopies; later++)
			FUZZ_ASSERT(!overlaps(cp->dst, cp->dst + cp->len, plan.copy[later].src,
					      plan.copy[later].src + plan.copy[later].len));
		staged += cp->len;
	}
	FUZZ_ASSERT(plan.bytes_staged == staged);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct elf_core core, scratch;
	static struct ram_map ram;
	u64 tail = size >= 8 ? load64(data + size - 8) : size;

	/* The image as the disk holds it; then a smaller and a larger disk taken from the input. */
	int elf_rc = fuzz_elf(data, size, size, &core);

	fuzz_elf(data, size, tail % (size + 1), &scratch);
	fuzz_elf(data, size, size + (tail >> (tail & 63)), &scratch);
	fuzz_elf(data, size, UINT64_MAX - (tail & 0xffff), &scratch);

	fuzz_cmdline(data, size);

	/* All of the input as a memory map. */
	fuzz_ram(data, size / sizeof(struct mem_entry), &ram);

	/* The trailing map, and the plan when the image parsed as well. */
	if (size >= 1) {
		size_t n = data[size - 1] % 16, map_len = n * sizeof(struct mem_entry);

		if (map_len < size - 1 && fuzz_ram(data + size - 1 - map_len, n, &ram) == 0 && elf_rc == 0)
			fuzz_plan(&core, &ram, data[size - 2 - map_len]);
	}
	return 0;
}

#ifdef FUZZ_STANDALONE

#include "fuzz_driver.h"

/* ---- the standalone runner: seeds, mutations, and a loop ---- */

#define SEED_CAP 4096
#define INPUT_CAP 8192

struct seed {
	size_t len;
	u8 data[SEED_CAP];
};

static struct seed seeds[10];
static size_t nseeds;

static void seed_add(const void *data, size_t len)
{
	FUZZ_ASSERT(nseeds < sizeof(seeds) / sizeof(seeds[0]) && len <= SEED_CAP);
	memcpy(seeds[nseeds].data, data, len);
	seeds[nseeds++].len = len;
}

/* Appends a memory map and its count byte to an image (see the input layout above). */
static size_t append_map(u8 *buf, size_t len, const struct mem_entry *e, u8 n, u8 knobs)
{
	buf[len++] = knobs;
	memcpy(buf + len, e, n * sizeof(*e));
	len += n * sizeof(*e);
	buf[len++] = n;
	return len;
}

static void seeds_make(void)
{
	static const struct mem_entry map[] = {
		{ 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x400, 2 },
		{ 0xf0000, 0x10000, 2 },
		{ 0x100000, 0x7ee0000, 1 },
	};
	/* A small ELF64 vmcore: a note, data, a duplicate, a zero-filled tail, one over the stub. */
	static const struct core_phdr ph64[] = {
		{ PT_NOTE, 0x200, 0, 0x20, 0x20 },
		{ PT_LOAD, 0x220, 0x200000, 0x40, 0x40 },
		{ PT_LOAD, 0x220, 0x200000, 0x40, 0x40 },
		{ PT_LOAD, 0x260, 0x300000, 0x20, 0x1000 },
		{ PT_LOAD, 0x280, 0x1000, 0x10, 0x10 },
		{ PT_LOAD, 0x280, 0x133f00, 0x10, 0x200 }, /* on the stub's image and stack: staged */
		{ PT_LOAD, 0x280, 0x1fff00, 0x10, 0x200 }, /* runs onto the page tables */
	};
	static const struct core_phdr ph32[] = {
		{ PT_LOAD, 0x100, 0x400000, 0x40, 0x80 },
		{ PT_LOAD, 0x140, 0x400040, 0x20, 0x20 },
	};
	static u8 buf[SEED_CAP];
	size_t len;

	memset(buf, 0, sizeof(buf));
	len = core_write(buf, 64, EM_X86_64, ph64, sizeof(ph64) / sizeof(ph64[0]));
	for (size_t i = len; i < 0x290; i++)
		buf[i] = (u8)i;
	len = append_map(buf, 0x290, map, 4, 0x05); /* five live ranges, no limits */
	seed_add(buf, len);

	memset(buf, 0, sizeof(buf));
	len = core_write(buf, 32, EM_386, ph32, sizeof(ph32) / sizeof(ph32[0]));
	len = append_map(buf, 0x160, map, 4, 0x06);
	seed_add(buf, len);

	static const char cmdline[] =
		"/boot/jumpback.elf resume=ahci:0:1 resume_offset=0x800 entry=0x1000000 mode=64 pae=0 "
		"driver=ahci verify=on keep dryrun onerror=reboot console=both serial=0x3f8,115200 "
		"resume=PARTUUID=0a1b2c3d-02 foo=bar quiet";
	seed_add(cmdline, sizeof(cmdline) - 1);
	static const char cmdline2[] =
		"keep resume=bios:0x80:2 resume=PARTLABEL=swap resume=auto mode=32 mode=auto\t"
		"driver=bios driver=auto verify=off onerror=halt console=vga console=serial entry=12345";
	seed_add(cmdline2, sizeof(cmdline2) - 1);

	memset(buf, 0, 64);
	memcpy(buf, "KDUMP   ", 8);
	seed_add(buf, 64);
	memcpy(buf, "makedumpfile", 12);
	seed_add(buf, 64);
	seed_add(map, sizeof(map));
}

static const u64 interesting[] = {
	0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x10000, 0xffffffff, 1ull << 32,
	1ull << 52, (1ull << 52) - 1, INT64_MAX, UINT64_MAX, UINT64_MAX - 1, 4, 56, 64, 62, 3,
};

static size_t mutate(struct test_rng *rng, u8 *buf, size_t len)
{
	int rounds = (int)rng_range(rng, 1, 8);

	for (int r = 0; r < rounds; r++) {
		size_t at = len ? (size_t)rng_below(rng, len) : 0;

		switch (rng_below(rng, 9)) {
		case 0: /* flip a bit */
			if (len)
				buf[at] ^= (u8)(1u << rng_below(rng, 8));
			break;
		case 1: /* a random byte */
			if (len)
				buf[at] = (u8)rng_next(rng);
			break;
		case 2: { /* an interesting value, 1 to 8 bytes wide */
			u64 v = interesting[rng_below(rng, sizeof(interesting) / sizeof(interesting[0]))];
			size_t w = (size_t)1 << rng_below(rng, 4);

			if (rng_chance(rng, 30))
				v = v - 1 + rng_below(rng, 3);
			for (size_t i = 0; i < w && at + i < len; i++)
				buf[at + i] = (u8)(v >> (8 * i));
			break;
		}
		case 3: /* cut the end */
			len = len ? (size_t)rng_below(rng, len + 1) : 0;
			break;
		case 4: /* grow with zeros or noise */
		{
			size_t add = (size_t)rng_range(rng, 1, 256);

			if (len + add > INPUT_CAP)
				add = INPUT_CAP - len;
			for (size_t i = 0; i < add; i++)
				buf[len + i] = rng_chance(rng, 50) ? 0 : (u8)rng_next(rng);
			len += add;
			break;
		}
		case 5: /* delete a block */
			if (len) {
				size_t n = (size_t)rng_range(rng, 1, len - at);

				memmove(buf + at, buf + at + n, len - at - n);
				len -= n;
			}
			break;
		case 6: /* duplicate a block (a repeated program header, a repeated word) */
			if (len) {
				size_t n = (size_t)rng_range(rng, 1, len - at < 64 ? len - at : 64);

				if (len + n <= INPUT_CAP) {
					memmove(buf + at + n, buf + at, len - at);
					len += n;
				}
			}
			break;
		case 7: { /* splice in part of another seed */
			const struct seed *s = &seeds[rng_below(rng, nseeds)];
			size_t from = (size_t)rng_below(rng, s->len), n = (size_t)rng_range(rng, 1, s->len - from);

			if (at + n > INPUT_CAP)
				n = INPUT_CAP - at;
			memcpy(buf + at, s->data + from, n);
			if (at + n > len)
				len = at + n;
			break;
		}
		default: /* a command-line separator or '=' */
			if (len)
				buf[at] = " \t=:,"[rng_below(rng, 5)];
			break;
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

	if (rng_chance(rng, 5)) { /* pure noise */
		len = (size_t)rng_below(rng, 512);
		for (size_t i = 0; i < len; i++)
			buf[i] = (u8)rng_next(rng);
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
		.name = "fuzz_parsers",
		.seed_prefix = "seed",
		.default_seed = 0xf022,
		.nseeds = nseeds,
		.seed = seed_at,
		.next_input = next_input,
		.input_cap = INPUT_CAP,
	};

	return fuzz_driver_main(&driver, argc, argv);
}

#endif
