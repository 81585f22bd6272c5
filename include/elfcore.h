/* Reading an ELF memory snapshot (/proc/vmcore, QEMU dump-guest-memory): its PT_LOAD list. Pure. */
#ifndef JB_ELFCORE_H
#define JB_ELFCORE_H

#include "diag.h"
#include "types.h"

#define ELFCORE_MAX_SEGS 512
/* Bytes the caller reads first; enough for the ELF header of either class. */
#define ELFCORE_IDENT_LEN 64

struct elf_seg {
	u64 paddr;  /* physical destination */
	u64 offset; /* file offset of the data, relative to the image start */
	u64 filesz; /* bytes stored in the file */
	u64 memsz;  /* bytes in memory; the rest after filesz is zero */
	u32 phdr_index;
};

struct elf_core {
	u8 elf_class; /* 32 or 64 */
	u16 machine;  /* EM_386 or EM_X86_64 */
	u32 nseg;
	u32 nnotes;
	struct elf_seg seg[ELFCORE_MAX_SEGS];
};

/*
 * From the first bytes of an image (at least ELFCORE_IDENT_LEN, or all of a shorter image),
 * finds how many leading bytes hold the ELF and program headers. Recognises compressed dumps
 * and says so. image_size is the number of bytes the disk holds from the image start.
 */
int elfcore_headers_len(const u8 *buf, size_t len, u64 image_size, u64 *need, struct jb_diag *d);

/* Parses the headers (buf holds at least the length elfcore_headers_len gave) into core. */
int elfcore_parse(const u8 *buf, size_t len, u64 image_size, struct elf_core *core,
		  struct jb_diag *d);

#endif
