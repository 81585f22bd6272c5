/*
 * What the files of jbwrite share: the options, the open file, the two core sources (a file or
 * kernel A's memory), the memory map and the functions that cross files. Include it first.
 */
#ifndef JB_JBWRITE_H
#define JB_JBWRITE_H

#define _FILE_OFFSET_BITS 64

#include <sys/types.h>

#include "elfcore.h"
#include "jbimage.h"
#include "memcore.h"
#include "plan.h"
#include "types.h"

#define TOOL_NAME "jbwrite"
#include "../tool_die.h"

#define CHUNK_SIZE (4u << 20)       /* copy unit: large reads keep /proc/vmcore and disks busy */
#define MEMMAP_SYSFS_DEFAULT "/sys/firmware/memmap"

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

/* The firmware memory map as the header records it. */
struct memmap {
	u32 n;
	struct jbi_mem e[JBI_MAX_MEM];
};

/* main.c */
bool parse_u64(const char *s, u64 *out);

/* file.c: files and block devices */
void file_open(struct file *f, const char *path, int flags);
void file_read_at(const struct file *f, u64 off, void *buf, size_t len);
void file_write_at(const struct file *f, u64 off, const void *buf, size_t len);
void file_sync(const struct file *f);

/* memsrc.c: the memory source */
void cmdline_load(const char *path, struct memcore_cmdline *cl);
void mem_core_read(const struct mem_core *m, u64 off, u8 *buf, size_t len);
void mem_core_open(const struct options *o, const struct memcore_cmdline *cl,
		   struct mem_core *m);
void mem_core_lowmem(const struct options *o, struct mem_core *m);

/* core.c: the core source */
const char *vmcore_unusable(const char *path, char *why, size_t size);
void core_open(struct core_src *c, const struct file *f, const struct mem_core *m, u64 at,
	       u64 size, const char *what);
void core_close(struct core_src *c);
void core_stream(struct core_src *c, u64 *table, const struct file *out, u64 out_at);
u64 *table_new(u64 nchunk);
bool core_release(struct core_src *c, char *release, const char *what);

/* memmap.c: the firmware memory map */
void memmap_load(const struct options *o, struct memmap *m, struct ram_map *ram);

/* header.c: the image header */
void header_print(const struct jbi_header *h);
void hashes_print(const struct elf_core *core, const u64 *table);
void header_build(const struct options *o, const struct core_src *c, const char *what,
		  u64 entry, const struct memmap *m, const char *release,
		  struct jbi_header *h);
void segments_check(const struct elf_core *core, const struct ram_map *ram);

#endif
