/* What the stub keeps from the loader: copied out at once, so nothing the loader left is live. */
#ifndef JB_BOOT_INFO_H
#define JB_BOOT_INFO_H

#include "diag.h"
#include "plan.h"
#include "types.h"

#define BOOT_CMDLINE_MAX 1024
#define BOOT_MMAP_MAX 128

struct boot_info {
	char cmdline[BOOT_CMDLINE_MAX];
	char loader[64];
	u32 nmem;
	struct mem_entry mem[BOOT_MMAP_MAX];
	bool mem_from_mmap; /* false: built from mem_lower/mem_upper */
	bool efi;           /* booted through UEFI: there is no BIOS to call */
};

/*
 * Copies command line, loader name and memory map out of the Multiboot 1 or Multiboot 2
 * information, as EAX (magic) says.
 */
int boot_info_read(u32 magic, u32 mbi_addr, struct boot_info *bi, struct jb_diag *d);

#endif
