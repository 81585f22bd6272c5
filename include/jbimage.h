/*
 * The jumpback image format (docs/image-format.md), version 2: an 8 KiB header, a table of
 * XXH64 checksums (one per 16 MiB chunk of every PT_LOAD's file data), then the ELF core,
 * written in kernel B by tools/jbwrite. The header carries the entry and CPU mode, the memory
 * map at hibernation, where the table is and its own XXH64, the kernel release, the creation
 * time, a CRC-32 of itself, and a state that the stub turns from valid to used. Pure.
 */
#ifndef JB_JBIMAGE_H
#define JB_JBIMAGE_H

#include "diag.h"
#include "elfcore.h"
#include "plan.h"
#include "types.h"

#define JBI_MAGIC "JUMPBACK"
#define JBI_VERSION 2
#define JBI_VERSION_JBHASH 1  /* jbhash64 per segment in the header: no longer read */
#define JBI_HEADER_SIZE 8192u /* the hash table starts right after it */
#define JBI_HASH_OFFSET JBI_HEADER_SIZE
#define JBI_CHUNK_SIZE (16u << 20) /* bytes of segment file data per checksum */
#define JBI_TABLE_ALIGN 4096u      /* the table is zero-padded to this; the core follows */
/* The stub holds at most this many chunk checksums: 64 KiB of table, 128 GiB of data. */
#define JBI_STUB_MAX_CHUNKS 8192u
#define JBI_STATE_VALID 0x444C4156u /* "VALD" */
#define JBI_STATE_USED 0x44455355u  /* "USED" */
#define JBI_STATE_OFFSET 12u        /* in the first sector, so marking writes one sector */
#define JBI_FLAG_MODE64 0x1u        /* enter kernel A in 64-bit long mode */
#define JBI_FLAG_PAE 0x2u           /* 32-bit kernel A with PAE paging */
#define JBI_MAX_MEM 128
#define JBI_MAX_SEGS ELFCORE_MAX_SEGS
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
	u32 nseg;        /* the core's PT_LOADs with p_memsz > 0 */
	u32 nchunk;      /* u64 entries in the hash table: jbi_chunks() over those segments */
	char release[JBI_RELEASE_SIZE]; /* kernel A's release (uname -r), NUL-terminated */
	struct jbi_mem mem[JBI_MAX_MEM];
	u64 hash_offset; /* bytes from the image start to the hash table: JBI_HASH_OFFSET */
	u64 table_xxh64; /* XXH64 (seed 0) of the table's nchunk * 8 bytes */
	u32 chunk_size;  /* JBI_CHUNK_SIZE */
	u32 reserved0;
	u8 reserved1[JBI_HEADER_SIZE - 3240];
};

_Static_assert(sizeof(struct jbi_mem) == 24, "docs/image-format.md");
_Static_assert(__builtin_offsetof(struct jbi_header, state) == JBI_STATE_OFFSET, "image format");
_Static_assert(__builtin_offsetof(struct jbi_header, release) == 72, "docs/image-format.md");
_Static_assert(__builtin_offsetof(struct jbi_header, mem) == 144, "docs/image-format.md");
_Static_assert(__builtin_offsetof(struct jbi_header, nseg) == 64, "docs/image-format.md");
_Static_assert(__builtin_offsetof(struct jbi_header, nchunk) == 68, "docs/image-format.md");
_Static_assert(__builtin_offsetof(struct jbi_header, hash_offset) == 3216, "docs/image-format.md");
_Static_assert(__builtin_offsetof(struct jbi_header, table_xxh64) == 3224, "docs/image-format.md");
_Static_assert(__builtin_offsetof(struct jbi_header, chunk_size) == 3232, "docs/image-format.md");
_Static_assert(__builtin_offsetof(struct jbi_header, reserved1) == 3240, "docs/image-format.md");
_Static_assert(sizeof(struct jbi_header) == JBI_HEADER_SIZE, "docs/image-format.md");

/* Does buf start with the image magic? */
bool jbi_has_magic(const u8 *buf, size_t len);

/* The CRC the header should carry (state and header_crc taken as zero). */
u32 jbi_header_crc(const struct jbi_header *h);

/* Checksum chunks of a segment's file data: filesz / JBI_CHUNK_SIZE rounded up. */
u64 jbi_seg_chunks(u64 filesz);

/* Chunks of all of a core's segments (the header's nchunk). */
u64 jbi_chunks(const struct elf_core *core);

/* Bytes the hash table takes in the image: nchunk * 8 rounded up to JBI_TABLE_ALIGN. */
u64 jbi_table_bytes(u32 nchunk);

/* Where the core starts in an image with nchunk chunks: after the header and padded table. */
u64 jbi_core_offset(u32 nchunk);

/*
 * Validates a header read from the first JBI_HEADER_SIZE bytes of an image that holds
 * image_bytes in all: magic, version, sizes, CRC, state value, counts, chunk size, and that
 * the hash table and the core lie inside, in that order. Returns 0 or -JB_EBADIMG /
 * -JB_ETRUNC with d naming the field.
 */
int jbi_check(const struct jbi_header *h, u64 image_bytes, struct jb_diag *d);

/* The header's nseg and nchunk must be those of the core behind it. */
int jbi_check_core(const struct jbi_header *h, const struct elf_core *core, struct jb_diag *d);

/* The hash table (h->nchunk u64 values, as read from the image) against table_xxh64. */
int jbi_check_table(const struct jbi_header *h, const u64 *table, struct jb_diag *d);

/* The recorded memory map must give the same usable RAM as the machine's map now. */
int jbi_memmap_check(const struct jbi_header *h, const struct ram_map *now, struct jb_diag *d);

#endif
