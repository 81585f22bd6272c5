/* Installs the real-mode trampoline (boot/realmode.asm) in low memory. */
#include "bios.h"

#include "cpu.h"

extern const u8 rm_blob_start[], rm_blob_end[];

void bios_init(void)
{
	copy_bytes((void *)(uintptr_t)BIOS_TRAMPOLINE, rm_blob_start,
		   (u32)(rm_blob_end - rm_blob_start));
}
