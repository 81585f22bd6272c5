/*
 * ELF core parsing: ELF64 or ELF32, EM_386 or EM_X86_64, ET_CORE. Every offset and size is
 * checked against the image size without overflow; PT_NOTE and other types are skipped.
 * ELF32 with EM_X86_64 is legal: kexec-tools writes it with --elf32-core-headers on x86_64.
 */
#include "elfcore.h"

#include "elf.h"
#include "le.h"

#define KDUMP_MAGIC "KDUMP   "
/* What to do about a core whose headers are wrong (docs/errors.md). */
#define ELF_REDO "write the core again from kernel B's /proc/vmcore"
#define ELF_WHERE_OR_REDO "check resume= and resume_offset=, or " ELF_REDO
#define FLAT_MAGIC "makedumpfile"

static bool bytes_equal(const u8 *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != (u8)b[i])
			return false;
	return true;
}

/* The fields of either ELF header class that the parser uses. */
struct ehdr_fields {
	u8 elf_class;
	u16 type, machine, phentsize, phnum;
	u64 phoff;
};

static int ehdr_read(const u8 *buf, size_t len, struct ehdr_fields *h, struct jb_diag *d)
{
	if (len >= 8 && bytes_equal(buf, KDUMP_MAGIC, 8))
		return diag_fail(d, -JB_ECOMPRESSED,
				 "image is a kdump-compressed dump (makedumpfile -c, dump-guest-memory -z);"
				 " write the plain ELF core instead");
	if (len >= 12 && bytes_equal(buf, FLAT_MAGIC, 12))
		return diag_fail(d, -JB_ECOMPRESSED,
				 "image is makedumpfile's flattened format; rearrange it with"
				 " makedumpfile -R first");
	if (len < 4 || !bytes_equal(buf, ELF_MAG, 4))
		return diag_fail(d, -JB_EBADIMG,
				 "no ELF magic at the image start (found %02x %02x %02x %02x); check"
				 " resume= and resume_offset=",
				 len > 0 ? buf[0] : 0, len > 1 ? buf[1] : 0, len > 2 ? buf[2] : 0,
				 len > 3 ? buf[3] : 0);
	if (len < ELFCORE_IDENT_LEN)
		return diag_fail(d, -JB_ETRUNC,
				 "the image ends inside the ELF header (%zu of %u bytes): it is"
				 " truncated; " ELF_REDO,
				 len, ELFCORE_IDENT_LEN);
	if (buf[EI_DATA] != ELFDATA2LSB)
		return diag_fail(d, -JB_EBADIMG,
				 "ELF header: EI_DATA=%u, not little-endian (1), so not an x86 core; "
				 ELF_WHERE_OR_REDO,
				 buf[EI_DATA]);
	if (buf[EI_CLASS] == ELFCLASS64) {
		h->elf_class = 64;
		h->type = le16(buf + 16);
		h->machine = le16(buf + 18);
		h->phoff = le64(buf + 32);
		h->phentsize = le16(buf + 54);
		h->phnum = le16(buf + 56);
	} else if (buf[EI_CLASS] == ELFCLASS32) {
		h->elf_class = 32;
		h->type = le16(buf + 16);
		h->machine = le16(buf + 18);
		h->phoff = le32(buf + 28);
		h->phentsize = le16(buf + 42);
		h->phnum = le16(buf + 44);
	} else {
		return diag_fail(d, -JB_EBADIMG,
				 "ELF header: EI_CLASS=%u is neither ELFCLASS32 (1) nor ELFCLASS64 (2); "
				 ELF_WHERE_OR_REDO,
				 buf[EI_CLASS]);
	}
	if (h->type != ET_CORE)
		return diag_fail(d, -JB_EBADIMG,
				 "ELF header: e_type=%u is not ET_CORE (4), so not a memory core; "
				 ELF_WHERE_OR_REDO,
				 h->type);
	if (h->machine != EM_386 && h->machine != EM_X86_64)
		return diag_fail(d, -JB_EBADIMG,
				 "ELF header: e_machine=%u is neither EM_386 (3) nor EM_X86_64 (62); "
				 ELF_WHERE_OR_REDO,
				 h->machine);
	u16 want = h->elf_class == 64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);

	if (h->phentsize != want)
		return diag_fail(d, -JB_EBADIMG,
				 "ELF header: e_phentsize=%u, but ELF%u program headers are %u bytes;"
				 " the header is damaged; " ELF_REDO,
				 h->phentsize, h->elf_class, want);
	if (h->phnum == PN_XNUM)
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "ELF header: e_phnum=0xffff (PN_XNUM, more than 65534 program"
				 " headers), which this jumpback does not read; write a core with"
				 " fewer segments");
	if (h->phnum == 0)
		return diag_fail(d, -JB_EBADIMG,
				 "ELF header: e_phnum=0, no program headers, so no memory to restore; "
				 ELF_REDO);
	return 0;
}

int elfcore_headers_len(const u8 *buf, size_t len, u64 image_size, u64 *need, struct jb_diag *d)
{
	struct ehdr_fields h;
	int rc = ehdr_read(buf, len, &h, d);

	if (rc)
		return rc;
	u64 table = (u64)h.phnum * h.phentsize;

	if (table > UINT64_MAX - h.phoff)
		return diag_fail(d, -JB_EBADIMG,
				 "ELF header: e_phoff=0x%llx + %u program headers wraps past 2^64;"
				 " the header is damaged; " ELF_REDO,
				 (unsigned long long)h.phoff, h.phnum);
	if (h.phoff > image_size || table > image_size - h.phoff)
		return diag_fail(d, -JB_ETRUNC,
				 "ELF header: %u program headers at 0x%llx end at 0x%llx, past the"
				 " image end (0x%llx bytes): the image is truncated, or e_phoff or"
				 " e_phnum is wrong; " ELF_REDO,
				 h.phnum, (unsigned long long)h.phoff,
				 (unsigned long long)(h.phoff + table), (unsigned long long)image_size);
	*need = h.phoff + table;
	return 0;
}

static void phdr_read(const u8 *p, u8 elf_class, u32 *type, struct elf_seg *s)
{
	if (elf_class == 64) {
		*type = le32(p);
		s->offset = le64(p + 8);
		s->paddr = le64(p + 24);
		s->filesz = le64(p + 32);
		s->memsz = le64(p + 40);
	} else {
		*type = le32(p);
		s->offset = le32(p + 4);
		s->paddr = le32(p + 12);
		s->filesz = le32(p + 16);
		s->memsz = le32(p + 20);
	}
}

/* Physical addresses beyond 52 bits cannot exist on x86; this also keeps sums from wrapping. */
#define ELFCORE_PHYS_LIMIT (1ull << 52)

int elfcore_parse(const u8 *buf, size_t len, u64 image_size, struct elf_core *core,
		  struct jb_diag *d)
{
	struct ehdr_fields h;
	u64 need;
	int rc = elfcore_headers_len(buf, len, image_size, &need, d);

	if (rc)
		return rc;
	ehdr_read(buf, len, &h, d);
	if (need > len)
		return diag_fail(d, -JB_EINVAL, "internal: program headers need 0x%llx bytes, have 0x%zx",
				 (unsigned long long)need, len);

	core->elf_class = h.elf_class;
	core->machine = h.machine;
	core->nseg = 0;
	core->nnotes = 0;
	for (u32 i = 0; i < h.phnum; i++) {
		struct elf_seg s = { .phdr_index = i };
		u32 type;

		phdr_read(buf + h.phoff + (u64)i * h.phentsize, h.elf_class, &type, &s);
		if (type == PT_NOTE)
			core->nnotes++;
		if (type != PT_LOAD || s.memsz == 0)
			continue;
		if (s.filesz > s.memsz)
			return diag_fail(d, -JB_EBADIMG,
					 "program header %u: p_filesz 0x%llx exceeds p_memsz 0x%llx; the"
					 " header is damaged; " ELF_REDO,
					 i, (unsigned long long)s.filesz, (unsigned long long)s.memsz);
		if (s.filesz > UINT64_MAX - s.offset)
			return diag_fail(d, -JB_EBADIMG,
					 "program header %u: p_offset 0x%llx + p_filesz 0x%llx wraps past"
					 " 2^64; the header is damaged; " ELF_REDO,
					 i, (unsigned long long)s.offset, (unsigned long long)s.filesz);
		if (s.offset > image_size || s.filesz > image_size - s.offset)
			return diag_fail(d, -JB_ETRUNC,
					 "program header %u: data at 0x%llx (+0x%llx) runs past the image"
					 " end (0x%llx bytes): the image is truncated; " ELF_REDO,
					 i, (unsigned long long)s.offset, (unsigned long long)s.filesz,
					 (unsigned long long)image_size);
		if (s.memsz > UINT64_MAX - s.paddr)
			return diag_fail(d, -JB_EBADIMG,
					 "program header %u: p_paddr 0x%llx + p_memsz 0x%llx wraps past"
					 " 2^64; the header is damaged; " ELF_REDO,
					 i, (unsigned long long)s.paddr, (unsigned long long)s.memsz);
		if (s.paddr >= ELFCORE_PHYS_LIMIT || s.memsz > ELFCORE_PHYS_LIMIT - s.paddr)
			return diag_fail(d, -JB_EBADIMG,
					 "program header %u: physical range 0x%llx (+0x%llx) ends past"
					 " 2^52, more than x86 can address; the header is damaged; " ELF_REDO,
					 i, (unsigned long long)s.paddr, (unsigned long long)s.memsz);
		if (core->nseg == ELFCORE_MAX_SEGS)
			return diag_fail(d, -JB_ETOOBIG,
					 "program header %u: more than %u PT_LOAD segments, the most this"
					 " jumpback restores; write a core with fewer, larger segments",
					 i, ELFCORE_MAX_SEGS);
		core->seg[core->nseg++] = s;
	}
	if (core->nseg == 0)
		return diag_fail(d, -JB_EBADIMG,
				 "the core's %u program headers hold no PT_LOAD segment with memory to"
				 " restore; " ELF_REDO,
				 h.phnum);
	return 0;
}
