/* Checking a jumpback image header (include/jbimage.h, docs/image-format.md). Pure. */
#include "jbimage.h"

#include "crc32.h"

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

int jbi_check(const struct jbi_header *h, u64 image_bytes, struct jb_diag *d)
{
	if (!jbi_has_magic(h->magic, sizeof(h->magic)))
		return diag_fail(d, -JB_EBADIMG, "image header: no JUMPBACK magic");
	if (h->version != JBI_VERSION)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: version %u, this jumpback reads version %u", h->version,
				 JBI_VERSION);
	if (h->header_size != JBI_HEADER_SIZE)
		return diag_fail(d, -JB_EBADIMG, "image header: header_size %u, expected %u",
				 h->header_size, JBI_HEADER_SIZE);
	u32 crc = jbi_header_crc(h);

	if (crc != h->header_crc)
		return diag_fail(d, -JB_EBADIMG,
				 "image header: CRC mismatch (stored 0x%08x, computed 0x%08x); the"
				 " header is damaged",
				 h->header_crc, crc);
	if (h->state != JBI_STATE_VALID && h->state != JBI_STATE_USED)
		return diag_fail(d, -JB_EBADIMG, "image header: unknown state 0x%08x", h->state);
	if (h->flags & ~(JBI_FLAG_MODE64 | JBI_FLAG_PAE))
		return diag_fail(d, -JB_EBADIMG, "image header: unknown flags 0x%x", h->flags);
	if (h->nmem > JBI_MAX_MEM || h->nhash > JBI_MAX_HASHES)
		return diag_fail(d, -JB_EBADIMG, "image header: %u memory map entries, %u hashes"
						 " (at most %u and %u)",
				 h->nmem, h->nhash, JBI_MAX_MEM, JBI_MAX_HASHES);
	if (h->core_offset != JBI_HEADER_SIZE)
		return diag_fail(d, -JB_EBADIMG, "image header: core_offset 0x%llx, expected 0x%x",
				 (unsigned long long)h->core_offset, JBI_HEADER_SIZE);
	if (h->core_offset > image_bytes || h->core_size > image_bytes - h->core_offset)
		return diag_fail(d, -JB_ETRUNC,
				 "image header: the core (0x%llx bytes at 0x%llx) runs past the image"
				 " area (0x%llx bytes); the image is truncated",
				 (unsigned long long)h->core_size,
				 (unsigned long long)h->core_offset, (unsigned long long)image_bytes);
	if (h->release[JBI_RELEASE_SIZE - 1] != '\0')
		return diag_fail(d, -JB_EBADIMG, "image header: release is not NUL-terminated");
	return 0;
}

int jbi_memmap_check(const struct jbi_header *h, const struct ram_map *now, struct jb_diag *d)
{
	static struct mem_entry entries[JBI_MAX_MEM];
	static struct ram_map then;

	if (h->nmem > JBI_MAX_MEM)
		return diag_fail(d, -JB_EBADIMG, "image header: %u memory map entries (at most %u)",
				 h->nmem, JBI_MAX_MEM);
	for (u32 i = 0; i < h->nmem; i++)
		entries[i] = (struct mem_entry){ h->mem[i].start, h->mem[i].len, h->mem[i].type };
	struct jb_diag why = { "" };

	if (ram_map_build(entries, h->nmem, &then, &why))
		return diag_fail(d, -JB_EBADIMG, "image header: the recorded memory map: %s",
				 why.text);
	for (u32 i = 0; i < then.n || i < now->n; i++) {
		if (i < then.n && i < now->n && then.r[i].start == now->r[i].start &&
		    then.r[i].end == now->r[i].end)
			continue;
		if (i >= now->n)
			return diag_fail(d, -JB_EMEMMAP,
					 "memory map differs from the one at hibernation: RAM"
					 " 0x%llx-0x%llx was there then and is missing now",
					 (unsigned long long)then.r[i].start,
					 (unsigned long long)then.r[i].end);
		if (i >= then.n)
			return diag_fail(d, -JB_EMEMMAP,
					 "memory map differs from the one at hibernation: RAM"
					 " 0x%llx-0x%llx is new",
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
