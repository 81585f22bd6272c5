/*
 * ELF core parsing: ELF64 or ELF32, EM_386 or EM_X86_64, ET_CORE. Every offset and size is
 * checked against the image size without overflow; PT_NOTE and other types are skipped.
 */
#include "elfcore.h"

#include "elf.h"
#include "le.h"

#define KDUMP_MAGIC "KDUMP   "
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
		return diag_fail(d, -JB_ETRUNC, "image ends inside the ELF header (%zu bytes)", len);
	if (buf[EI_DATA] != ELFDATA2LSB)
		return diag_fail(d, -JB_EBADIMG, "ELF header: not little-endian (EI_DATA=%u)",
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
		return diag_fail(d, -JB_EBADIMG, "ELF header: unknown class EI_CLASS=%u",
				 buf[EI_CLASS]);
	}
	if (h->type != ET_CORE)
		return diag_fail(d, -JB_EBADIMG, "ELF header: e_type=%u is not ET_CORE (4)", h->type);
	if (h->machine != EM_386 && h->machine != EM_X86_64)
		return diag_fail(d, -JB_EBADIMG, "ELF header: e_machine=%u is neither EM_386 nor EM_X86_64",
				 h->machine);
	u16 want = h->elf_class == 64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);

	if (h->phentsize != want)
		return diag_fail(d, -JB_EBADIMG, "ELF header: e_phentsize=%u, expected %u", h->phentsize,
				 want);
	if (h->phnum == PN_XNUM)
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "ELF header: more than 65534 program headers (PN_XNUM)");
	if (h->phnum == 0)
		return diag_fail(d, -JB_EBADIMG, "ELF header: no program headers (e_phnum=0)");
	return 0;
}

int elfcore_headers_len(const u8 *buf, size_t len, u64 image_size, u64 *need, struct jb_diag *d)
{
	struct ehdr_fields h;
	int rc = ehdr_read(buf, len, &h, d);

	if (rc)
		return rc;
	u64 table = (u64)h.phnum * h.phentsize;

	if (h.phoff > image_size || table > image_size - h.phoff)
		return diag_fail(d, -JB_ETRUNC,
				 "ELF header: program headers at 0x%llx (+0x%llx) lie past the image end"
				 " (0x%llx bytes)",
				 (unsigned long long)h.phoff, (unsigned long long)table,
				 (unsigned long long)image_size);
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
		return diag_fail(d, -JB_EINVAL, "program headers need 0x%llx bytes, have 0x%zx",
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
					 "program header %u: p_filesz 0x%llx exceeds p_memsz 0x%llx", i,
					 (unsigned long long)s.filesz, (unsigned long long)s.memsz);
		if (s.offset > image_size || s.filesz > image_size - s.offset)
			return diag_fail(d, -JB_ETRUNC,
					 "program header %u: data at 0x%llx (+0x%llx) lies past the image"
					 " end (0x%llx bytes); the image is truncated",
					 i, (unsigned long long)s.offset, (unsigned long long)s.filesz,
					 (unsigned long long)image_size);
		if (s.paddr >= ELFCORE_PHYS_LIMIT || s.memsz > ELFCORE_PHYS_LIMIT - s.paddr)
			return diag_fail(d, -JB_EBADIMG,
					 "program header %u: physical range 0x%llx (+0x%llx) is beyond"
					 " what x86 can address",
					 i, (unsigned long long)s.paddr, (unsigned long long)s.memsz);
		if (core->nseg == ELFCORE_MAX_SEGS)
			return diag_fail(d, -JB_ETOOBIG, "more than %u PT_LOAD segments",
					 ELFCORE_MAX_SEGS);
		core->seg[core->nseg++] = s;
	}
	if (core->nseg == 0)
		return diag_fail(d, -JB_EBADIMG, "the image has no PT_LOAD segment to restore");
	return 0;
}
