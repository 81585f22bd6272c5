/*
 * jbrestore: the seed design's "kernel C", kept as the benchmark's baseline (bench/kernel_c.py):
 * in a Linux confined to kernel B's window, puts every PT_LOAD of an ELF core (raw, or inside a
 * jumpback image) back at its physical address through /dev/mem and prints kernel A's entry;
 * `jbjump --back --entry` then enters kernel A. No checks beyond the ELF headers: a baseline.
 */
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "elfcore.h"
#include "errors.h"
#include "le.h"

#define TOOL_NAME "jbrestore"
#include "../../tools/tool_error.h"

#define CHUNK_SIZE (4u << 20)
#define PAGE_SIZE_BYTES 4096u
#define IMAGE_MAGIC "JUMPBACK"
#define IMAGE_ENTRY_AT 32        /* docs/image-format.md: entry, core_offset, core_size */
#define IMAGE_CORE_OFFSET_AT 40
#define HEADERS_MAX (1u << 20)

static void usage_print(FILE *f)
{
	fprintf(f, "usage: jbrestore --image DEV [--mem FILE]\n"
		   "  writes the ELF core on DEV (raw, or behind a jumpback image header) into\n"
		   "  physical memory through FILE (default /dev/mem); prints entry=0x... (from the\n"
		   "  image header; 0 for a raw core)\n");
}

static void read_at(int fd, const char *path, u64 off, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pread(fd, (u8 *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: cannot read 0x%zx bytes at %llu: %s", path, len - done,
			    (unsigned long long)(off + done), n ? strerror(errno) : "end of file");
		done += (size_t)n;
	}
}

/* Physical [paddr, paddr + len) = src (or zeros when src is NULL), through a mapping. */
static void mem_write(int fd, const char *path, u64 paddr, const void *src, size_t len)
{
	u64 base = paddr & ~(u64)(PAGE_SIZE_BYTES - 1);
	size_t span = (size_t)(paddr - base) + len;
	u8 *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)base);

	if (p == MAP_FAILED)
		die("%s: cannot map physical 0x%llx (+0x%zx): %s", path, (unsigned long long)paddr,
		    len, strerror(errno));
	if (src)
		memcpy(p + (paddr - base), src, len);
	else
		memset(p + (paddr - base), 0, len);
	munmap(p, span);
}

int main(int argc, char **argv)
{
	static struct elf_core core;
	static u8 hdr[HEADERS_MAX];
	const char *image = NULL, *mem = "/dev/mem";
	struct jb_diag d = { "" };
	struct timespec t0, t1;
	u64 core_at = 0, entry = 0, need, bytes = 0;

	for (int i = 1; i < argc; i++) {
		const char *v = tool_option_value(argc, argv, &i);

		if (!strcmp(argv[i - 1], "--image"))
			image = v;
		else if (!strcmp(argv[i - 1], "--mem"))
			mem = v;
		else
			usage("unknown option '%s'", argv[i - 1]);
	}
	if (!image)
		usage("give --image DEV");
	int in = open(image, O_RDONLY), out = open(mem, O_RDWR);

	if (in < 0 || out < 0)
		die("cannot open %s: %s", in < 0 ? image : mem, strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	read_at(in, image, 0, hdr, 64);
	if (!memcmp(hdr, IMAGE_MAGIC, 8)) {
		entry = le64(hdr + IMAGE_ENTRY_AT);
		core_at = le64(hdr + IMAGE_CORE_OFFSET_AT);
		read_at(in, image, core_at, hdr, 64);
	}
	int rc = elfcore_headers_len(hdr, 64, UINT64_MAX, &need, &d);

	if (!rc && need > sizeof(hdr))
		die("%s: 0x%llx bytes of ELF headers", image, (unsigned long long)need);
	if (!rc) {
		read_at(in, image, core_at, hdr, (size_t)need);
		rc = elfcore_parse(hdr, (size_t)need, UINT64_MAX, &core, &d);
	}
	if (rc)
		die("%s: %s", image, d.text);
	u8 *buf = malloc(CHUNK_SIZE);

	if (!buf)
		die("out of memory");
	for (u32 i = 0; i < core.nseg; i++) {
		const struct elf_seg *s = &core.seg[i];

		for (u64 at = 0; at < s->memsz;) {
			size_t n = s->memsz - at < CHUNK_SIZE ? (size_t)(s->memsz - at) : CHUNK_SIZE;

			if (at < s->filesz) {
				if (n > s->filesz - at)
					n = (size_t)(s->filesz - at);
				read_at(in, image, core_at + s->offset + at, buf, n);
				mem_write(out, mem, s->paddr + at, buf, n);
			} else {
				mem_write(out, mem, s->paddr + at, NULL, n);
			}
			at += n;
			bytes += n;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;

	printf("jbrestore: restored %llu MiB in %ld ms\nentry=0x%llx\n",
	       (unsigned long long)(bytes >> 20), ms, (unsigned long long)entry);
	return 0;
}
