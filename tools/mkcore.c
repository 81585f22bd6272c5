/*
 * mkcore: writes a synthetic ELF core (shaped like /proc/vmcore or QEMU dump-guest-memory)
 * around the kernel-A test payload and patches the payload's manifest to describe it.
 * Test input for the stub, good or deliberately broken: DESIGN.md sections 3 (Images) and 7.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"
#include "fnv1a.h"
#include "manifest.h"
#include "pattern.h"
#include "types.h"

#define TOOL_NAME "mkcore"
#include "tool_error.h"

/* Headers and the manifest are written as host structs: the host must be x86-like. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "mkcore writes little-endian ELF");

#define SECTOR_SIZE 512u
#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define ADDR_LIMIT_32 (1ull << 32)
#define MAX_SEGS 16
#define MAX_PAYLOAD_LOADS 8
#define CHUNK_SIZE (1u << 20)
#define GAP_MAX 508u /* random gap 1..GAP_MAX, then up to 3 more bytes to fix the alignment */

/* --layout default, for a QEMU guest with -m 128M; jumpback lives at 1-4 MiB. */
#define IVT_PAGE_LEN 0x1000ull
#define LOW_ADDR 0x10000ull
#define LOW_LEN 0x30000ull
#define MID_ADDR 0x500000ull
#define MID_LEN (3 * MIB + 0x124)
#define TAIL_ADDR 0x900000ull
#define TAIL_FILESZ (1 * MIB)
#define TAIL_MEMSZ (3 * MIB)
#define PAYLOAD_MIN 0x1000000ull
#define BIG_ADDR 0x2000000ull
#define BIG_MB_DEFAULT 16u
#define BIG_MB_MAX 2048u
#define ODD_ADDR 0x4000002ull
#define ODD_LEN 0x40000ull
#define BAD_OUTSIDE_ADDR 0xC0000000ull
#define BAD_OUTSIDE_LEN (1 * MIB)
#define BAD_STUB_ADDR 0x180000ull
/* A zero-fill from 1 MiB to the top of a -m 128M guest's RAM: no hole left to stage in. */
#define BAD_NO_HOLE_START 0x100000ull
#define BAD_NO_HOLE_END 0x7FDF000ull
#define BAD_STUB_LEN 0x10000ull
#define BAD_OVERLAP_LEN 0x10000ull
/* --layout cover-stub (-m 128M): all low RAM and 1-8 MiB, over jumpback (0x100000-~0x240000). */
#define COVER_LOW_LEN 0x9F000ull /* up to the EBDA QEMU's BIOS keeps at 0x9FC00 */
#define COVER_STUB_ADDR 0x100000ull
#define COVER_STUB_END 0x800000ull
#define COVER_TAIL_FILESZ (256 * KIB)
#define COVER_TAIL_MEMSZ (1 * MIB)
/* --layout high (-m 5G: QEMU's pc machine puts 3 GiB below 4 GiB, 2 GiB from 4 GiB up). */
#define HIGH_ADDR 0x100000000ull
#define HIGH_LEN (8 * MIB + 0x124)
#define HIGH_ODD_ADDR 0x120000002ull
#define HIGH_ODD_LEN (64 * KIB)
#define HIGH_TAIL_ADDR 0x140000000ull
#define HIGH_TAIL_FILESZ (1 * MIB)
#define HIGH_TAIL_MEMSZ (64 * MIB)
/* --high-mb N: a big segment of N MiB from 4 GiB + 1 GiB, past --layout high's segments. */
#define BIG_HIGH_ADDR 0x140000000ull
#define BIG_HIGH_MB_MAX 8192u

/* The ELF pieces only this tool needs: the payload's section headers and symbols. */
#define SHT_SYMTAB 2
struct elf32_shdr {
	u32 sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info,
		sh_addralign, sh_entsize;
};
struct elf32_sym {
	u32 st_name, st_value, st_size;
	u8 st_info, st_other;
	u16 st_shndx;
};
_Static_assert(sizeof(struct elf32_shdr) == 40, "ELF32 section header");
_Static_assert(sizeof(struct elf32_sym) == 16, "ELF32 symbol");

#define NT_PRSTATUS 1
#define NOTE_NAME "CORE"
#define NOTE_DESC_LEN 16

enum bad_kind { BAD_NONE, BAD_MAGIC, BAD_TRUNCATE, BAD_OUTSIDE_RAM, BAD_OVER_STUB,
		BAD_OVERLAP_DIFFER, BAD_COMPRESSED, BAD_NO_HOLE };

static const char *const bad_names[] = {
	[BAD_NONE] = "none",
	[BAD_MAGIC] = "magic",
	[BAD_TRUNCATE] = "truncate",
	[BAD_OUTSIDE_RAM] = "outside-ram",
	[BAD_OVER_STUB] = "over-stub",
	[BAD_OVERLAP_DIFFER] = "overlap-differ",
	[BAD_COMPRESSED] = "compressed",
	[BAD_NO_HOLE] = "no-hole",
};

enum layout_kind { LAYOUT_DEFAULT, LAYOUT_COVER_STUB, LAYOUT_HIGH };

static const char *const layout_names[] = {
	[LAYOUT_DEFAULT] = "default",
	[LAYOUT_COVER_STUB] = "cover-stub",
	[LAYOUT_HIGH] = "high",
};

struct options {
	const char *payload;
	const char *out;
	u32 seed;
	bool elf32;
	bool pae; /* the payload expects CR4.PAE at entry (jumpback's pae=1) */
	bool page_offsets; /* p_offset = p_paddr modulo 4 KiB, as in Linux's /proc/vmcore */
	u16 machine;
	u32 big_mb;
	u32 high_mb;
	enum layout_kind layout;
	enum bad_kind bad;
};

/* One PT_LOAD of the output: literal bytes (the payload) or the pattern for its addresses. */
struct seg {
	const char *what;
	u64 paddr, filesz, memsz;
	u64 offset;         /* of the data in the output file; set by layout_place */
	u8 *bytes;          /* NULL: pattern bytes for seed */
	u32 seed;
	bool odd_delta;     /* (paddr - offset) odd: sector reads cannot land in place */
	bool may_overlap;   /* a deliberate duplicate or conflict */
};

struct payload {
	u8 *file;
	size_t size;
	struct elf32_phdr load[MAX_PAYLOAD_LOADS];
	u32 nload;
	u32 entry, manifest, manifest_size, hash_start, hash_end;
	u32 return_now; /* jbt_return_now: a bare `ret`, for testing the way back (0: none) */
};

struct core {
	struct seg seg[MAX_SEGS];
	u32 nseg;
	u32 payload_seg;    /* index of the payload's first load in seg[] */
	struct jbt_manifest man;
	u64 note_offset;
	u64 cut;            /* --bad truncate: bytes kept before padding */
	u64 rng;
};

static void usage_print(FILE *f)
{
	fprintf(f,
		"usage: mkcore --payload PAYLOAD.elf --out FILE [--seed N] [--elf32] [--pae]\n"
		"              [--machine i386|x86_64] [--big-mb N] [--high-mb N] [--layout NAME]\n"
		"              [--bad KIND] [--page-offsets]\n"
		"  writes an ELF core (ET_CORE, ELF64 unless --elf32) holding the test payload\n"
		"  (payload.elf or payload64.elf) and pattern segments, with the payload's\n"
		"  manifest patched to match; prints entry=0x... and the layout\n"
		"  --seed N       all random choices and pattern seeds derive from N (default 1)\n"
		"  --pae          the 32-bit payload expects CR4.PAE at entry (boot with pae=1)\n"
		"  --big-mb N     size of the big segment at 0x2000000, 1..%u MiB (default %u)\n"
		"  --high-mb N    another big segment, at 0x140000000 (above 4 GiB: ELF64 and\n"
		"                 payload64; not with --layout high), 1..%u MiB\n"
		"  --layout NAME  default (a -m 128M guest; jumpback's range left free),\n"
		"                 cover-stub (-m 128M; covers 0-8 MiB, so the stub must stage),\n"
		"                 high (-m 5G; adds segments above 4 GiB: ELF64 and payload64)\n"
		"  --bad KIND     magic, truncate, outside-ram, over-stub, overlap-differ,\n"
		"                 compressed, no-hole\n"
		"  --page-offsets each segment's data at an offset equal to its physical\n"
		"                 address modulo 4 KiB, as Linux's /proc/vmcore places it (by\n"
		"                 default no offset is 4- or sector-aligned, as in QEMU's cores)\n",
		BIG_MB_MAX, BIG_MB_DEFAULT, BIG_HIGH_MB_MAX);
}

/* splitmix64: small, seedable, good enough for gaps and seeds. */
static u32 rng_next(struct core *c)
{
	u64 z = (c->rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return (u32)((z ^ (z >> 31)) >> 32);
}

static bool parse_u32(const char *s, u32 *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v > 0xFFFFFFFFull)
		return false;
	*out = (u32)v;
	return true;
}

static void options_parse(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .seed = 1, .machine = EM_386, .big_mb = BIG_MB_DEFAULT };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--elf32")) {
			o->elf32 = true;
			continue;
		}
		if (!strcmp(a, "--pae")) {
			o->pae = true;
			continue;
		}
		if (!strcmp(a, "--page-offsets")) {
			o->page_offsets = true;
			continue;
		}
		const char *v = tool_option_value(argc, argv, &i);

		if (!strcmp(a, "--payload")) {
			o->payload = v;
		} else if (!strcmp(a, "--out")) {
			o->out = v;
		} else if (!strcmp(a, "--seed")) {
			if (!parse_u32(v, &o->seed))
				usage("--seed wants a 32-bit number (decimal or 0x hex)");
		} else if (!strcmp(a, "--machine")) {
			if (!strcmp(v, "i386"))
				o->machine = EM_386;
			else if (!strcmp(v, "x86_64"))
				o->machine = EM_X86_64;
			else
				usage("--machine wants i386 or x86_64");
		} else if (!strcmp(a, "--big-mb")) {
			if (!parse_u32(v, &o->big_mb) || o->big_mb == 0 || o->big_mb > BIG_MB_MAX)
				usage("--big-mb wants a number of MiB from 1 to %u", BIG_MB_MAX);
		} else if (!strcmp(a, "--high-mb")) {
			if (!parse_u32(v, &o->high_mb) || o->high_mb == 0 ||
			    o->high_mb > BIG_HIGH_MB_MAX)
				usage("--high-mb wants a number of MiB from 1 to %u", BIG_HIGH_MB_MAX);
		} else if (!strcmp(a, "--bad")) {
			u32 k;

			for (k = BAD_MAGIC; k < JB_ARRAY_LEN(bad_names); k++)
				if (!strcmp(v, bad_names[k]))
					break;
			if (k == JB_ARRAY_LEN(bad_names))
				usage("unknown --bad KIND '%s'", v);
			o->bad = (enum bad_kind)k;
		} else if (!strcmp(a, "--layout")) {
			u32 k;

			for (k = 0; k < JB_ARRAY_LEN(layout_names); k++)
				if (!strcmp(v, layout_names[k]))
					break;
			if (k == JB_ARRAY_LEN(layout_names))
				usage("unknown --layout NAME '%s'", v);
			o->layout = (enum layout_kind)k;
		} else {
			usage("unknown option %s", a);
		}
	}
	if (!o->payload || !o->out)
		usage("--payload and --out are required");
	if (o->layout == LAYOUT_HIGH && o->elf32)
		usage("--layout high puts segments above 4 GiB, which ELF32 cannot describe;"
		      " drop --elf32");
	if (o->high_mb && (o->elf32 || o->layout == LAYOUT_HIGH))
		usage("--high-mb puts a segment above 4 GiB: ELF64 only, and not with --layout high");
	if (o->layout == LAYOUT_COVER_STUB && o->bad == BAD_OVER_STUB)
		usage("--bad over-stub needs --layout default or high: cover-stub covers the stub"
		      " with good data already");
}

static u8 *file_read(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	long len;
	u8 *buf;

	if (!f)
		die("cannot open payload %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		die("cannot size payload %s: %s", path, strerror(errno));
	buf = malloc((size_t)len + 1);
	if (!buf)
		die("out of memory reading %s", path);
	if (fread(buf, 1, (size_t)len, f) != (size_t)len)
		die("cannot read payload %s", path);
	fclose(f);
	*size = (size_t)len;
	return buf;
}

/* A pointer to [off, off+len) of the payload file, or death naming `what`. */
static const u8 *payload_bytes(const struct payload *p, u64 off, u64 len, const char *what)
{
	if (off > p->size || len > p->size - off)
		die("payload: %s at file offset 0x%llx (+0x%llx) lies past its end (0x%zx bytes)",
		    what, (unsigned long long)off, (unsigned long long)len, p->size);
	return p->file + off;
}

/* The file bytes behind [vaddr, vaddr+len) if one PT_LOAD holds them all in the file. */
static const u8 *payload_vaddr_bytes(const struct payload *p, u32 vaddr, u32 len)
{
	for (u32 i = 0; i < p->nload; i++) {
		const struct elf32_phdr *ph = &p->load[i];

		if (vaddr >= ph->p_vaddr && vaddr - ph->p_vaddr <= ph->p_filesz &&
		    len <= ph->p_filesz - (vaddr - ph->p_vaddr))
			return p->file + ph->p_offset + (vaddr - ph->p_vaddr);
	}
	return NULL;
}

static void payload_symbols(struct payload *p, const struct elf32_ehdr *eh)
{
	struct elf32_shdr symtab = { 0 }, strtab;
	bool found = false;

	if (eh->e_shentsize != sizeof(struct elf32_shdr))
		die("payload: e_shentsize=%u, expected %zu (was it stripped?)", eh->e_shentsize,
		    sizeof(struct elf32_shdr));
	for (u32 i = 0; i < eh->e_shnum && !found; i++) {
		u64 off = eh->e_shoff + (u64)i * sizeof(symtab);

		memcpy(&symtab, payload_bytes(p, off, sizeof(symtab), "section header"),
		       sizeof(symtab));
		found = symtab.sh_type == SHT_SYMTAB;
	}
	if (!found)
		die("payload: no symbol table (do not strip the payload)");
	if (symtab.sh_link >= eh->e_shnum)
		die("payload: symbol table names string table %u of %u", symtab.sh_link,
		    eh->e_shnum);
	memcpy(&strtab, payload_bytes(p, eh->e_shoff + (u64)symtab.sh_link * sizeof(strtab),
				      sizeof(strtab), "string table header"),
	       sizeof(strtab));
	const char *names = (const char *)payload_bytes(p, strtab.sh_offset, strtab.sh_size,
							"string table");
	u32 found_mask = 0;
	const char *const wanted[] = { "resume_entry", "jbt_manifest", "jbt_hash_start",
				       "jbt_hash_end", "jbt_return_now" };
	const u32 optional_mask = 1u << 4;

	for (u32 off = 0; off + sizeof(struct elf32_sym) <= symtab.sh_size;
	     off += sizeof(struct elf32_sym)) {
		struct elf32_sym s;

		memcpy(&s, payload_bytes(p, (u64)symtab.sh_offset + off, sizeof(s), "symbol"),
		       sizeof(s));
		if (s.st_name >= strtab.sh_size || !memchr(names + s.st_name, 0,
							   strtab.sh_size - s.st_name))
			continue;
		for (u32 w = 0; w < JB_ARRAY_LEN(wanted); w++) {
			if (strcmp(names + s.st_name, wanted[w]))
				continue;
			found_mask |= 1u << w;
			if (w == 0)
				p->entry = s.st_value;
			else if (w == 1) {
				p->manifest = s.st_value;
				p->manifest_size = s.st_size;
			} else if (w == 2)
				p->hash_start = s.st_value;
			else if (w == 3)
				p->hash_end = s.st_value;
			else
				p->return_now = s.st_value;
		}
	}
	for (u32 w = 0; w < JB_ARRAY_LEN(wanted); w++)
		if (!(found_mask & 1u << w) && !(optional_mask & 1u << w))
			die("payload: symbol %s not found", wanted[w]);
}

static void payload_read(const char *path, struct payload *p)
{
	struct elf32_ehdr eh;

	p->file = file_read(path, &p->size);
	memcpy(&eh, payload_bytes(p, 0, sizeof(eh), "ELF header"), sizeof(eh));
	if (!memcmp(eh.e_ident, ELF_MAG, 4) && eh.e_ident[EI_CLASS] == ELFCLASS64)
		die("payload %s is ELF64; the 64-bit payload is read from its ELF32 wrapping,"
		    " build/test/payload64.elf", path);
	if (memcmp(eh.e_ident, ELF_MAG, 4) || eh.e_ident[EI_CLASS] != ELFCLASS32 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_386)
		die("payload %s is not a little-endian ELF32 i386 file", path);
	if (eh.e_phentsize != sizeof(struct elf32_phdr))
		die("payload: e_phentsize=%u, expected %zu", eh.e_phentsize,
		    sizeof(struct elf32_phdr));
	for (u32 i = 0; i < eh.e_phnum; i++) {
		struct elf32_phdr ph;

		memcpy(&ph, payload_bytes(p, eh.e_phoff + (u64)i * sizeof(ph), sizeof(ph),
					  "program header"),
		       sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (p->nload == MAX_PAYLOAD_LOADS)
			die("payload: more than %u PT_LOAD segments", MAX_PAYLOAD_LOADS);
		if (ph.p_filesz > ph.p_memsz)
			die("payload: PT_LOAD %u has p_filesz > p_memsz", i);
		payload_bytes(p, ph.p_offset, ph.p_filesz, "PT_LOAD data");
		p->load[p->nload++] = ph;
	}
	if (p->nload == 0)
		die("payload: no PT_LOAD segment");
	payload_symbols(p, &eh);
	if (p->manifest_size && p->manifest_size != sizeof(struct jbt_manifest))
		die("payload: jbt_manifest is %u bytes, this mkcore knows %zu; rebuild both",
		    p->manifest_size, sizeof(struct jbt_manifest));
	if (!payload_vaddr_bytes(p, p->manifest, sizeof(struct jbt_manifest)))
		die("payload: jbt_manifest at 0x%08x is not file-backed (it must be in .data)",
		    p->manifest);
	if (p->hash_end < p->hash_start ||
	    !payload_vaddr_bytes(p, p->hash_start, p->hash_end - p->hash_start))
		die("payload: hashed range 0x%08x-0x%08x is not file-backed in one PT_LOAD",
		    p->hash_start, p->hash_end);
}

static struct seg *seg_add(struct core *c, const char *what, u64 paddr, u64 filesz, u64 memsz)
{
	if (c->nseg == MAX_SEGS)
		die("internal: more than %u segments", MAX_SEGS);
	struct seg *s = &c->seg[c->nseg++];

	*s = (struct seg){ .what = what, .paddr = paddr, .filesz = filesz, .memsz = memsz,
			   .seed = rng_next(c) };
	return s;
}

static void region_add(struct core *c, u64 start, u64 end, u32 kind, u32 seed)
{
	start = (start + 3) & ~3ull; /* only whole aligned words are described */
	end &= ~3ull;
	if (end <= start)
		return;
	if (c->man.nregions == JBT_MAX_REGIONS)
		die("internal: more than %u manifest regions", JBT_MAX_REGIONS);
	c->man.region[c->man.nregions++] = (struct jbt_region){
		.addr = start, .len = end - start, .kind = kind, .seed = seed,
	};
}

/* A pattern segment, described in the manifest: pattern over the file part, zero after. */
static struct seg *pattern_add(struct core *c, const char *what, u64 paddr, u64 filesz,
			       u64 memsz)
{
	struct seg *s = seg_add(c, what, paddr, filesz, memsz);

	region_add(c, paddr, paddr + filesz, JBT_REGION_PATTERN, s->seed);
	region_add(c, paddr + filesz, paddr + memsz, JBT_REGION_ZERO, 0);
	return s;
}

/* The payload's own loads; it checks itself by hash, so they get no manifest region. */
static void payload_add(struct core *c, const struct payload *p)
{
	c->payload_seg = c->nseg;
	for (u32 i = 0; i < p->nload; i++) {
		const struct elf32_phdr *ph = &p->load[i];
		struct seg *s = seg_add(c, "payload", ph->p_paddr, ph->p_filesz, ph->p_memsz);

		s->bytes = malloc(ph->p_filesz ? ph->p_filesz : 1);
		if (!s->bytes)
			die("out of memory");
		memcpy(s->bytes, p->file + ph->p_offset, ph->p_filesz);
	}
}

/* Completes the manifest and writes it into the payload's data (file-backed, checked). */
static void manifest_patch(struct core *c, const struct payload *p, bool pae)
{
	const u8 *hashed = payload_vaddr_bytes(p, p->hash_start, p->hash_end - p->hash_start);

	c->man.magic = JBT_MANIFEST_MAGIC;
	c->man.pae = pae;
	c->man.self_hash = fnv1a32(FNV1A32_INIT, hashed, p->hash_end - p->hash_start);
	for (u32 i = 0; i < p->nload; i++) {
		const struct elf32_phdr *ph = &p->load[i];
		u8 *data = c->seg[c->payload_seg + i].bytes;

		if (p->manifest >= ph->p_vaddr && p->manifest - ph->p_vaddr < ph->p_filesz)
			memcpy(data + (p->manifest - ph->p_vaddr), &c->man, sizeof(c->man));
	}
}

/* Page 0 holds the BIOS's interrupt vectors at boot: only a real zero-fill clears it. The
   middle segment comes back for the duplicate. */
static struct seg *layout_low_default(struct core *c)
{
	pattern_add(c, "zero-ivt", 0, 0, IVT_PAGE_LEN);
	pattern_add(c, "low", LOW_ADDR, LOW_LEN, LOW_LEN);
	struct seg *mid = pattern_add(c, "mid", MID_ADDR, MID_LEN, MID_LEN);

	pattern_add(c, "zero-tail", TAIL_ADDR, TAIL_FILESZ, TAIL_MEMSZ);
	return mid;
}

/* Everything below 8 MiB that is RAM: the IVT, BDA, the stub's load address and its heap. */
static struct seg *layout_low_cover_stub(struct core *c)
{
	struct seg *low = pattern_add(c, "low-all", 0, COVER_LOW_LEN, COVER_LOW_LEN);

	pattern_add(c, "over-stub", COVER_STUB_ADDR, COVER_STUB_END - COVER_STUB_ADDR,
		    COVER_STUB_END - COVER_STUB_ADDR);
	pattern_add(c, "zero-tail", COVER_STUB_END, COVER_TAIL_FILESZ, COVER_TAIL_MEMSZ);
	return low;
}

/* Above 4 GiB: a plain one, an odd destination and a zero-fill, all out of 32-bit reach. */
static void layout_high(struct core *c)
{
	pattern_add(c, "high", HIGH_ADDR, HIGH_LEN, HIGH_LEN);
	pattern_add(c, "odd-high", HIGH_ODD_ADDR, HIGH_ODD_LEN, HIGH_ODD_LEN)->odd_delta = true;
	pattern_add(c, "zero-high", HIGH_TAIL_ADDR, HIGH_TAIL_FILESZ, HIGH_TAIL_MEMSZ);
}

static void layout_build(struct core *c, const struct options *o, const struct payload *p)
{
	u64 big_end = BIG_ADDR + (u64)o->big_mb * MIB;
	/* Past a big segment that reaches it, the odd one moves up (and needs more RAM). */
	u64 odd_addr = big_end > (ODD_ADDR & ~3ull) ? big_end + 2 : ODD_ADDR;
	struct seg *orig = o->layout == LAYOUT_COVER_STUB ? layout_low_cover_stub(c)
							   : layout_low_default(c);

	payload_add(c, p);
	struct seg *big = pattern_add(c, "big", BIG_ADDR, big_end - BIG_ADDR, big_end - BIG_ADDR);
	struct seg *odd = pattern_add(c, "odd-dest", odd_addr, ODD_LEN, ODD_LEN);

	odd->odd_delta = true;
	if (o->layout == LAYOUT_HIGH)
		layout_high(c);
	if (o->high_mb)
		pattern_add(c, "big-high", BIG_HIGH_ADDR, (u64)o->high_mb * MIB,
			    (u64)o->high_mb * MIB);
	struct seg *dup = seg_add(c, "duplicate", orig->paddr, orig->filesz, orig->memsz);

	dup->seed = orig->seed;
	dup->may_overlap = true;

	switch (o->bad) {
	case BAD_OUTSIDE_RAM:
		pattern_add(c, "bad:outside-ram", BAD_OUTSIDE_ADDR, BAD_OUTSIDE_LEN,
			    BAD_OUTSIDE_LEN);
		break;
	case BAD_OVER_STUB:
		pattern_add(c, "bad:over-stub", BAD_STUB_ADDR, BAD_STUB_LEN, BAD_STUB_LEN);
		break;
	case BAD_OVERLAP_DIFFER: {
		struct seg *s = seg_add(c, "bad:overlap-differ", big->paddr, BAD_OVERLAP_LEN,
					BAD_OVERLAP_LEN);

		/* Another seed changes every word: pattern_word is a bijection of addr ^ seed. */
		s->seed = ~big->seed;
		s->may_overlap = true;
		break;
	}
	case BAD_NO_HOLE: {
		struct seg *s = seg_add(c, "bad:no-hole", BAD_NO_HOLE_START, 0,
					BAD_NO_HOLE_END - BAD_NO_HOLE_START);

		s->may_overlap = true;
		break;
	}
	default:
		break;
	}

	manifest_patch(c, p, o->pae);
}

/* Only the deliberate duplicate and the --bad conflict may overlap another segment. */
static void layout_check(const struct core *c, const struct options *o)
{
	for (u32 i = 0; i < c->nseg; i++) {
		const struct seg *a = &c->seg[i];

		if (o->elf32 && a->paddr + a->memsz > ADDR_LIMIT_32)
			die("segment %s at 0x%llx does not fit ELF32 (above 4 GiB)", a->what,
			    (unsigned long long)a->paddr);
		for (u32 j = i + 1; j < c->nseg; j++) {
			const struct seg *b = &c->seg[j];

			if (a->may_overlap || b->may_overlap)
				continue;
			if (a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz)
				die("segment %s (0x%llx+0x%llx) overlaps %s (0x%llx+0x%llx); is the"
				    " payload linked at 0x%llx and smaller than %llu MiB?",
				    a->what, (unsigned long long)a->paddr,
				    (unsigned long long)a->memsz, b->what,
				    (unsigned long long)b->paddr, (unsigned long long)b->memsz,
				    PAYLOAD_MIN, (BIG_ADDR - PAYLOAD_MIN) / MIB);
		}
	}
}

/* A random gap before each piece of data, so no offset is 4- or sector-aligned. */
static u64 gap_place(struct core *c, u64 pos, u64 paddr, bool odd_delta)
{
	u64 off = pos + 1 + rng_next(c) % GAP_MAX;

	/* Odd offsets are never 4-aligned; otherwise keep (paddr - offset) even. */
	while (off % 4 == 0 || ((paddr - off) & 1) != (odd_delta ? 1u : 0u))
		off++;
	return off;
}

/* The first offset past pos that equals paddr modulo 4 KiB (Linux's fs/proc/vmcore.c). */
static u64 page_place(u64 pos, u64 paddr)
{
	return pos + 1 + ((paddr - pos - 1) & 4095);
}

static u64 layout_place(struct core *c, const struct options *o)
{
	u64 phnum = 1 + c->nseg;
	u64 pos = o->elf32 ? sizeof(struct elf32_ehdr) + phnum * sizeof(struct elf32_phdr)
			   : sizeof(struct elf64_ehdr) + phnum * sizeof(struct elf64_phdr);

	c->note_offset = gap_place(c, pos, 0, false);
	pos = c->note_offset + 12 + 8 + NOTE_DESC_LEN;
	for (u32 i = 0; i < c->nseg; i++) {
		struct seg *s = &c->seg[i];

		s->offset = o->page_offsets ? page_place(pos, s->paddr)
					    : gap_place(c, pos, s->paddr, s->odd_delta);
		pos = s->offset + s->filesz;
	}
	if (o->elf32 && pos > ADDR_LIMIT_32)
		die("the core would be 0x%llx bytes, too big for ELF32 offsets",
		    (unsigned long long)pos);
	const struct seg *last = &c->seg[c->nseg - 1];

	c->cut = o->bad == BAD_TRUNCATE ? last->offset + last->filesz / 2 : pos;
	return phnum;
}

/* Output that drops everything past c->cut (for --bad truncate) and counts the position. */
struct out {
	FILE *f;
	const char *path;
	u64 pos, cut;
};

static void out_bytes(struct out *o, const void *p, u64 n)
{
	u64 keep = o->pos >= o->cut ? 0 : (n < o->cut - o->pos ? n : o->cut - o->pos);

	if (keep && fwrite(p, 1, keep, o->f) != keep)
		die("cannot write %s: %s", o->path, strerror(errno));
	o->pos += n;
}

static void out_gap(struct out *o, struct core *c, u64 to)
{
	u8 junk[4096]; /* a gap is below a sector, or a page with --page-offsets */

	if (to < o->pos || to - o->pos > sizeof(junk))
		die("internal: gap from 0x%llx to 0x%llx", (unsigned long long)o->pos,
		    (unsigned long long)to);
	for (u64 i = 0; i < to - o->pos; i++)
		junk[i] = (u8)rng_next(c);
	out_bytes(o, junk, to - o->pos);
}

/* Each byte is its share of the little-endian pattern word of its aligned address. */
static void pattern_bytes(u32 seed, u64 addr, u8 *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		u64 a = addr + i;
		u32 w = pattern_word(seed, a & ~3ull);

		for (u32 b = (u32)(a & 3); b < 4 && i < n; b++, i++)
			buf[i] = (u8)(w >> (8 * b));
	}
}

static void out_seg_data(struct out *o, const struct seg *s)
{
	static u8 chunk[CHUNK_SIZE];

	if (s->bytes) {
		out_bytes(o, s->bytes, s->filesz);
		return;
	}
	for (u64 done = 0; done < s->filesz && o->pos < o->cut;) {
		size_t n = s->filesz - done < CHUNK_SIZE ? (size_t)(s->filesz - done) : CHUNK_SIZE;

		pattern_bytes(s->seed, s->paddr + done, chunk, n);
		out_bytes(o, chunk, n);
		done += n;
	}
	if (o->pos < s->offset + s->filesz) /* cut short: keep the count true */
		o->pos = s->offset + s->filesz;
}

static void put_phdr(u8 *buf, u32 i, bool elf32, u32 type, u64 off, u64 paddr, u64 filesz,
		     u64 memsz)
{
	if (elf32) {
		struct elf32_phdr ph = { .p_type = type, .p_offset = (u32)off,
					 .p_vaddr = (u32)paddr, .p_paddr = (u32)paddr,
					 .p_filesz = (u32)filesz, .p_memsz = (u32)memsz,
					 .p_flags = type == PT_LOAD ? 7 : 0, .p_align = 0 };

		memcpy(buf + sizeof(struct elf32_ehdr) + i * sizeof(ph), &ph, sizeof(ph));
	} else {
		struct elf64_phdr ph = { .p_type = type, .p_flags = type == PT_LOAD ? 7 : 0,
					 .p_offset = off, .p_vaddr = paddr, .p_paddr = paddr,
					 .p_filesz = filesz, .p_memsz = memsz, .p_align = 0 };

		memcpy(buf + sizeof(struct elf64_ehdr) + i * sizeof(ph), &ph, sizeof(ph));
	}
}

/* The ELF header and program headers, as one buffer; the first header is the PT_NOTE. */
static u8 *headers_build(const struct core *c, const struct options *o, u32 phnum, size_t *len)
{
	const u8 ident[16] = { 0x7F, 'E', 'L', 'F', o->elf32 ? ELFCLASS32 : ELFCLASS64,
			       ELFDATA2LSB, 1 };
	u8 *buf;

	*len = o->elf32 ? sizeof(struct elf32_ehdr) + phnum * sizeof(struct elf32_phdr)
			: sizeof(struct elf64_ehdr) + phnum * sizeof(struct elf64_phdr);
	buf = calloc(1, *len);
	if (!buf)
		die("out of memory");
	if (o->elf32) {
		struct elf32_ehdr eh = { .e_type = ET_CORE, .e_machine = o->machine, .e_version = 1,
					 .e_phoff = sizeof(eh), .e_ehsize = sizeof(eh),
					 .e_phentsize = sizeof(struct elf32_phdr),
					 .e_phnum = (u16)phnum };

		memcpy(eh.e_ident, ident, sizeof(ident));
		memcpy(buf, &eh, sizeof(eh));
	} else {
		struct elf64_ehdr eh = { .e_type = ET_CORE, .e_machine = o->machine, .e_version = 1,
					 .e_phoff = sizeof(eh), .e_ehsize = sizeof(eh),
					 .e_phentsize = sizeof(struct elf64_phdr),
					 .e_phnum = (u16)phnum };

		memcpy(eh.e_ident, ident, sizeof(ident));
		memcpy(buf, &eh, sizeof(eh));
	}
	put_phdr(buf, 0, o->elf32, PT_NOTE, c->note_offset, 0, 12 + 8 + NOTE_DESC_LEN, 0);
	for (u32 i = 0; i < c->nseg; i++) {
		const struct seg *s = &c->seg[i];

		put_phdr(buf, i + 1, o->elf32, PT_LOAD, s->offset, s->paddr, s->filesz, s->memsz);
	}
	if (o->bad == BAD_MAGIC)
		buf[0] ^= 0x01; /* 0x7F -> 0x7E: an ELF in every other respect */
	if (o->bad == BAD_COMPRESSED)
		memcpy(buf, "KDUMP   ", 8); /* makedumpfile -c / dump-guest-memory -z signature */
	return buf;
}

static void core_write(struct core *c, const struct options *o, u32 phnum, u64 *size)
{
	struct out out = { .path = o->out, .cut = c->cut };
	size_t hlen;
	u8 *hdr = headers_build(c, o, phnum, &hlen);
	/* A note shaped like the kernel's: "CORE", NT_PRSTATUS; never required by the stub. */
	u8 note[12 + 8 + NOTE_DESC_LEN] = { 0 };
	const u32 nhdr[3] = { sizeof(NOTE_NAME), NOTE_DESC_LEN, NT_PRSTATUS };

	memcpy(note, nhdr, sizeof(nhdr));
	memcpy(note + 12, NOTE_NAME, sizeof(NOTE_NAME));
	for (u32 i = 0; i < NOTE_DESC_LEN; i++)
		note[20 + i] = (u8)rng_next(c);

	out.f = fopen(o->out, "wb");
	if (!out.f)
		die("cannot create %s: %s", o->out, strerror(errno));
	out_bytes(&out, hdr, hlen);
	out_gap(&out, c, c->note_offset);
	out_bytes(&out, note, sizeof(note));
	for (u32 i = 0; i < c->nseg; i++) {
		out_gap(&out, c, c->seg[i].offset);
		out_seg_data(&out, &c->seg[i]);
	}
	/* Whole sectors: the disk holds nothing less, and the stub reads sectors. */
	u64 kept = out.pos < out.cut ? out.pos : out.cut;
	u64 pad = (SECTOR_SIZE - kept % SECTOR_SIZE) % SECTOR_SIZE;
	static const u8 zeros[SECTOR_SIZE];

	out.cut = kept + pad;
	out.pos = kept;
	out_bytes(&out, zeros, pad);
	if (fclose(out.f))
		die("cannot finish writing %s: %s", o->out, strerror(errno));
	free(hdr);
	*size = kept + pad;
}

static void summary_print(const struct core *c, const struct options *o,
			  const struct payload *p, u32 phnum, u64 size)
{
	printf("entry=0x%08x\n", p->entry);
	if (p->return_now)
		printf("return=0x%08x\n", p->return_now);
	printf("core: %s %s, layout %s, %u program headers, seed %u, %llu bytes%s%s -> %s\n",
	       o->elf32 ? "ELF32" : "ELF64", o->machine == EM_386 ? "EM_386" : "EM_X86_64",
	       layout_names[o->layout], phnum, o->seed, (unsigned long long)size,
	       o->bad ? ", broken on purpose: " : "",
	       o->bad ? bad_names[o->bad] : "", o->out);
	printf("  phdr 0: PT_NOTE  offset=0x%llx\n", (unsigned long long)c->note_offset);
	for (u32 i = 0; i < c->nseg; i++) {
		const struct seg *s = &c->seg[i];

		printf("  phdr %u: PT_LOAD  paddr=0x%09llx filesz=0x%08llx memsz=0x%08llx"
		       " offset=0x%09llx  %s\n",
		       i + 1, (unsigned long long)s->paddr, (unsigned long long)s->filesz,
		       (unsigned long long)s->memsz, (unsigned long long)s->offset, s->what);
	}
	for (u32 i = 0; i < c->man.nregions; i++) {
		const struct jbt_region *r = &c->man.region[i];

		printf("  region %u: 0x%09llx+0x%08llx %s seed 0x%08x\n", i,
		       (unsigned long long)r->addr, (unsigned long long)r->len,
		       r->kind == JBT_REGION_ZERO ? "zero" : "pattern", r->seed);
	}
	printf("  manifest at 0x%08x, self hash 0x%08x over 0x%08x-0x%08x\n", p->manifest,
	       c->man.self_hash, p->hash_start, p->hash_end);
}

int main(int argc, char **argv)
{
	struct options o;
	struct payload p = { 0 };
	static struct core c;
	u64 size;

	options_parse(argc, argv, &o);
	payload_read(o.payload, &p);
	c.rng = o.seed;
	layout_build(&c, &o, &p);
	layout_check(&c, &o);
	u32 phnum = (u32)layout_place(&c, &o);

	core_write(&c, &o, phnum, &size);
	summary_print(&c, &o, &p, phnum, size);
	for (u32 i = 0; i < c.nseg; i++)
		free(c.seg[i].bytes);
	free(p.file);
	return 0;
}
