/*
 * Multiboot 1 (Specification 0.6.96, §3.3) or Multiboot2 (Specification 1.0, §3.6)
 * information -> struct boot_info: command line, loader name, memory map.
 */
#include "boot_info.h"

#include "multiboot.h"

static void copy_string(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; i + 1 < size && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

static int mem_add(struct boot_info *bi, u64 addr, u64 len, u32 type, struct jb_diag *d)
{
	if (bi->nmem == BOOT_MMAP_MAX)
		return diag_fail(d, -JB_ETOOBIG, "the loader's memory map has more than %u entries",
				 BOOT_MMAP_MAX);
	bi->mem[bi->nmem++] = (struct mem_entry){ addr, len, type };
	return 0;
}

/* Without a memory map: conventional memory from 0, extended memory from 1 MiB. */
static void mem_from_lower_upper(struct boot_info *bi, u32 lower_kib, u32 upper_kib)
{
	bi->mem[0] = (struct mem_entry){ 0, (u64)lower_kib << 10, MEM_TYPE_USABLE };
	bi->mem[1] = (struct mem_entry){ 1u << 20, (u64)upper_kib << 10, MEM_TYPE_USABLE };
	bi->nmem = 2;
}

static int boot_info_mb1(const struct mb1_info *mbi, struct boot_info *bi, struct jb_diag *d)
{
	if (mbi->flags & MB1_INFO_CMDLINE)
		copy_string(bi->cmdline, sizeof(bi->cmdline), (const char *)(uintptr_t)mbi->cmdline);
	if (mbi->flags & MB1_INFO_LOADER_NAME)
		copy_string(bi->loader, sizeof(bi->loader),
			    (const char *)(uintptr_t)mbi->boot_loader_name);
	if (!(mbi->flags & MB1_INFO_MMAP)) {
		if (!(mbi->flags & MB1_INFO_MEM))
			return diag_fail(d, -JB_EMEMMAP,
					 "the loader gave neither a memory map nor mem_lower/mem_upper");
		mem_from_lower_upper(bi, mbi->mem_lower, mbi->mem_upper);
		return 0;
	}
	for (u32 pos = 0; pos + sizeof(u32) <= mbi->mmap_length;) {
		const struct mb1_mmap_entry *e =
			(const struct mb1_mmap_entry *)(uintptr_t)(mbi->mmap_addr + pos);
		int rc;

		if (e->size < 20)
			return diag_fail(d, -JB_EMEMMAP,
					 "Multiboot memory map entry at 0x%x has size %u (< 20)",
					 mbi->mmap_addr + pos, e->size);
		rc = mem_add(bi, e->addr, e->len, e->type, d);
		if (rc)
			return rc;
		pos += e->size + 4;
	}
	bi->mem_from_mmap = true;
	return 0;
}

static int boot_info_mb2_mmap(const struct mb2_tag_mmap *t, struct boot_info *bi,
			      struct jb_diag *d)
{
	if (t->entry_size < sizeof(struct mb2_mmap_entry))
		return diag_fail(d, -JB_EMEMMAP, "Multiboot2 memory map entries of %u bytes (< 24)",
				 t->entry_size);
	for (u32 pos = sizeof(*t); pos + t->entry_size <= t->tag.size; pos += t->entry_size) {
		const struct mb2_mmap_entry *e =
			(const struct mb2_mmap_entry *)((const u8 *)t + pos);
		int rc = mem_add(bi, e->addr, e->len, e->type, d);

		if (rc)
			return rc;
	}
	bi->mem_from_mmap = true;
	return 0;
}

static int boot_info_mb2(u32 addr, struct boot_info *bi, struct jb_diag *d)
{
	u32 total = *(const u32 *)(uintptr_t)addr;
	const struct mb2_tag_meminfo *meminfo = NULL;

	for (u32 pos = 8; pos + sizeof(struct mb2_tag) <= total;) {
		const struct mb2_tag *t = (const struct mb2_tag *)(uintptr_t)(addr + pos);
		int rc = 0;

		if (t->type == MB2_TAG_END)
			break;
		if (t->size < sizeof(*t) || t->size > total - pos)
			return diag_fail(d, -JB_EINVAL, "Multiboot2 tag %u at 0x%x has a bad size %u",
					 t->type, addr + pos, t->size);
		if (t->type == MB2_TAG_CMDLINE)
			copy_string(bi->cmdline, sizeof(bi->cmdline), (const char *)(t + 1));
		else if (t->type == MB2_TAG_LOADER_NAME)
			copy_string(bi->loader, sizeof(bi->loader), (const char *)(t + 1));
		else if (t->type == MB2_TAG_BASIC_MEMINFO)
			meminfo = (const struct mb2_tag_meminfo *)t;
		else if (t->type == MB2_TAG_MMAP)
			rc = boot_info_mb2_mmap((const struct mb2_tag_mmap *)t, bi, d);
		else if (t->type == MB2_TAG_EFI32 || t->type == MB2_TAG_EFI64)
			bi->efi = true;
		if (rc)
			return rc;
		pos += (t->size + 7) & ~7u;
	}
	if (bi->mem_from_mmap)
		return 0;
	if (!meminfo)
		return diag_fail(d, -JB_EMEMMAP,
				 "the loader gave neither a memory map nor basic memory information");
	mem_from_lower_upper(bi, meminfo->mem_lower, meminfo->mem_upper);
	return 0;
}

int boot_info_read(u32 magic, u32 mbi_addr, struct boot_info *bi, struct jb_diag *d)
{
	bi->cmdline[0] = '\0';
	bi->loader[0] = '\0';
	bi->nmem = 0;
	bi->mem_from_mmap = false;
	bi->efi = false;
	if (magic == MB1_BOOTLOADER_MAGIC)
		return boot_info_mb1((const struct mb1_info *)(uintptr_t)mbi_addr, bi, d);
	if (magic == MB2_BOOTLOADER_MAGIC)
		return boot_info_mb2(mbi_addr, bi, d);
	return diag_fail(d, -JB_EINVAL,
			 "not started by a Multiboot loader (EAX=0x%08x, expected 0x%08x or 0x%08x);"
			 " load jumpback with GRUB's multiboot or multiboot2, or QEMU -kernel",
			 magic, MB1_BOOTLOADER_MAGIC, MB2_BOOTLOADER_MAGIC);
}
