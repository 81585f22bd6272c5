/* Checking a jumpback image header (include/jbimage.h, docs/image-format.md). Pure. */
#include "jbimage.h"

#include "crc32.h"
#include "xxh64.h"

/* What to do about a header that lies (docs/errors.md). */
#define JBI_REDO "write the image again with this jumpback's jbwrite"
#define JBI_DAMAGED "the header is damaged; " JBI_REDO

bool jbi_has_magic(const u8 *buf, size_t len)
{
	if (len < sizeof(JBI_MAGIC) - 1)
		return false;
	for (size_t i = 0; i < sizeof(JBI_MAGIC) - 1; i++)
		if (buf[i] != (u8)JBI_MAGIC[i])
			return false;
	return true;
}

u32 jbi_header_crc(const struct jbi_header *h)
{
	static const u8 zero[4];
	const u8 *p = (const u8 *)h;
	const size_t crc_at = __builtin_offsetof(struct jbi_header, header_crc);
	u32 crc = crc32_update(0, p, JBI_STATE_OFFSET);

	crc = crc32_update(crc, zero, 4); /* state */
	crc = crc32_update(crc, p + JBI_STATE_OFFSET + 4, crc_at - JBI_STATE_OFFSET - 4);
	crc = crc32_update(crc, zero, 4); /* header_crc */
	return crc32_update(crc, p + crc_at + 4, JBI_HEADER_SIZE - crc_at - 4);
}

u64 jbi_seg_chunks(u64 filesz)
{
	return filesz / JBI_CHUNK_SIZE + (filesz % JBI_CHUNK_SIZE != 0);
}

u64 jbi_chunks(const struct elf_core *core)
{
	u64 n = 0;

	for (u32 i = 0; i < core->nseg; i++)
		n += jbi_seg_chunks(core->seg[i].filesz);
	return n;
}

u64 jbi_table_bytes(u32 nchunk)
{
	u64 bytes = (u64)nchunk * 8;

	return (bytes + JBI_TABLE_ALIGN - 1) / JBI_TABLE_ALIGN * JBI_TABLE_ALIGN;
}

u64 jbi_core_offset(u32 nchunk)
{
	return JBI_HASH_OFFSET + jbi_table_bytes(nchunk);
}

/* mem[]: entries sorted by start, none empty, none wrapping, none overlapping the next. */
static int jbi_check_mem(const struct jbi_header *h, struct jb_diag *d)
{
	for (u32 i = 0; i < h->nmem; i++) {
		const struct jbi_mem *m = &h->mem[i];

		if (m->len == 0 || m->len - 1 > UINT64_MAX - m->start)
			return diag_fail(d, -JB_EBADIMG,
					 "image header: memory map entry %u (0x%llx +0x%llx) is empty or"
					 " wraps past 2^64; " JBI_DAMAGED,
					 i, (unsigned long long)m->start, (unsigned long long)m->len);
		if (i == 0)
			continue;
		const struct jbi_mem *p = &h->mem[i - 1];

		if (m->start < p->start)
			return diag_fail(d, -JB_EBADIMG,
					 "image header: memory map entry %u starts at 0x%llx, below entry"
					 " %u at 0x%llx (entries must be sorted); " JBI_DAMAGED,
					 i, (unsigned long long)m->start, i - 1,
					 (unsigned long long)p->start);
		if (m->start - p->start < p->len)
			return diag_fail(d, -JB_EBADIMG,
					 "image header: memory map entry %u (0x%llx +0x%llx) overlaps entry"
					 " %u (0x%llx +0x%llx); " JBI_DAMAGED,
					 i, (unsigned long long)m->start, (unsigned long long)m->len, i - 1,
					 (unsigned long long)p->start, (unsigned long long)p->len);
	}
	return 0;
}

int jbi_check(const struct jbi_header *h, u64 image_bytes, struct jb_diag *d)
{
	if (!jbi_has_magic(h->magic, sizeof(h->magic)))
		return diag_fail(d, -JB_EBADIMG,
				 "image header: no JUMPBACK magic; check resume= and resume_offset=");
	if (h->version == JBI_VERSION_JBHASH)
		return diag_fail(d, -JB_EBADIMG,
				 "image format version 1 (jbhash64) is no longer read; write the image"
				 " again with this jumpback's jbwrite");
	if (h->version != JBI_VERSION)
		return diag_fail(d, -JB_EBADIMG,
				 "image format version %u, this jumpback reads version %u; write the"
				 " image again with this jumpback's jbwrite",
				 h->version, JBI_VERSION);
	if (h->header_size != JBI_HEADER_SIZE)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: header_size %u, expected %u; " JBI_DAMAGED,
				 h->header_size, JBI_HEADER_SIZE);
	u32 crc = jbi_header_crc(h);

	if (crc != h->header_crc)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: CRC mismatch (stored 0x%08x, computed 0x%08x); "
				 JBI_DAMAGED,
				 h->header_crc, crc);
	if (h->state != JBI_STATE_VALID && h->state != JBI_STATE_USED)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: state 0x%08x is neither VALD nor USED; " JBI_DAMAGED,
				 h->state);
	if (h->flags & ~(JBI_FLAG_MODE64 | JBI_FLAG_PAE))
		return diag_fail(d, -JB_EBADIMG,
				 "image header: flags 0x%x has bits this jumpback does not know (0x%x);"
				 " " JBI_REDO,
				 h->flags, h->flags & ~(JBI_FLAG_MODE64 | JBI_FLAG_PAE));
	if (h->nmem > JBI_MAX_MEM)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: nmem=%u memory map entries, at most %u fit; " JBI_DAMAGED,
				 h->nmem, JBI_MAX_MEM);
	if (h->nseg > JBI_MAX_SEGS)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: nseg=%u segments, at most %u; " JBI_DAMAGED, h->nseg,
				 JBI_MAX_SEGS);
	if (h->chunk_size != JBI_CHUNK_SIZE)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: chunk_size 0x%x, this jumpback reads only 0x%x (16 MiB);"
				 " " JBI_REDO,
				 h->chunk_size, JBI_CHUNK_SIZE);
	if (h->hash_offset != JBI_HASH_OFFSET)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: hash_offset 0x%llx, expected 0x%x; " JBI_DAMAGED,
				 (unsigned long long)h->hash_offset, JBI_HASH_OFFSET);
	if (h->core_offset != jbi_core_offset(h->nchunk))
		return diag_fail(d, -JB_EBADIMG,
				 "image header: core_offset 0x%llx, expected 0x%llx (after the header"
				 " and a table of %u chunk checksums); " JBI_DAMAGED,
				 (unsigned long long)h->core_offset,
				 (unsigned long long)jbi_core_offset(h->nchunk), h->nchunk);
	if (h->core_offset > image_bytes)
		return diag_fail(d, -JB_ETRUNC,
				 "image header: the hash table (%u chunks) ends at 0x%llx, past the"
				 " image area (0x%llx bytes): the image is truncated; write it again to"
				 " a partition large enough",
				 h->nchunk, (unsigned long long)h->core_offset,
				 (unsigned long long)image_bytes);
	if (h->core_size > image_bytes - h->core_offset)
		return diag_fail(d, -JB_ETRUNC,
				 "image header: the core (0x%llx bytes at 0x%llx) runs past the image"
				 " area (0x%llx bytes): the image is truncated or core_size is wrong;"
				 " write it again to a partition large enough",
				 (unsigned long long)h->core_size,
				 (unsigned long long)h->core_offset, (unsigned long long)image_bytes);
	if (h->release[JBI_RELEASE_SIZE - 1] != '\0')
		return diag_fail(d, -JB_EBADIMG,
				 "image header: release (kernel A's uname -r) has no NUL in its %u"
				 " bytes; " JBI_DAMAGED,
				 JBI_RELEASE_SIZE);
	return jbi_check_mem(h, d);
}

int jbi_check_core(const struct jbi_header *h, const struct elf_core *core, struct jb_diag *d)
{
	u64 want = jbi_chunks(core);

	if (h->nseg != core->nseg)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: nseg=%u, but the core behind it has %u PT_LOAD"
				 " segments; the header does not match its core; " JBI_REDO,
				 h->nseg, core->nseg);
	if (h->nchunk != want)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: nchunk=%u chunk checksums, but the core's segments"
				 " make %llu chunks of 16 MiB; the header does not match its core; "
				 JBI_REDO,
				 h->nchunk, (unsigned long long)want);
	return 0;
}

int jbi_check_table(const struct jbi_header *h, const u64 *table, struct jb_diag *d)
{
	u64 got = xxh64(table, (size_t)h->nchunk * 8, 0);

	if (got != h->table_xxh64)
		return diag_fail(d, -JB_EBADIMG,
				 "image hash table: XXH64 mismatch (header 0x%016llx, table 0x%016llx);"
				 " the table of %u chunk checksums is damaged; " JBI_REDO,
				 (unsigned long long)h->table_xxh64, (unsigned long long)got,
				 h->nchunk);
	return 0;
}

int jbi_memmap_check(const struct jbi_header *h, const struct ram_map *now, struct jb_diag *d)
{
	static struct mem_entry entries[JBI_MAX_MEM];
	static struct ram_map then;

	if (h->nmem > JBI_MAX_MEM)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: nmem=%u memory map entries, at most %u fit; " JBI_DAMAGED,
				 h->nmem, JBI_MAX_MEM);
	for (u32 i = 0; i < h->nmem; i++)
		entries[i] = (struct mem_entry){ h->mem[i].start, h->mem[i].len, h->mem[i].type };
	struct jb_diag why = { "" };

	if (ram_map_build(entries, h->nmem, &then, &why))
		return diag_fail(d, -JB_EBADIMG, "image header: the recorded memory map: %s; "
				 JBI_REDO, why.text);
	for (u32 i = 0; i < then.n || i < now->n; i++) {
		if (i < then.n && i < now->n && then.r[i].start == now->r[i].start &&
		    then.r[i].end == now->r[i].end)
			continue;
		if (i >= now->n)
			return diag_fail(d, -JB_EMEMMAP,
					 "memory map differs from the one at hibernation: RAM"
					 " 0x%llx-0x%llx was there then and is missing now; resume on the"
					 " same machine with the same RAM",
					 (unsigned long long)then.r[i].start,
					 (unsigned long long)then.r[i].end);
		if (i >= then.n)
			return diag_fail(d, -JB_EMEMMAP,
					 "memory map differs from the one at hibernation: RAM"
					 " 0x%llx-0x%llx is new; resume on the same machine with the same RAM",
					 (unsigned long long)now->r[i].start,
					 (unsigned long long)now->r[i].end);
		return diag_fail(d, -JB_EMEMMAP,
				 "memory map differs from the one at hibernation: RAM range %u is"
				 " 0x%llx-0x%llx now, 0x%llx-0x%llx then; resume on the same machine"
				 " with the same RAM",
				 i, (unsigned long long)now->r[i].start, (unsigned long long)now->r[i].end,
				 (unsigned long long)then.r[i].start, (unsigned long long)then.r[i].end);
	}
	return 0;
}
