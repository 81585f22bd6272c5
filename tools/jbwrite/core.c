/*
 * jbwrite's core source: an ELF core (a file, or the one memsrc.c builds) read once in a
 * streaming pass that hashes each 16 MiB chunk (libxxhash) and writes; VMCOREINFO's release.
 */
#include "jbwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "elf.h"
#include "errors.h"
#include "le.h"

#define HEADERS_MAX (64u << 20)     /* ELF + program headers further in than this are absurd */
#define NOTES_MAX (64u << 20)       /* PT_NOTE bytes read when looking for VMCOREINFO */
#define VMCOREINFO_NAME "VMCOREINFO"
#define OSRELEASE_KEY "OSRELEASE="

/* Why the vmcore cannot be the core (written to why), or NULL when its ELF header reads. */
const char *vmcore_unusable(const char *path, char *why, size_t size)
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

void core_open(struct core_src *c, const struct file *f, const struct mem_core *m, u64 at,
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
		die("%s: %s", what, d.text);
	if (need > HEADERS_MAX)
		die("%s: the program headers end at byte 0x%llx; more than %u MiB of headers is"
		    " not a vmcore", what, (unsigned long long)need, HEADERS_MAX >> 20);
	c->hdrs_len = need;
	c->hdrs = need <= c->have ? c->buf : core_bytes(c, 0, need);
	rc = elfcore_parse(c->hdrs, (size_t)need, size, &c->core, &d);
	if (rc)
		die("%s: %s", what, d.text);
}

void core_close(struct core_src *c)
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
void core_stream(struct core_src *c, u64 *table, const struct file *out, u64 out_at)
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
u64 *table_new(u64 nchunk)
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
bool core_release(struct core_src *c, char *release, const char *what)
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
