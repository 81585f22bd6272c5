/*
 * jbwrite: writes a jumpback image (docs/image-format.md) in kernel B: kernel A's ELF core
 * (/proc/vmcore, or without one kexec-tools' headers and /dev/mem: lib/memcore.c) behind an
 * 8 KiB header with the entry, the CPU mode and the firmware memory map, and a table of XXH64
 * checksums (Debian's libxxhash), one per 16 MiB chunk of every PT_LOAD's file data.
 * `jbwrite --show IMAGE [--verify]` prints and checks one.
 */
#define _FILE_OFFSET_BITS 64

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#ifdef __linux__
#include <linux/fs.h>
#include <sys/ioctl.h>
#endif

#include "elf.h"
#include "elfcore.h"
#include "errors.h"
#include "fmt.h"
#include "jbimage.h"
#include "le.h"
#include "memcore.h"
#include "plan.h"

#define TOOL_NAME "jbwrite"
#include "tool_error.h"

/* The header is built and written as a host struct: the host must be little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "jbwrite writes a little-endian header");

#define SECTOR_SIZE 512u
#define CHUNK_SIZE (4u << 20)       /* copy unit: large reads keep /proc/vmcore and disks busy */
#define HEADERS_MAX (64u << 20)     /* ELF + program headers further in than this are absurd */
#define NOTES_MAX (64u << 20)       /* PT_NOTE bytes read when looking for VMCOREINFO */
#define MEMMAP_SYSFS_DEFAULT "/sys/firmware/memmap"
#define MEMMAP_TYPE_RESERVED 2
#define LINE_MAX_LEN 512
#define RELEASE_UNKNOWN "unknown"
#define VMCOREINFO_NAME "VMCOREINFO"
#define OSRELEASE_KEY "OSRELEASE="
#define VMCORE_DEFAULT "/proc/vmcore"
#define CMDLINE_DEFAULT "/proc/cmdline"
#define MEM_DEFAULT "/dev/mem"
#define IOMEM_DEFAULT "/proc/iomem"
#define TEXT_MAX (1u << 20)    /* /proc/cmdline and /proc/iomem are a few KiB */
#define LOWMEM_MAX (64u << 20) /* kernel A's low-memory copy: 1 MiB is typical */

enum cpu_mode { MODE_AUTO, MODE_32, MODE_64 };

/* Where kernel A's memory comes from: --core auto, --core mem, --core PATH. */
enum core_kind { CORE_AUTO, CORE_MEM, CORE_FILE };

struct options {
	enum core_kind core_kind;
	const char *core; /* CORE_FILE's path */
	const char *vmcore;
	const char *cmdline;
	const char *mem;
	const char *iomem;
	const char *lowmem;
	const char *out;
	const char *show;
	const char *memmap_sysfs;
	const char *memmap_file;
	const char *release;
	u64 entry;
	bool has_entry;
	enum cpu_mode mode;
	bool pae;
	u64 offset_sectors;
	u64 created;
	bool has_created;
	bool dry_run;
	bool quiet;
	bool verify;
};

/* An open core, image or output: a regular file (also /proc/vmcore) or a block device. */
struct file {
	int fd;
	const char *path;
	u64 size; /* bytes it holds now */
	bool is_blk;
	dev_t dev;
	ino_t ino;
};

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
static bool parse_u64(const char *s, u64 *out)
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

		if (!strcmp(a, "--core")) {
			o->core_kind = !strcmp(v, "auto") ? CORE_AUTO
				       : !strcmp(v, "mem")  ? CORE_MEM
							    : CORE_FILE;
			o->core = o->core_kind == CORE_FILE ? v : NULL;
		} else if (!strcmp(a, "--vmcore")) {
			o->vmcore = v;
		} else if (!strcmp(a, "--cmdline")) {
			o->cmdline = v;
		} else if (!strcmp(a, "--mem")) {
			o->mem = v;
		} else if (!strcmp(a, "--iomem")) {
			o->iomem = v;
		} else if (!strcmp(a, "--lowmem")) {
			o->lowmem = v;
		} else if (!strcmp(a, "--out")) {
			o->out = v;
		} else if (!strcmp(a, "--show")) {
			o->show = v;
		} else if (!strcmp(a, "--memmap-sysfs")) {
			o->memmap_sysfs = v;
		} else if (!strcmp(a, "--memmap-file")) {
			o->memmap_file = v;
		} else if (!strcmp(a, "--release")) {
			o->release = v;
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

/* ---- files ----------------------------------------------------------------------------- */

static void file_stat(struct file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) != 0)
		die("%s: %s", f->path, strerror(errno));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->is_blk = S_ISBLK(st.st_mode);
	if (S_ISREG(st.st_mode)) {
		f->size = (u64)st.st_size;
		return;
	}
#ifdef BLKGETSIZE64
	if (f->is_blk) {
		uint64_t bytes;

		if (ioctl(f->fd, BLKGETSIZE64, &bytes) != 0)
			die("%s: cannot get the block device's size: %s", f->path, strerror(errno));
		f->size = bytes;
		return;
	}
#endif
	die("%s is neither a regular file nor a block device (a pipe cannot be used: the"
	    " size must be known before reading)",
	    f->path);
}

static void file_open(struct file *f, const char *path, int flags)
{
	f->path = path;
	f->fd = open(path, flags | O_CLOEXEC, 0600); /* the image holds all of kernel A's RAM */
	if (f->fd < 0)
		die("cannot open %s: %s", path, strerror(errno));
	file_stat(f);
}

static void file_read_at(const struct file *f, u64 off, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(f->fd, (u8 *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: read error at byte %llu: %s", f->path,
			    (unsigned long long)(off + done), strerror(errno));
		if (n == 0)
			die("%s: ends at byte %llu, expected %llu bytes", f->path,
			    (unsigned long long)(off + done), (unsigned long long)(off + len));
		done += (size_t)n;
	}
}

static void file_write_at(const struct file *f, u64 off, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(f->fd, (const u8 *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: write error at byte %llu: %s", f->path,
			    (unsigned long long)(off + done), n < 0 ? strerror(errno) : "no progress");
		done += (size_t)n;
	}
}

static void file_sync(const struct file *f)
{
	if (fsync(f->fd) != 0)
		die("%s: fsync: %s", f->path, strerror(errno));
}

/* ---- the memory source: kexec-tools' headers and /dev/mem ------------------------------ */

/*
 * Kernel A's memory laid out as the ELF core lib/memcore.c built: the headers from memory,
 * zero padding, each segment's bytes from /dev/mem at its physical address. Below low_len the
 * bytes come from low, read and checked once against kernel A's copy (--lowmem), so that what
 * is written is exactly what was checked.
 */
struct mem_core {
	struct file mem;
	struct memcore mc;
	struct ram_map b_ram; /* kernel B's own System RAM */
	u8 *low;
	u64 low_len;
};

/* /dev/mem, a character device without a size; for tests, a regular file standing in. */
static void mem_open(struct file *f, const char *path)
{
	struct stat st;

	f->path = path;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		die("cannot open %s: %s%s", path, strerror(errno),
		    errno == EACCES || errno == EPERM ? " (reading physical memory needs root)" : "");
	if (fstat(f->fd, &st) != 0)
		die("%s: %s", path, strerror(errno));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->is_blk = false;
	f->size = S_ISREG(st.st_mode) ? (u64)st.st_size : UINT64_MAX;
}

/*
 * Physical bytes [paddr, paddr + len), len at most a chunk. Through mmap, not read(): Linux's
 * read() of /dev/mem stops at the end of kernel B's own RAM (x86 valid_phys_addr_range checks
 * high_memory) and refuses a page that is only partly System RAM (memremap of a mixed range),
 * and kernel A's RAM is exactly what lies outside kernel B's. mmap checks neither.
 */
static void mem_read_at(const struct file *f, u64 paddr, void *buf, size_t len)
{
	const u64 page = (u64)sysconf(_SC_PAGESIZE);
	const u64 lead = paddr % page;

	if (len == 0)
		return;
	if (f->size != UINT64_MAX && (paddr > f->size || len > f->size - paddr))
		die("%s ends at 0x%llx, before physical address 0x%llx (+0x%zx)", f->path,
		    (unsigned long long)f->size, (unsigned long long)paddr, len);
	void *p = mmap(NULL, (size_t)lead + len, PROT_READ, MAP_SHARED, f->fd, (off_t)(paddr - lead));

	if (p == MAP_FAILED)
		die("%s: cannot map physical address 0x%llx (+0x%zx): %s%s", f->path,
		    (unsigned long long)paddr, len, strerror(errno),
		    errno == EPERM ? " (kernel B has CONFIG_STRICT_DEVMEM, or is locked down)" : "");
	memcpy(buf, (u8 *)p + lead, len);
	munmap(p, (size_t)lead + len);
}

/* A small text file (/proc/cmdline, /proc/iomem: no size in stat), NUL-terminated. */
static char *text_load(const char *path, const char *what, size_t *len)
{
	char *text = malloc(TEXT_MAX + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!text)
		die("out of memory");
	if (fd < 0)
		die("%s: cannot open %s: %s", what, path, strerror(errno));
	*len = 0;
	for (;;) {
		ssize_t n = read(fd, text + *len, TEXT_MAX - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: cannot read %s: %s", what, path, strerror(errno));
		if (n == 0)
			break;
		*len += (size_t)n;
		if (*len == TEXT_MAX)
			die("%s: %s is longer than %u KiB", what, path, TEXT_MAX >> 10);
	}
	close(fd);
	text[*len] = '\0';
	return text;
}

static void cmdline_load(const char *path, struct memcore_cmdline *cl)
{
	struct jb_diag d = { "" };
	size_t len;
	char *text = text_load(path, "kernel B's command line", &len);
	int rc = memcore_cmdline_parse(text, len, cl, &d);

	if (rc)
		die("%s: %s", path, d.text);
	free(text);
}

static void iomem_load(const char *path, struct ram_map *ram)
{
	struct jb_diag d = { "" };
	size_t len;
	char *text = text_load(path, "kernel B's RAM", &len);
	int rc = memcore_iomem_parse(text, len, ram, &d);

	if (rc)
		die("%s: %s: %s", path, jb_strerror(rc), d.text);
	free(text);
}

/* Physical bytes for the core: below low_len from the checked low-memory copy. */
static void mem_core_phys(const struct mem_core *m, u64 paddr, u8 *buf, size_t len)
{
	if (paddr < m->low_len) {
		size_t n = m->low_len - paddr < len ? (size_t)(m->low_len - paddr) : len;

		memcpy(buf, m->low + paddr, n);
		paddr += n;
		buf += n;
		len -= n;
	}
	if (len)
		mem_read_at(&m->mem, paddr, buf, len);
}

/* Bytes [off, off + len) of the built core: headers, zero padding, segment data. */
static void mem_core_read(const struct mem_core *m, u64 off, u8 *buf, size_t len)
{
	const struct memcore *mc = &m->mc;

	while (len) {
		size_t n = len;
		u32 k = 0;

		if (off < mc->hdr_len) {
			n = mc->hdr_len - off < len ? (size_t)(mc->hdr_len - off) : len;
			memcpy(buf, mc->hdr + off, n);
		} else {
			/* Segments lie in ascending offsets; the first that ends past off. */
			while (k < mc->nseg && off >= mc->seg[k].offset + mc->seg[k].size)
				k++;
			if (k == mc->nseg)
				die("internal: read at byte 0x%llx past the built core",
				    (unsigned long long)off);
			const struct memcore_seg *s = &mc->seg[k];
			u64 left = off < s->offset ? s->offset - off : s->offset + s->size - off;

			n = left < len ? (size_t)left : len;
			if (off < s->offset)
				memset(buf, 0, n);
			else
				mem_core_phys(m, s->paddr + (off - s->offset), buf, n);
		}
		off += n;
		buf += n;
		len -= n;
	}
}

/* Reads kexec-tools' headers at elfcorehdr= and builds the core; says which segments go. */
static void mem_core_open(const struct options *o, const struct memcore_cmdline *cl,
			  struct mem_core *m)
{
	static u8 hdrs[MEMCORE_HEADERS_MAX];
	struct jb_diag d = { "" };
	u64 need, addr = cl->elfcorehdr;

	if (!cl->has_elfcorehdr)
		die("%s has no elfcorehdr=: kernel A did not load kernel B with kexec's ELF core"
		    " headers (kexec --load-preserve-context), so kernel A's RAM is unknown; give"
		    " --core with kernel A's ELF core", o->cmdline);
	if (addr >= 1ull << 52)
		die("elfcorehdr=0x%llx in %s is beyond what x86 can address",
		    (unsigned long long)addr, o->cmdline);
	mem_open(&m->mem, o->mem);
	mem_read_at(&m->mem, addr, hdrs, ELFCORE_IDENT_LEN);
	int rc = memcore_headers_len(hdrs, ELFCORE_IDENT_LEN, &need, &d);

	if (rc)
		die("the ELF core headers at elfcorehdr=0x%llx (%s): %s: %s",
		    (unsigned long long)addr, o->mem, jb_strerror(rc), d.text);
	if (cl->elfcorehdr_size && need > cl->elfcorehdr_size)
		die("the ELF core headers at elfcorehdr=0x%llx need 0x%llx bytes, more than the"
		    " 0x%llx its size@ gives", (unsigned long long)addr, (unsigned long long)need,
		    (unsigned long long)cl->elfcorehdr_size);
	if (need > ELFCORE_IDENT_LEN)
		mem_read_at(&m->mem, addr + ELFCORE_IDENT_LEN, hdrs + ELFCORE_IDENT_LEN,
			    (size_t)(need - ELFCORE_IDENT_LEN));
	iomem_load(o->iomem, &m->b_ram);
	struct memcore_inverted inv[8];
	u32 ninv = memcore_drop_inverted(hdrs, (size_t)need, inv, JB_ARRAY_LEN(inv));

	for (u32 i = 0; i < ninv && i < JB_ARRAY_LEN(inv); i++)
		fprintf(stderr,
			"jbwrite: skipping program header %u at 0x%llx (+0x%llx): a range whose end"
			" lies before its start, not memory (kexec-tools cuts [0xf0000, --mem-max]"
			" out of kernel A's RAM this way)\n",
			inv[i].phdr_index, (unsigned long long)inv[i].paddr,
			(unsigned long long)inv[i].memsz);
	rc = memcore_build(hdrs, (size_t)(need > ELFCORE_IDENT_LEN ? need : ELFCORE_IDENT_LEN),
			   &m->b_ram, &m->mc, &d);
	if (rc)
		die("the ELF core headers at elfcorehdr=0x%llx (%s): %s: %s",
		    (unsigned long long)addr, o->mem, jb_strerror(rc), d.text);
	for (u32 i = 0; i < m->mc.in.nseg; i++) {
		const struct elf_seg *s = &m->mc.in.seg[i];

		if (m->mc.skipped[i])
			fprintf(stderr,
				"jbwrite: skipping segment at 0x%llx (+0x%llx): inside kernel B's own"
				" RAM (the kexec window)\n",
				(unsigned long long)s->paddr, (unsigned long long)s->memsz);
	}
}

/*
 * Kernel A's low memory: the kept bytes below the end of its copy, read now and checked
 * against the copy before anything is written (lib/memcore.c says which changes are fine).
 */
static void mem_core_lowmem(const struct options *o, struct mem_core *m)
{
	struct memcore_low res;
	struct jb_diag d = { "" };
	struct file f;

	if (!o->lowmem) {
		fprintf(stderr, "jbwrite: warning: no --lowmem: kernel A's low memory is taken as"
				" kernel B finds it; kernel B's boot may have overwritten parts of it\n");
		return;
	}
	file_open(&f, o->lowmem, O_RDONLY);
	if (f.size == 0 || f.size > LOWMEM_MAX)
		die("--lowmem %s holds %llu bytes; kernel A's low memory is 1 to %u MiB",
		    o->lowmem, (unsigned long long)f.size, LOWMEM_MAX >> 20);
	u8 *a = malloc((size_t)f.size), *now = calloc(1, (size_t)f.size);

	if (!a || !now)
		die("out of memory");
	file_read_at(&f, 0, a, (size_t)f.size);
	close(f.fd);
	for (u32 k = 0; k < m->mc.nseg; k++) {
		const struct memcore_seg *s = &m->mc.seg[k];
		u64 end = s->paddr + s->size < f.size ? s->paddr + s->size : f.size;

		for (u64 p = s->paddr; p < end; p += CHUNK_SIZE)
			mem_read_at(&m->mem, p, now + p,
				    end - p < CHUNK_SIZE ? (size_t)(end - p) : CHUNK_SIZE);
	}
	if (memcore_lowmem_merge(&m->mc, &m->b_ram, now, a, f.size, &res, &d))
		die("%s: kernel A's low memory changed after it was saved, or this is not kernel"
		    " A's memory; nothing written", d.text);
	free(a);
	m->low = now;
	m->low_len = f.size;
	if (!o->quiet)
		printf("jbwrite: low memory: %u pages checked against kernel A's copy, %u of kernel"
		       " B's replaced by kernel A's\n", res.checked, res.replaced);
}

/* Why the vmcore cannot be the core (written to why), or NULL when its ELF header reads. */
static const char *vmcore_unusable(const char *path, char *why, size_t size)
{
	u8 buf[ELFCORE_IDENT_LEN];
	struct jb_diag d = { "" };
	struct stat st;
	u64 need;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		snprintf(why, size, "no %s", path);
	else if (fd < 0)
		snprintf(why, size, "%s: %s", path, strerror(errno));
	if (fd < 0)
		return why;
	ssize_t n = fstat(fd, &st) == 0 ? pread(fd, buf, sizeof(buf), 0) : -1;
	int err = errno;

	close(fd);
	if (n < 0) {
		snprintf(why, size, "%s: %s", path, strerror(err));
		return why;
	}
	if (elfcore_headers_len(buf, (size_t)n, (u64)st.st_size, &need, &d)) {
		snprintf(why, size, "%s: %s", path, d.text);
		return why;
	}
	return NULL;
}

/* ---- the core: headers, notes, one streaming pass ---------------------------------------- */

/*
 * A core as a range [at, at + size) of a file, or the core built from memory (m), and its
 * first `have` bytes (up to one chunk) in buf: the stream starts from them, so the headers and
 * notes are usually read only once.
 */
struct core_src {
	const struct file *f;
	const struct mem_core *m;
	u64 at;
	u64 size;
	u8 *buf;
	size_t have;
	u8 *hdrs; /* the ELF and program headers: buf, or a copy when they run past it */
	u64 hdrs_len;
	struct elf_core core;
};

static void core_read(const struct core_src *c, u64 off, void *buf, size_t len)
{
	if (c->m)
		mem_core_read(c->m, off, buf, len);
	else
		file_read_at(c->f, c->at + off, buf, len);
}

/* Bytes [off, off + len) of the core into a new buffer, from buf where it holds them. */
static u8 *core_bytes(const struct core_src *c, u64 off, u64 len)
{
	u8 *p = malloc(len ? (size_t)len : 1);

	if (!p)
		die("out of memory for 0x%llx bytes of %s", (unsigned long long)len, c->f->path);
	u64 from_buf = off < c->have ? (len < c->have - off ? len : c->have - off) : 0;

	memcpy(p, c->buf + off, (size_t)from_buf);
	if (from_buf < len)
		core_read(c, off + from_buf, p + from_buf, (size_t)(len - from_buf));
	return p;
}

static void core_open(struct core_src *c, const struct file *f, const struct mem_core *m, u64 at,
		      u64 size, const char *what)
{
	struct jb_diag d = { "" };
	u64 need;

	c->f = f;
	c->m = m;
	c->at = at;
	c->size = size;
	c->have = size < CHUNK_SIZE ? (size_t)size : CHUNK_SIZE;
	c->buf = malloc(CHUNK_SIZE);
	if (!c->buf)
		die("out of memory");
	core_read(c, 0, c->buf, c->have);
	int rc = elfcore_headers_len(c->buf, c->have, size, &need, &d);

	if (rc)
		die("%s: %s: %s", what, jb_strerror(rc), d.text);
	if (need > HEADERS_MAX)
		die("%s: the program headers end at byte 0x%llx; more than %u MiB of headers is"
		    " not a vmcore", what, (unsigned long long)need, HEADERS_MAX >> 20);
	c->hdrs_len = need;
	c->hdrs = need <= c->have ? c->buf : core_bytes(c, 0, need);
	rc = elfcore_parse(c->hdrs, (size_t)need, size, &c->core, &d);
	if (rc)
		die("%s: %s: %s", what, jb_strerror(rc), d.text);
}

static void core_close(struct core_src *c)
{
	if (c->hdrs != c->buf)
		free(c->hdrs);
	free(c->buf);
}

/*
 * Reads the core once, in order, chunk by chunk: each chunk feeds the checksum of every
 * segment whose file data it meets (segments may share or overlap data, in any order), then
 * goes to out at out_at + its position when out is given. table gets the image's hash table:
 * the XXH64 of each 16 MiB chunk of each segment's file data, segments in order.
 */
static void core_stream(struct core_src *c, u64 *table, const struct file *out, u64 out_at)
{
	static XXH64_state_t *hs[ELFCORE_MAX_SEGS];
	static u64 done[ELFCORE_MAX_SEGS]; /* bytes of the segment's data hashed */
	static u64 first[ELFCORE_MAX_SEGS]; /* its first entry in table */
	const struct elf_core *core = &c->core;
	size_t n = c->have;
	u64 next = 0;

	for (u32 i = 0; i < core->nseg; i++) {
		if (!hs[i] && !(hs[i] = XXH64_createState()))
			die("out of memory");
		XXH64_reset(hs[i], 0);
		done[i] = 0;
		first[i] = next;
		next += jbi_seg_chunks(core->seg[i].filesz);
	}
	for (u64 pos = 0; pos < c->size; pos += n) {
		if (pos) {
			n = c->size - pos < CHUNK_SIZE ? (size_t)(c->size - pos) : CHUNK_SIZE;
			core_read(c, pos, c->buf, n);
		}
		for (u32 i = 0; i < core->nseg; i++) {
			/* elfcore_parse checked offset + filesz <= size: no overflow here. */
			u64 lo = core->seg[i].offset, hi = lo + core->seg[i].filesz;

			if (lo < pos)
				lo = pos;
			if (hi > pos + n)
				hi = pos + n;
			while (lo < hi) {
				/* Up to the end of the segment's current 16 MiB chunk. */
				u64 room = JBI_CHUNK_SIZE - done[i] % JBI_CHUNK_SIZE;
				u64 k = hi - lo < room ? hi - lo : room;

				XXH64_update(hs[i], c->buf + (lo - pos), (size_t)k);
				done[i] += k;
				lo += k;
				if (done[i] % JBI_CHUNK_SIZE == 0 || done[i] == core->seg[i].filesz) {
					table[first[i] + (done[i] - 1) / JBI_CHUNK_SIZE] =
						XXH64_digest(hs[i]);
					XXH64_reset(hs[i], 0);
				}
			}
		}
		if (out)
			file_write_at(out, out_at + pos, c->buf, n);
	}
	c->have = 0; /* buf now holds the last chunk */
}

/* The hash table of a core, zeroed: nchunk entries, at least one (malloc(0) aside). */
static u64 *table_new(u64 nchunk)
{
	u64 *t = calloc(nchunk ? (size_t)nchunk : 1, sizeof(u64));

	if (!t)
		die("out of memory for %llu chunk checksums", (unsigned long long)nchunk);
	return t;
}

/* The value of the OSRELEASE= line in a VMCOREINFO note's text, or false. */
static bool osrelease_find(const u8 *text, u64 len, char *release, const char *what)
{
	const size_t key = sizeof(OSRELEASE_KEY) - 1;

	for (u64 at = 0; at < len;) {
		u64 end = at;

		while (end < len && text[end] != '\n' && text[end] != '\0')
			end++;
		if (end - at >= key && !memcmp(text + at, OSRELEASE_KEY, key)) {
			u64 vlen = end - at - key;

			if (vlen == 0)
				return false;
			if (vlen >= JBI_RELEASE_SIZE)
				die("%s: VMCOREINFO's OSRELEASE is %llu bytes, at most %u fit; give"
				    " --release", what, (unsigned long long)vlen, JBI_RELEASE_SIZE - 1);
			memcpy(release, text + at + key, (size_t)vlen);
			release[vlen] = '\0';
			return true;
		}
		if (end < len && text[end] == '\0')
			break;
		at = end + 1;
	}
	return false;
}

/* Walks the notes of one PT_NOTE (4-byte aligned, as the kernel writes them in vmcore). */
static bool notes_release(const u8 *p, u64 len, char *release, const char *what)
{
	const size_t name_len = sizeof(VMCOREINFO_NAME) - 1;

	for (u64 off = 0; len - off >= 12;) {
		u64 namesz = le32(p + off), descsz = le32(p + off + 4);
		u64 name = off + 12, desc = name + ((namesz + 3) & ~3ull);
		u64 next = desc + ((descsz + 3) & ~3ull);

		if (desc > len || descsz > len - desc)
			return false; /* a damaged note ends the walk; the release stays unknown */
		if ((namesz == name_len || (namesz == name_len + 1 && p[name + name_len] == 0)) &&
		    !memcmp(p + name, VMCOREINFO_NAME, name_len))
			return osrelease_find(p + desc, descsz, release, what);
		if (next > len)
			break;
		off = next;
	}
	return false;
}

/* Kernel A's release from the core's VMCOREINFO note; false when there is none. */
static bool core_release(struct core_src *c, char *release, const char *what)
{
	const u8 *h = c->hdrs;
	bool is64 = c->core.elf_class == 64;
	u64 phoff = is64 ? le64(h + 32) : le32(h + 28);
	u32 phnum = is64 ? le16(h + 56) : le16(h + 44);
	u32 phentsize = is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);

	/* lib/elfcore.c skips notes; its checks made this table safe to read. */
	for (u32 i = 0; i < phnum; i++) {
		const u8 *ph = h + phoff + (u64)i * phentsize;
		u64 off = is64 ? le64(ph + 8) : le32(ph + 4);
		u64 len = is64 ? le64(ph + 32) : le32(ph + 16);

		if (le32(ph) != PT_NOTE || len == 0)
			continue;
		if (off > c->size || len > c->size - off || len > NOTES_MAX)
			continue; /* not readable here; the stub ignores notes too */
		u8 *notes = core_bytes(c, off, len);
		bool found = notes_release(notes, len, release, what);

		free(notes);
		if (found)
			return true;
	}
	return false;
}

/* ---- the memory map -------------------------------------------------------------------- */

struct memmap {
	u32 n;
	struct jbi_mem e[JBI_MAX_MEM];
};

static void memmap_add(struct memmap *m, u64 start, u64 len, u32 type, const char *where)
{
	if (m->n == JBI_MAX_MEM)
		die("%s: more than %u memory map entries; the image holds at most %u", where,
		    JBI_MAX_MEM, JBI_MAX_MEM);
	m->e[m->n++] = (struct jbi_mem){ .start = start, .len = len, .type = type };
}

/* One line of a small sysfs file, without its newline. */
static void sysfs_read(const char *dir, const char *entry, const char *name, char *out,
		       size_t size)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, entry, name);
	f = fopen(path, "r");
	if (!f)
		die("memory map: cannot open %s: %s", path, strerror(errno));
	if (!fgets(out, (int)size, f))
		die("memory map: %s is empty", path);
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
}

/* The e820 type of a /sys/firmware/memmap type name (drivers/firmware/memmap.c). */
static u32 sysfs_type(const char *name)
{
	static const struct {
		const char *name;
		u32 type;
	} types[] = {
		{ "System RAM", 1 },  { "Reserved", 2 }, { "ACPI Tables", 3 },
		{ "ACPI Non-volatile Storage", 4 }, { "Unusable memory", 5 },
		{ "Persistent Memory", 7 },
	};

	for (size_t i = 0; i < JB_ARRAY_LEN(types); i++)
		if (!strcmp(name, types[i].name))
			return types[i].type;
	return MEMMAP_TYPE_RESERVED;
}

static int entry_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Subdirectories 0, 1, 2, ... of dir, in numeric order, each with start, end (inclusive), type. */
static void memmap_sysfs(const char *dir, struct memmap *m)
{
	static u64 idx[JBI_MAX_MEM + 1];
	u32 n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		die("memory map: cannot open %s: %s (give --memmap-file or --memmap-sysfs)", dir,
		    strerror(errno));
	while ((de = readdir(d))) {
		u64 v;

		if (!parse_u64(de->d_name, &v) || (de->d_name[0] == '0' && de->d_name[1]))
			continue; /* only the numbered entries */
		if (n == JB_ARRAY_LEN(idx))
			die("memory map: %s has more than %u entries; the image holds at most %u",
			    dir, JBI_MAX_MEM, JBI_MAX_MEM);
		idx[n++] = v;
	}
	closedir(d);
	qsort(idx, n, sizeof(idx[0]), entry_cmp);
	for (u32 i = 0; i < n; i++) {
		char entry[32], start_s[64], end_s[64], type_s[128], where[4200];
		u64 start, end;

		snprintf(entry, sizeof(entry), "%llu", (unsigned long long)idx[i]);
		snprintf(where, sizeof(where), "%s/%s", dir, entry);
		sysfs_read(dir, entry, "start", start_s, sizeof(start_s));
		sysfs_read(dir, entry, "end", end_s, sizeof(end_s));
		sysfs_read(dir, entry, "type", type_s, sizeof(type_s));
		if (!parse_u64(start_s, &start))
			die("memory map: %s/start '%s' is not a number", where, start_s);
		if (!parse_u64(end_s, &end))
			die("memory map: %s/end '%s' is not a number", where, end_s);
		if (end < start || (start == 0 && end == UINT64_MAX))
			die("memory map: %s: end 0x%llx is before start 0x%llx", where,
			    (unsigned long long)end, (unsigned long long)start);
		memmap_add(m, start, end - start + 1, sysfs_type(type_s), where);
	}
}

/* A memmap-file TYPE: a number, or usable / reserved. */
static bool file_type(const char *s, u32 *type)
{
	u64 v;

	if (!strcmp(s, "usable")) {
		*type = MEM_TYPE_USABLE;
		return true;
	}
	if (!strcmp(s, "reserved")) {
		*type = MEMMAP_TYPE_RESERVED;
		return true;
	}
	if (!parse_u64(s, &v) || v > UINT32_MAX)
		return false;
	*type = (u32)v;
	return true;
}

/* Lines "START END TYPE" (END exclusive), '#' starts a comment. */
static void memmap_file(const char *path, struct memmap *m)
{
	char line[LINE_MAX_LEN];
	FILE *f = fopen(path, "r");

	if (!f)
		die("memory map: cannot open %s: %s", path, strerror(errno));
	for (u32 lineno = 1; fgets(line, sizeof(line), f); lineno++) {
		char where[4200], *word[4], *save = NULL;
		u32 nword = 0, type;
		u64 start, end;

		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (!strchr(line, '\n') && !feof(f))
			die("memory map: %s: line longer than %u bytes", where, LINE_MAX_LEN - 2);
		line[strcspn(line, "#\n")] = '\0';
		for (char *w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
			if (nword == JB_ARRAY_LEN(word))
				die("memory map: %s: more than 3 words; want START END TYPE", where);
			word[nword++] = w;
		}
		if (nword == 0)
			continue;
		if (nword != 3)
			die("memory map: %s: %u words; want START END TYPE", where, nword);
		if (!parse_u64(word[0], &start))
			die("memory map: %s: START '%s' is not a number", where, word[0]);
		if (!parse_u64(word[1], &end))
			die("memory map: %s: END '%s' is not a number", where, word[1]);
		if (!file_type(word[2], &type))
			die("memory map: %s: TYPE '%s' is not a number, usable or reserved", where,
			    word[2]);
		if (end <= start)
			die("memory map: %s: END 0x%llx is not above START 0x%llx (END is"
			    " exclusive)", where, (unsigned long long)end, (unsigned long long)start);
		memmap_add(m, start, end - start, type, where);
	}
	if (ferror(f))
		die("memory map: cannot read %s", path);
	fclose(f);
}

/* The map from the options, checked to give usable RAM as the stub will compute it. */
static void memmap_load(const struct options *o, struct memmap *m, struct ram_map *ram)
{
	static struct mem_entry e[JBI_MAX_MEM];
	struct jb_diag d = { "" };
	struct stat st;
	const char *where = o->memmap_file ? o->memmap_file : o->memmap_sysfs;

	m->n = 0;
	if (o->memmap_file) {
		memmap_file(o->memmap_file, m);
	} else if (o->memmap_sysfs) {
		memmap_sysfs(o->memmap_sysfs, m);
	} else if (stat(MEMMAP_SYSFS_DEFAULT, &st) == 0 && S_ISDIR(st.st_mode)) {
		where = MEMMAP_SYSFS_DEFAULT;
		memmap_sysfs(where, m);
	} else {
		die("memory map: %s does not exist; give --memmap-file or --memmap-sysfs (the stub"
		    " refuses an image whose map differs from the machine's, so an image without"
		    " one would never resume)", MEMMAP_SYSFS_DEFAULT);
	}
	if (m->n == 0)
		die("memory map: %s lists no entries", where);
	for (u32 i = 0; i < m->n; i++)
		e[i] = (struct mem_entry){ m->e[i].start, m->e[i].len, m->e[i].type };
	int rc = ram_map_build(e, m->n, ram, &d);

	if (rc)
		die("memory map: %s: %s: %s", where, jb_strerror(rc), d.text);
}

/* ---- the header ------------------------------------------------------------------------ */

static const char *mem_type_name(u32 type)
{
	switch (type) {
	case 1: return "usable";
	case 2: return "reserved";
	case 3: return "ACPI tables";
	case 4: return "ACPI NVS";
	case 5: return "unusable";
	case 7: return "persistent";
	default: return "other";
	}
}

static const char *state_name(u32 state)
{
	return state == JBI_STATE_VALID ? "VALD (not resumed yet)"
	       : state == JBI_STATE_USED ? "USED (resumed once)"
					 : "unknown";
}

static void header_print(const struct jbi_header *h)
{
	char when[40];

	fmt_time_utc(when, sizeof(when), h->created);
	printf("state: %s 0x%08x\n", state_name(h->state), h->state);
	printf("entry: 0x%llx\n", (unsigned long long)h->entry);
	printf("mode: %s%s (flags 0x%x)\n", h->flags & JBI_FLAG_MODE64 ? "64" : "32",
	       h->flags & JBI_FLAG_PAE ? " PAE" : "", h->flags);
	printf("release: %.*s\n", JBI_RELEASE_SIZE, h->release);
	printf("created: %s (%llu)\n", when, (unsigned long long)h->created);
	printf("core: %llu bytes at offset %llu\n", (unsigned long long)h->core_size,
	       (unsigned long long)h->core_offset);
	printf("memory map: %u entries (end exclusive)\n", h->nmem);
	for (u32 i = 0; i < h->nmem && i < JBI_MAX_MEM; i++) {
		const struct jbi_mem *e = &h->mem[i];

		printf("  mem %u: 0x%016llx-0x%016llx type %u %s\n", i,
		       (unsigned long long)e->start, (unsigned long long)(e->start + e->len),
		       e->type, mem_type_name(e->type));
	}
	printf("segments: %u\n", h->nseg);
	printf("chunks: %u (XXH64 per %u MiB), table at %llu (%llu bytes, XXH64 0x%016llx)\n",
	       h->nchunk, h->chunk_size >> 20, (unsigned long long)h->hash_offset,
	       (unsigned long long)h->nchunk * 8, (unsigned long long)h->table_xxh64);
}

static void hashes_print(const struct elf_core *core, const u64 *table)
{
	u64 at = 0;

	for (u32 i = 0; i < core->nseg; i++) {
		const struct elf_seg *s = &core->seg[i];
		u64 n = jbi_seg_chunks(s->filesz);

		printf("  segment %u (phdr %u, paddr 0x%llx, 0x%llx bytes): %llu chunks\n", i,
		       s->phdr_index, (unsigned long long)s->paddr, (unsigned long long)s->filesz,
		       (unsigned long long)n);
		for (u64 k = 0; k < n; k++, at++)
			printf("    chunk %llu (0x%llx-0x%llx): 0x%016llx\n", (unsigned long long)k,
			       (unsigned long long)(k * JBI_CHUNK_SIZE),
			       (unsigned long long)(k + 1 < n ? (k + 1) * JBI_CHUNK_SIZE : s->filesz),
			       (unsigned long long)table[at]);
	}
}

/* Everything but the table's XXH64 and the CRC. */
static void header_build(const struct options *o, const struct core_src *c, const char *what,
			 u64 entry, const struct memmap *m, const char *release,
			 struct jbi_header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, JBI_MAGIC, sizeof(h->magic));
	h->version = JBI_VERSION;
	h->state = JBI_STATE_VALID;
	h->header_size = JBI_HEADER_SIZE;
	bool mode64 = o->mode == MODE_64 || (o->mode == MODE_AUTO && c->core.machine == EM_X86_64);

	if (mode64 && o->pae)
		die("--pae is for a 32-bit kernel A, and %s is an EM_X86_64 core (mode 64);"
		    " give --mode 32 if kernel A is 32-bit", what);
	if (!mode64 && entry > UINT32_MAX)
		die("entry 0x%llx is above 4 GiB, out of reach of a 32-bit kernel A",
		    (unsigned long long)entry);
	h->flags = (mode64 ? JBI_FLAG_MODE64 : 0) | (o->pae ? JBI_FLAG_PAE : 0);
	h->nmem = m->n;
	memcpy(h->mem, m->e, m->n * sizeof(m->e[0]));
	h->entry = entry;
	u64 nchunk = jbi_chunks(&c->core);

	if (nchunk > UINT32_MAX)
		die("%s: %llu chunks of 16 MiB; an image holds at most %u", what,
		    (unsigned long long)nchunk, UINT32_MAX);
	h->nseg = c->core.nseg;
	h->nchunk = (u32)nchunk;
	h->chunk_size = JBI_CHUNK_SIZE;
	h->hash_offset = JBI_HASH_OFFSET;
	h->core_offset = jbi_core_offset(h->nchunk);
	h->core_size = c->size;
	h->created = o->has_created ? o->created : (u64)time(NULL);
	memcpy(h->release, release, strnlen(release, sizeof(h->release) - 1)); /* NUL-padded */
}

/* Warns about segments the stub would refuse: outside the recorded usable RAM. */
static void segments_check(const struct elf_core *core, const struct ram_map *ram)
{
	for (u32 i = 0; i < core->nseg; i++) {
		const struct elf_seg *s = &core->seg[i];

		if (!ram_map_contains(ram, s->paddr, s->paddr + s->memsz))
			fprintf(stderr,
				"jbwrite: warning: segment %u (phdr %u) at 0x%llx (+0x%llx) is not"
				" inside usable RAM of the memory map; the stub will refuse it\n",
				i, s->phdr_index, (unsigned long long)s->paddr,
				(unsigned long long)s->memsz);
	}
}

/* ---- writing --------------------------------------------------------------------------- */

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
		die("internal: the header fails its own check: %s: %s", jb_strerror(rc), d.text);
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
		printf("check: FAILED: %s: %s\n", jb_strerror(rc), d.text);
		fprintf(stderr, "jbwrite: error: %s: %s: %s\n", o->show, jb_strerror(rc), d.text);
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
