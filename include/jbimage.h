/*
 * The jumpback image format (docs/image-format.md): an 8 KiB header in front of the ELF
 * core, written in kernel B by tools/jbwrite. It carries the entry and CPU mode, the memory
 * map at hibernation, a jbhash64 of every PT_LOAD's data, the kernel release, the creation
 * time, a CRC-32 of itself, and a state that the stub turns from valid to used. Pure.
 */
#ifndef JB_JBIMAGE_H
#define JB_JBIMAGE_H

#include "diag.h"
#include "elfcore.h"
#include "plan.h"
#include "types.h"

#define JBI_MAGIC "JUMPBACK"
#define JBI_VERSION 1
#define JBI_HEADER_SIZE 8192u /* the ELF core starts right after it */
#define JBI_STATE_VALID 0x444C4156u /* "VALD" */
#define JBI_STATE_USED 0x44455355u  /* "USED" */
#define JBI_STATE_OFFSET 12u        /* in the first sector, so marking writes one sector */
#define JBI_FLAG_MODE64 0x1u        /* enter kernel A in 64-bit long mode */
#define JBI_FLAG_PAE 0x2u           /* 32-bit kernel A with PAE paging */
#define JBI_MAX_MEM 128
#define JBI_MAX_HASHES ELFCORE_MAX_SEGS
#define JBI_RELEASE_SIZE 72

/* One firmware memory map entry at hibernation (type 1 = usable RAM, as e820). */
struct jbi_mem {
	u64 start;
	u64 len;
	u32 type;
	u32 reserved;
};

/* The header as stored on disk (little-endian, no padding between fields). */
struct jbi_header {
	u8 magic[8];     /* "JUMPBACK" */
	u32 version;     /* JBI_VERSION */
	u32 state;       /* JBI_STATE_VALID or JBI_STATE_USED; not covered by header_crc */
	u32 header_size; /* JBI_HEADER_SIZE */
	u32 header_crc;  /* CRC-32 (crc32.h) of header_size bytes with state and this as 0 */
	u32 flags;       /* JBI_FLAG_* */
	u32 nmem;        /* entries in mem[] */
	u64 entry;       /* kernel A's jump-back entry */
	u64 core_offset; /* bytes from the image start to the ELF core: header_size */
	u64 core_size;   /* bytes of the ELF core */
	u64 created;     /* seconds since 1970-01-01 UTC, by the writer's clock */
	u32 nhash;       /* entries in seg_hash[]: the core's PT_LOADs with p_memsz > 0 */
	u32 reserved0;
	char release[JBI_RELEASE_SIZE]; /* kernel A's release (uname -r), NUL-terminated */
	struct jbi_mem mem[JBI_MAX_MEM];
	u64 seg_hash[JBI_MAX_HASHES]; /* jbhash64 of each such PT_LOAD's file data, in order */
	u8 reserved1[JBI_HEADER_SIZE - 144 - JBI_MAX_MEM * 24 - JBI_MAX_HASHES * 8];
};

_Static_assert(sizeof(struct jbi_mem) == 24, "docs/image-format.md");
_Static_assert(__builtin_offsetof(struct jbi_header, state) == JBI_STATE_OFFSET, "image format");
_Static_assert(__builtin_offsetof(struct jbi_header, release) == 72, "docs/image-format.md");
_Static_assert(__builtin_offsetof(struct jbi_header, mem) == 144, "docs/image-format.md");
_Static_assert(sizeof(struct jbi_header) == JBI_HEADER_SIZE, "docs/image-format.md");

/* Does buf start with the image magic? */
bool jbi_has_magic(const u8 *buf, size_t len);

/* The CRC the header should carry (state and header_crc taken as zero). */
u32 jbi_header_crc(const struct jbi_header *h);

/*
 * Validates a header read from the first JBI_HEADER_SIZE bytes of an image that holds
 * image_bytes in all: magic, version, sizes, CRC, state value, counts, and that the core lies
 * inside. Returns 0 or -JB_EBADIMG / -JB_ETRUNC with d naming the field.
 */
int jbi_check(const struct jbi_header *h, u64 image_bytes, struct jb_diag *d);

/* The recorded memory map must give the same usable RAM as the machine's map now. */
int jbi_memmap_check(const struct jbi_header *h, const struct ram_map *now, struct jb_diag *d);

#endif
