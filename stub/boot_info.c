/* Multiboot 1 information -> struct boot_info (Multiboot Specification 0.6.96, 3.3). */
#include "boot_info.h"

#include "multiboot.h"

static void copy_string(char *dst, size_t size, u32 src_addr)
{
	const char *src = (const char *)(uintptr_t)src_addr;
	size_t i = 0;

	for (; i + 1 < size && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

static int boot_info_mmap(const struct mb1_info *mbi, struct boot_info *bi, struct jb_diag *d)
{
	u32 pos = 0;

	while (pos + sizeof(u32) <= mbi->mmap_length) {
		const struct mb1_mmap_entry *e =
			(const struct mb1_mmap_entry *)(uintptr_t)(mbi->mmap_addr + pos);

		if (e->size < 20)
			return diag_fail(d, -JB_EMEMMAP,
					 "Multiboot memory map entry at 0x%x has size %u (< 20)",
					 mbi->mmap_addr + pos, e->size);
		if (bi->nmem == BOOT_MMAP_MAX)
			return diag_fail(d, -JB_ETOOBIG, "Multiboot memory map has more than %u entries",
					 BOOT_MMAP_MAX);
		bi->mem[bi->nmem++] = (struct mem_entry){ e->addr, e->len, e->type };
		pos += e->size + 4;
	}
	bi->mem_from_mmap = true;
	return 0;
}

int boot_info_from_mb1(u32 magic, u32 mbi_addr, struct boot_info *bi, struct jb_diag *d)
{
	if (magic != MB1_BOOTLOADER_MAGIC)
		return diag_fail(d, -JB_EINVAL,
				 "not started by a Multiboot loader (EAX=0x%08x, expected 0x%08x)", magic,
				 MB1_BOOTLOADER_MAGIC);
	const struct mb1_info *mbi = (const struct mb1_info *)(uintptr_t)mbi_addr;

	bi->cmdline[0] = '\0';
	bi->loader[0] = '\0';
	bi->nmem = 0;
	bi->mem_from_mmap = false;
	if (mbi->flags & MB1_INFO_CMDLINE)
		copy_string(bi->cmdline, sizeof(bi->cmdline), mbi->cmdline);
	if (mbi->flags & MB1_INFO_LOADER_NAME)
		copy_string(bi->loader, sizeof(bi->loader), mbi->boot_loader_name);
	if (mbi->flags & MB1_INFO_MMAP)
		return boot_info_mmap(mbi, bi, d);
	if (!(mbi->flags & MB1_INFO_MEM))
		return diag_fail(d, -JB_EMEMMAP,
				 "the loader gave neither a memory map nor mem_lower/mem_upper");
	bi->mem[0] = (struct mem_entry){ 0, (u64)mbi->mem_lower << 10, MEM_TYPE_USABLE };
	bi->mem[1] = (struct mem_entry){ 1u << 20, (u64)mbi->mem_upper << 10, MEM_TYPE_USABLE };
	bi->nmem = 2;
	return 0;
}
