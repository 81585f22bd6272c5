/*
 * Kernel A's memory as an ELF core when kernel B has no /proc/vmcore (an unpatched kernel B
 * after `kexec --load-preserve-context`): kexec-tools' ELF core headers at elfcorehdr= give
 * A's RAM ranges, /dev/mem gives the bytes. This is the pure part: kernel B's command line and
 * /proc/iomem, which segments to keep, the new headers, and kernel A's low memory. Pure.
 */
#ifndef JB_MEMCORE_H
#define JB_MEMCORE_H

#include "diag.h"
#include "elf.h"
#include "elfcore.h"
#include "plan.h"
#include "types.h"

#define MEMCORE_PAGE_SIZE 4096u
/* kexec-tools writes a few hundred program headers at most; more than this is not its table. */
#define MEMCORE_HEADERS_MAX (1u << 20)
#define MEMCORE_HDR_MAX (sizeof(struct elf64_ehdr) + ELFCORE_MAX_SEGS * sizeof(struct elf64_phdr))

/* What kernel B's command line says (Documentation/admin-guide/kernel-parameters.txt). */
struct memcore_cmdline {
	bool has_elfcorehdr;
	u64 elfcorehdr;      /* physical address of kexec-tools' ELF core headers */
	u64 elfcorehdr_size; /* the size of `elfcorehdr=size@addr`; 0 when not given */
	bool has_entry;
	u64 entry; /* kexec_jump_back_entry= */
};

/*
 * Reads elfcorehdr= (memparse syntax, `[size@]addr` with K/M/G/T/P/E suffixes, as Linux's
 * setup_elfcorehdr) and kexec_jump_back_entry= (0x hex or decimal) from a command line. The
 * last of each wins, as for the kernel's own parameters; words after a lone "--" are init's.
 * Returns 0 (either may be absent), or -JB_ECMDLINE with d naming a value that is not a number.
 */
int memcore_cmdline_parse(const char *s, size_t len, struct memcore_cmdline *out,
			  struct jb_diag *d);

/*
 * Kernel B's own RAM from /proc/iomem text: the top-level "System RAM" lines
 * ("start-end : System RAM", hex, end inclusive). Returns 0, or -JB_EMEMMAP when there is none
 * or every range reads as zero (the file read without root), -JB_ETOOBIG when too many.
 */
int memcore_iomem_parse(const char *text, size_t len, struct ram_map *out, struct jb_diag *d);

/*
 * How many bytes from the start of kexec-tools' headers (the first ELFCORE_IDENT_LEN of them
 * in buf) hold the ELF and program headers. Fails like elfcore_headers_len, or -JB_ETOOBIG
 * past MEMCORE_HEADERS_MAX.
 */
int memcore_headers_len(const u8 *buf, size_t len, u64 *need, struct jb_diag *d);

/* A PT_LOAD that describes no memory: its range runs past what the ELF class addresses. */
struct memcore_inverted {
	u32 phdr_index;
	u64 paddr;
	u64 memsz;
};

/*
 * kexec-tools 2.0.25 cuts [first range ending above 0x9ffff, --mem-max] out of kernel A's RAM
 * ranges for a preserve-context load; where that cut starts below 1 MiB (at the BIOS ROM) it
 * leaves a range whose end lies before its start, written as a PT_LOAD at 1 MiB with p_memsz
 * near 2^64. Turns every PT_LOAD whose end passes 2^52 (ELF64) or 2^32 (ELF32) into PT_NULL in
 * buf (the headers memcore_headers_len measured), listing up to max of them in out; returns
 * how many there were. Headers that do not parse are left for memcore_build to refuse.
 */
u32 memcore_drop_inverted(u8 *buf, size_t len, struct memcore_inverted *out, u32 max);

/* One kept PT_LOAD: its bytes are physical [paddr, +size), at [offset, +size) of the core. */
struct memcore_seg {
	u64 paddr;
	u64 offset;
	u64 size;
	u32 phdr_index; /* in kexec-tools' table */
};

/* The core kernel B builds: headers in hdr, then each kept segment 4 KiB-aligned. */
struct memcore {
	struct elf_core in;                /* kexec-tools' PT_LOADs, as lib/elfcore.c reads them */
	bool skipped[ELFCORE_MAX_SEGS];    /* in.seg[i] lies inside kernel B's RAM: dropped */
	u32 nskip;
	u32 nseg;
	struct memcore_seg seg[ELFCORE_MAX_SEGS];
	u64 hdr_len; /* ELF header and program headers */
	u64 size;    /* the whole core */
	u8 hdr[MEMCORE_HDR_MAX];
};

/*
 * From kexec-tools' headers (buf holds the length memcore_headers_len gave) and kernel B's RAM
 * (merged, as memcore_iomem_parse leaves it): keeps every PT_LOAD not entirely inside kernel
 * B's RAM (one that only partly overlaps it stays: its bytes outside B's RAM are kernel A's,
 * and memcore_lowmem_merge restores the others), drops the notes, and lays the kept data out
 * with p_filesz = p_memsz. The new headers keep the class, the machine, and each phdr's
 * p_vaddr, p_flags and p_align. Returns 0, or the parser's error, -JB_EBADIMG when nothing is
 * left, -JB_ETOOBIG when an ELF32 core would pass 4 GiB.
 */
int memcore_build(const u8 *buf, size_t len, const struct ram_map *b_ram, struct memcore *mc,
		  struct jb_diag *d);

/* What memcore_lowmem_merge found. */
struct memcore_low {
	u32 checked;  /* pages holding bytes of a kept segment below the copy's end */
	u32 replaced; /* of those, pages kernel B had changed inside its own RAM */
	u64 bad_page; /* with -JB_EMISMATCH: the first page changed outside kernel B's RAM */
};

/*
 * Kernel A's low memory: now holds physical [0, len) as kernel B finds it (only the bytes of
 * kept segments matter), a kernel A's copy of the same range, taken before the jump. Compares
 * them page by page where kept segments lie. Bytes that differ inside kernel B's RAM were
 * written by kernel B's boot: they get kernel A's bytes in now. Bytes that differ outside it
 * mean the copy is not kernel A's memory as it is now: -JB_EMISMATCH, bad_page names the
 * page, and now is left unchanged.
 */
int memcore_lowmem_merge(const struct memcore *mc, const struct ram_map *b_ram, u8 *now,
			 const u8 *a, u64 len, struct memcore_low *res, struct jb_diag *d);

#endif
