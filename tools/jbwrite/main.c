/*
 * jbwrite: writes a jumpback image (docs/image-format.md) in kernel B: the options, then kernel
 * A's core, its table of XXH64 chunk checksums and the 8 KiB header; `--show IMAGE` checks one.
 */
#include "jbwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "errors.h"

#include "../tool_error.h"

#define SECTOR_SIZE 512u
#define RELEASE_UNKNOWN "unknown"
#define VMCORE_DEFAULT "/proc/vmcore"
#define CMDLINE_DEFAULT "/proc/cmdline"
#define MEM_DEFAULT "/dev/mem"
#define IOMEM_DEFAULT "/proc/iomem"

static void usage_print(FILE *f)
{
	fprintf(f,
		"usage: jbwrite [--core auto|mem|CORE] --out DEV [--entry ADDR] [--mode 32|64|auto]\n"
		"               [--pae] [--release STR] [--memmap-sysfs DIR | --memmap-file FILE]\n"
		"               [--offset SECTORS] [--created UNIXTIME] [--dry-run] [--quiet]\n"
		"               [--lowmem FILE] [--cmdline FILE] [--mem FILE] [--iomem FILE]\n"
		"               [--vmcore FILE]\n"
		"       jbwrite --show IMAGE [--offset SECTORS] [--verify]\n"
		"  writes kernel A's ELF core as a jumpback image: the core at byte\n"
		"  SECTORS*512 + core_offset of DEV, then the table of chunk checksums at\n"
		"  byte SECTORS*512+8192, then the 8 KiB header at byte SECTORS*512\n"
		"  --core C             auto (default): --vmcore if it exists and its ELF header\n"
		"                       reads, else the memory source; mem: the memory source;\n"
		"                       anything else: the path of an ELF core (/proc/vmcore)\n"
		"  --entry ADDR         kernel A's jump-back entry (default: kernel B's\n"
		"                       kexec_jump_back_entry= from --cmdline)\n"
		"  --mode M             CPU mode kernel A is entered in; auto (default): 64 for\n"
		"                       an EM_X86_64 core, 32 for EM_386\n"
		"  --pae                32-bit kernel A runs with PAE paging\n"
		"  --release STR        kernel A's release (default: VMCOREINFO's OSRELEASE)\n"
		"  --memmap-sysfs DIR   firmware memory map (default %s)\n"
		"  --memmap-file FILE   memory map as lines 'START END TYPE' (END exclusive;\n"
		"                       hex 0x.. or decimal; TYPE a number, usable or reserved)\n"
		"  --created T          creation time, seconds since 1970 (default: now)\n"
		"  --dry-run            read and hash everything, print the header, write nothing\n"
		"  --show IMAGE         print an image's header and check its CRC; --verify also\n"
		"                       recomputes every chunk checksum from the image\n"
		" the memory source, for a kernel B without /proc/vmcore: kernel A's RAM ranges\n"
		" from kexec-tools' ELF headers at elfcorehdr=, read through /dev/mem; segments\n"
		" inside kernel B's own System RAM are skipped, notes dropped\n"
		"  --cmdline FILE       kernel B's command line (default %s)\n"
		"  --mem FILE           physical memory (default %s)\n"
		"  --iomem FILE         kernel B's System RAM (default %s)\n"
		"  --lowmem FILE        kernel A's memory from address 0, saved just before the\n"
		"                       jump: pages kernel B changed inside its own RAM get these\n"
		"                       bytes; any other change stops jbwrite before it writes\n"
		"  --vmcore FILE        the vmcore --core auto looks for (default %s)\n",
		MEMMAP_SYSFS_DEFAULT, CMDLINE_DEFAULT, MEM_DEFAULT, IOMEM_DEFAULT, VMCORE_DEFAULT);
}

/* A u64 in hex ("0x...") or decimal (leading zeros stay decimal); the whole string. */
bool parse_u64(const char *s, u64 *out)
{
	int base = 10;
	char *end;
	unsigned long long v;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!(base == 16 ? (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
				   (*s >= 'A' && *s <= 'F')
			 : *s >= '0' && *s <= '9'))
		return false;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static void options_parse(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .mode = MODE_AUTO, .core_kind = CORE_AUTO };
	/* Options whose value is kept as it is. */
	const struct {
		const char *name;
		const char **to;
	} paths[] = {
		{ "--vmcore", &o->vmcore },	    { "--cmdline", &o->cmdline },
		{ "--mem", &o->mem },		    { "--iomem", &o->iomem },
		{ "--lowmem", &o->lowmem },	    { "--out", &o->out },
		{ "--show", &o->show },		    { "--memmap-sysfs", &o->memmap_sysfs },
		{ "--memmap-file", &o->memmap_file }, { "--release", &o->release },
	};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool *flag = !strcmp(a, "--pae")       ? &o->pae
			     : !strcmp(a, "--dry-run") ? &o->dry_run
			     : !strcmp(a, "--quiet")   ? &o->quiet
			     : !strcmp(a, "--verify")  ? &o->verify
						       : NULL;

		if (flag) {
			*flag = true;
			continue;
		}
		const char *v = tool_option_value(argc, argv, &i);
		size_t p = 0;

		while (p < JB_ARRAY_LEN(paths) && strcmp(a, paths[p].name))
			p++;
		if (p < JB_ARRAY_LEN(paths)) {
			*paths[p].to = v;
		} else if (!strcmp(a, "--core")) {
			o->core_kind = !strcmp(v, "auto") ? CORE_AUTO
				       : !strcmp(v, "mem")  ? CORE_MEM
							    : CORE_FILE;
			o->core = o->core_kind == CORE_FILE ? v : NULL;
		} else if (!strcmp(a, "--entry")) {
			if (!parse_u64(v, &o->entry))
				usage("--entry '%s' is not a number (0x hex or decimal)", v);
			o->has_entry = true;
		} else if (!strcmp(a, "--mode")) {
			if (!strcmp(v, "32"))
				o->mode = MODE_32;
			else if (!strcmp(v, "64"))
				o->mode = MODE_64;
			else if (!strcmp(v, "auto"))
				o->mode = MODE_AUTO;
			else
				usage("--mode wants 32, 64 or auto, not '%s'", v);
		} else if (!strcmp(a, "--offset")) {
			if (!parse_u64(v, &o->offset_sectors) ||
			    o->offset_sectors > UINT64_MAX / SECTOR_SIZE / 2)
				usage("--offset '%s' is not a sector count", v);
		} else if (!strcmp(a, "--created")) {
			if (!parse_u64(v, &o->created))
				usage("--created '%s' is not a number of seconds since 1970", v);
			o->has_created = true;
		} else {
			usage("unknown option %s", a);
		}
	}
	if (o->show) {
		if (o->core || o->out || o->has_entry || o->dry_run || o->vmcore || o->cmdline ||
		    o->mem || o->iomem || o->lowmem)
			usage("--show takes only --offset and --verify");
		return;
	}
	if (o->verify)
		usage("--verify goes with --show");
	if (!o->out && !o->dry_run)
		usage("--out is required (except with --dry-run)");
	if (o->has_entry && o->entry == 0)
		usage("--entry 0 cannot be kernel A's jump-back entry; give the"
		      " kexec_jump_back_entry= value from kernel B's command line");
	if (o->core_kind == CORE_FILE && (o->mem || o->iomem || o->lowmem))
		usage("--mem, --iomem and --lowmem are for the memory source, not --core %s",
		      o->core);
	if (o->core_kind != CORE_AUTO && o->vmcore)
		usage("--vmcore goes with --core auto");
	if (o->memmap_sysfs && o->memmap_file)
		usage("give --memmap-sysfs or --memmap-file, not both");
	if (o->release && strlen(o->release) >= JBI_RELEASE_SIZE)
		usage("--release is %zu bytes, at most %u fit", strlen(o->release),
		      JBI_RELEASE_SIZE - 1);
	if (o->mode == MODE_64 && o->pae)
		usage("--pae is for a 32-bit kernel A; --mode 64 enters long mode");
	o->vmcore = o->vmcore ? o->vmcore : VMCORE_DEFAULT;
	o->cmdline = o->cmdline ? o->cmdline : CMDLINE_DEFAULT;
	o->mem = o->mem ? o->mem : MEM_DEFAULT;
	o->iomem = o->iomem ? o->iomem : IOMEM_DEFAULT;
}

/* Kernel B's command line, read once and only when needed (the memory source, no --entry). */
static const struct memcore_cmdline *cmdline_get(const struct options *o)
{
	static struct memcore_cmdline cl;
	static bool loaded;

	if (!loaded)
		cmdline_load(o->cmdline, &cl);
	loaded = true;
	return &cl;
}

/*
 * Opens kernel A's core as --core says (auto: the vmcore when its ELF header reads, else the
 * memory source) and prints which one it is. Returns its name for messages.
 */
static const char *core_choose(const struct options *o, struct core_src *c, struct file *core_f,
			       struct mem_core *m)
{
	const char *path = o->core_kind == CORE_FILE ? o->core : o->vmcore;
	const char *why = "--core mem";
	char buf[4200];

	if (o->core_kind == CORE_AUTO)
		why = vmcore_unusable(o->vmcore, buf, sizeof(buf));
	if (o->core_kind == CORE_FILE || (o->core_kind == CORE_AUTO && !why)) {
		if (o->lowmem)
			die("--lowmem is for the memory source, and %s is a vmcore; give --core mem"
			    " to read kernel A's memory through %s, or leave --lowmem out", path,
			    o->mem);
		if (!o->quiet)
			printf("jbwrite: core source: %s\n", path);
		file_open(core_f, path, O_RDONLY);
		core_open(c, core_f, NULL, 0, core_f->size, path);
		return path;
	}
	const struct memcore_cmdline *cl = cmdline_get(o);

	if (!o->quiet && cl->has_elfcorehdr)
		printf("jbwrite: core source: elfcorehdr=0x%llx and %s (%s)\n",
		       (unsigned long long)cl->elfcorehdr, o->mem, why);
	mem_core_open(o, cl, m);
	mem_core_lowmem(o, m);
	*core_f = m->mem;
	core_open(c, &m->mem, m, 0, m->mc.size, "the core built from elfcorehdr= and /dev/mem");
	return o->mem;
}

/* --entry, or kexec_jump_back_entry= from kernel B's command line. */
static u64 entry_get(const struct options *o)
{
	if (o->has_entry)
		return o->entry;
	const struct memcore_cmdline *cl = cmdline_get(o);

	if (!cl->has_entry)
		die("no --entry, and %s has no kexec_jump_back_entry=; give --entry ADDR, kernel"
		    " A's jump-back entry", o->cmdline);
	if (cl->entry == 0)
		die("kexec_jump_back_entry=0 in %s cannot be kernel A's jump-back entry",
		    o->cmdline);
	return cl->entry;
}

static int write_main(const struct options *o)
{
	static struct jbi_header h;
	static struct core_src c;
	static struct mem_core mc;
	static struct memmap m;
	static struct ram_map ram;
	struct file core_f, out_f;
	struct jb_diag d = { "" };
	char release[JBI_RELEASE_SIZE] = RELEASE_UNKNOWN;
	const u64 base = o->offset_sectors * SECTOR_SIZE;
	u64 entry = entry_get(o);
	const char *what = core_choose(o, &c, &core_f, &mc);

	if (o->release)
		snprintf(release, sizeof(release), "%s", o->release);
	else
		core_release(&c, release, what);
	memmap_load(o, &m, &ram);
	header_build(o, &c, what, entry, &m, release, &h);
	if (!o->quiet)
		segments_check(&c.core, &ram);
	if (h.nchunk > JBI_STUB_MAX_CHUNKS)
		fprintf(stderr,
			"jbwrite: warning: %u chunk checksums (%llu GiB of data): the stub checks at"
			" most %u; it will refuse the image unless booted with verify=off\n",
			h.nchunk, (unsigned long long)((u64)h.nchunk * JBI_CHUNK_SIZE >> 30),
			JBI_STUB_MAX_CHUNKS);
	const u64 table_bytes = jbi_table_bytes(h.nchunk);
	u64 *table = table_new(table_bytes / 8);

	if (!o->dry_run) {
		file_open(&out_f, o->out, O_RDWR | O_CREAT);
		if (out_f.dev == core_f.dev && out_f.ino == core_f.ino)
			die("--out %s is the core itself", o->out); /* or /dev/mem */
		if (out_f.is_blk && (out_f.size < base || out_f.size - base < h.core_offset ||
				     out_f.size - base - h.core_offset < c.size))
			die("%s holds %llu bytes; the image needs %llu at byte %llu", o->out,
			    (unsigned long long)out_f.size,
			    (unsigned long long)(h.core_offset + c.size), (unsigned long long)base);
		/* No old header may describe a half-written core: wipe it before the core. */
		static const u8 zeros[JBI_HEADER_SIZE];

		file_write_at(&out_f, base, zeros, sizeof(zeros));
		file_sync(&out_f);
	}
	core_stream(&c, table, o->dry_run ? NULL : &out_f, base + h.core_offset);
	h.table_xxh64 = XXH64(table, (size_t)h.nchunk * 8, 0);
	h.header_crc = jbi_header_crc(&h);
	int rc = jbi_check(&h, h.core_offset + c.size, &d);

	if (!rc)
		rc = jbi_check_core(&h, &c.core, &d);
	if (!rc)
		rc = jbi_check_table(&h, table, &d);
	if (rc)
		die("internal: the header fails its own check: %s", d.text);
	if (!o->dry_run) {
		/* The table (zero-padded) after the core, and both on disk before the header. */
		file_write_at(&out_f, base + h.hash_offset, table, (size_t)table_bytes);
		file_sync(&out_f);
		file_write_at(&out_f, base, &h, sizeof(h));
		file_sync(&out_f);
		if (close(out_f.fd) != 0)
			die("%s: close: %s", o->out, strerror(errno));
	}
	close(core_f.fd);
	if (o->dry_run && !o->quiet) {
		header_print(&h);
		hashes_print(&c.core, table);
	}
	if (!o->quiet)
		printf("jbwrite: %s entry 0x%llx, mode %s%s, %u segments in %u chunks hashed, core"
		       " %llu bytes, release %s -> %s at byte %llu\n",
		       o->dry_run ? "dry run (nothing written):" : "wrote image:",
		       (unsigned long long)h.entry, h.flags & JBI_FLAG_MODE64 ? "64" : "32",
		       h.flags & JBI_FLAG_PAE ? " PAE" : "", h.nseg, h.nchunk,
		       (unsigned long long)h.core_size, h.release, o->out ? o->out : "-",
		       (unsigned long long)base);
	core_close(&c);
	free(table);
	return 0;
}

/* ---- showing --------------------------------------------------------------------------- */

/* Recomputes every chunk checksum from the image's core; returns how many differ. */
static u32 show_verify(const struct options *o, const struct file *f, u64 base,
		       const struct jbi_header *h, const u64 *stored)
{
	static struct core_src c;
	struct jb_diag d = { "" };
	char what[4200];
	u32 bad = 0, at = 0;

	snprintf(what, sizeof(what), "%s: the core at byte %llu", o->show,
		 (unsigned long long)(base + h->core_offset));
	core_open(&c, f, NULL, base + h->core_offset, h->core_size, what);
	if (jbi_check_core(h, &c.core, &d)) {
		printf("verify: %s\n", d.text);
		core_close(&c);
		return h->nchunk ? h->nchunk : 1;
	}
	u64 *table = table_new(h->nchunk);

	core_stream(&c, table, NULL, 0);
	for (u32 i = 0; i < c.core.nseg; i++) {
		const struct elf_seg *s = &c.core.seg[i];
		u32 n = (u32)jbi_seg_chunks(s->filesz);

		printf("  segment %u (phdr %u, paddr 0x%llx, 0x%llx bytes): %u chunks\n", i,
		       s->phdr_index, (unsigned long long)s->paddr, (unsigned long long)s->filesz, n);
		for (u32 k = 0; k < n; k++, at++) {
			u64 lo = (u64)k * JBI_CHUNK_SIZE;
			u64 hi = k + 1 < n ? lo + JBI_CHUNK_SIZE : s->filesz;
			u64 img = base + h->core_offset + s->offset;

			printf("    chunk %u (segment bytes 0x%llx-0x%llx, image bytes %llu-%llu): ", k,
			       (unsigned long long)lo, (unsigned long long)hi,
			       (unsigned long long)(img + lo), (unsigned long long)(img + hi));
			if (table[at] == stored[at]) {
				printf("0x%016llx ok\n", (unsigned long long)table[at]);
				continue;
			}
			printf("DIFFERS: stored 0x%016llx, computed 0x%016llx\n",
			       (unsigned long long)stored[at], (unsigned long long)table[at]);
			bad++;
		}
	}
	printf("verify: %u of %u chunk checksums match\n", h->nchunk - bad, h->nchunk);
	free(table);
	core_close(&c);
	return bad;
}

static int show_main(const struct options *o)
{
	static struct jbi_header h;
	struct file f;
	struct jb_diag d = { "" };
	const u64 base = o->offset_sectors * SECTOR_SIZE;

	file_open(&f, o->show, O_RDONLY);
	if (f.size < base || f.size - base < JBI_HEADER_SIZE)
		die("%s: %llu bytes, no room for an image header at byte %llu", o->show,
		    (unsigned long long)f.size, (unsigned long long)base);
	file_read_at(&f, base, &h, sizeof(h));
	if (!jbi_has_magic(h.magic, sizeof(h.magic)))
		die("%s: no jumpback image at byte %llu (no JUMPBACK magic)", o->show,
		    (unsigned long long)base);
	printf("image: %s at byte %llu\n", o->show, (unsigned long long)base);
	printf("version: %u\n", h.version);
	if (h.version == JBI_VERSION)
		header_print(&h);
	u32 crc = jbi_header_crc(&h);

	printf("header CRC: 0x%08x %s\n", h.header_crc,
	       crc == h.header_crc ? "ok" : "MISMATCH");
	int rc = jbi_check(&h, f.size - base, &d);
	u64 *table = NULL;

	if (!rc) {
		table = table_new(h.nchunk);
		file_read_at(&f, base + h.hash_offset, table, (size_t)h.nchunk * 8);
		if (XXH64(table, (size_t)h.nchunk * 8, 0) != h.table_xxh64)
			rc = jbi_check_table(&h, table, &d);
	}
	if (rc) {
		printf("check: FAILED: %s\n", d.text);
		fprintf(stderr, "jbwrite: error: %s: %s\n", o->show, d.text);
		free(table);
		close(f.fd);
		return 1;
	}
	printf("check: ok (header and hash table)\n");
	u32 bad = o->verify ? show_verify(o, &f, base, &h, table) : 0;

	free(table);
	close(f.fd);
	if (bad) {
		fprintf(stderr, "jbwrite: error: %s: %u chunk checksums differ; the image is damaged\n",
			o->show, bad);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;

	options_parse(argc, argv, &o);
	return o.show ? show_main(&o) : write_main(&o);
}
