/*
 * jbwrite's memory source, for a kernel B without /proc/vmcore: kexec-tools' ELF headers at
 * elfcorehdr=, kernel A's RAM through /dev/mem (mmap), kernel B's RAM from /proc/iomem, --lowmem.
 */
#include "jbwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

#define TEXT_MAX (1u << 20)    /* /proc/cmdline and /proc/iomem are a few KiB */
#define LOWMEM_MAX (64u << 20) /* kernel A's low-memory copy: 1 MiB is typical */

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

void cmdline_load(const char *path, struct memcore_cmdline *cl)
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
		die("%s: %s", path, d.text);
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
void mem_core_read(const struct mem_core *m, u64 off, u8 *buf, size_t len)
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
void mem_core_open(const struct options *o, const struct memcore_cmdline *cl,
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
		die("the ELF core headers at elfcorehdr=0x%llx (%s): %s",
		    (unsigned long long)addr, o->mem, d.text);
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
		die("the ELF core headers at elfcorehdr=0x%llx (%s): %s",
		    (unsigned long long)addr, o->mem, d.text);
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
void mem_core_lowmem(const struct options *o, struct mem_core *m)
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
