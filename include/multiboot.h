/* Multiboot 1 information structure (Multiboot Specification 0.6.96, section 3.3). */
#ifndef JB_MULTIBOOT_H
#define JB_MULTIBOOT_H

#include "types.h"

#define MB1_BOOTLOADER_MAGIC 0x2BADB002

#define MB1_INFO_MEM (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MMAP (1u << 6)
#define MB1_INFO_LOADER_NAME (1u << 9)

struct mb1_info {
	u32 flags;
	u32 mem_lower; /* KiB from 0 */
	u32 mem_upper; /* KiB from 1 MiB */
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr;
	u32 config_table;
	u32 boot_loader_name;
} __attribute__((packed));

struct mb1_mmap_entry {
	u32 size; /* of the rest of the entry; the next one starts size + 4 bytes on */
	u64 addr;
	u64 len;
	u32 type;
} __attribute__((packed));

_Static_assert(__builtin_offsetof(struct mb1_info, mmap_addr) == 48, "Multiboot 1 info layout");

/* Multiboot2 boot information (Multiboot2 Specification 1.0, §3.6): a list of 8-byte
   aligned tags after an 8-byte header (total_size, reserved). */
#define MB2_BOOTLOADER_MAGIC 0x36D76289
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER_NAME 2
#define MB2_TAG_BASIC_MEMINFO 4
#define MB2_TAG_MMAP 6
#define MB2_TAG_EFI32 11 /* EFI system table pointers: the machine booted through UEFI */
#define MB2_TAG_EFI64 12

struct mb2_tag {
	u32 type;
	u32 size; /* of this tag, header included; the next one starts 8-byte aligned */
} __attribute__((packed));

struct mb2_tag_meminfo {
	struct mb2_tag tag;
	u32 mem_lower, mem_upper; /* KiB */
} __attribute__((packed));

struct mb2_tag_mmap {
	struct mb2_tag tag;
	u32 entry_size, entry_version;
	/* entries follow: u64 base, u64 length, u32 type, u32 reserved */
} __attribute__((packed));

struct mb2_mmap_entry {
	u64 addr;
	u64 len;
	u32 type;
	u32 reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "Multiboot 2 mmap entry");
_Static_assert(sizeof(struct mb1_mmap_entry) == 24, "Multiboot 1 mmap entry");

#endif
