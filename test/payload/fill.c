/*
 * Fill mode: write the test pattern over RAM above the payload, record it in the manifest
 * and announce the range for QEMU's dump-guest-memory. Then wait to be dumped (fill_end.c).
 */
#include "multiboot.h"
#include "pattern.h"
#include "payload.h"

#define PAGE_SIZE 4096u
#define ADDR_TOP_32 0xFFFFF000ull /* no paging: stay below 4 GiB, page-aligned */
#define LOW_FILL_START 0x100000u

static u32 rdtsc_low(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo;
}

/* uintptr_t: 32-bit arithmetic in the 32-bit payload, as this runs over hundreds of MiB
   under QEMU TCG. */
void jbt_fill_pattern(uintptr_t begin, uintptr_t end, u32 seed)
{
	u32 *p = (u32 *)begin;

	for (uintptr_t a = begin; a != end; a += 4)
		*p++ = pattern_word(seed, a);
}

void jbt_fill_main(u32 magic, u32 mbi_addr)
{
	struct fill_args a = { 0 };

	serial_init();
	if (magic != MB1_BOOTLOADER_MAGIC)
		jbt_fail("fill: EAX=0x%08x is not the Multiboot 1 magic; boot with a Multiboot"
			 " loader", magic);
	boot_args_read(mbi_addr, &a);
	if (!a.seed_given)
		a.seed = rdtsc_low();

	u32 begin = ((u32)(uintptr_t)jbt_payload_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	u64 end = a.ram_end < ADDR_TOP_32 ? a.ram_end : ADDR_TOP_32;

	if (a.fill_mb_given && (u64)a.fill_mb << 20 < end - begin)
		end = begin + ((u64)a.fill_mb << 20);
	end &= ~(u64)(PAGE_SIZE - 1); /* whole pages keep the dump range simple */
	if (end <= begin)
		jbt_fail("fill: nothing to fill from 0x%08x (usable RAM ends at 0x%llx,"
			 " fill_mb=%u)", begin, (unsigned long long)a.ram_end, a.fill_mb);

	jbt_fill_pattern(begin, (uintptr_t)end, a.seed);

	struct jbt_manifest *m = &jbt_manifest;
	u32 dump_begin = (u32)(uintptr_t)jbt_payload_start;

	m->region[0] = (struct jbt_region){
		.addr = begin, .len = end - begin, .kind = JBT_REGION_PATTERN, .seed = a.seed,
	};
	m->nregions = 1;
	if (a.fill_low) {
		/* From 1 MiB: the dump then covers where jumpback is loaded, forcing it to stage. */
		if (a.ram_start > LOW_FILL_START)
			jbt_fail("fill: low: usable RAM starts at 0x%llx, above 1 MiB",
				 (unsigned long long)a.ram_start);
		jbt_fill_pattern(LOW_FILL_START, dump_begin, ~a.seed);
		m->region[m->nregions++] = (struct jbt_region){
			.addr = LOW_FILL_START, .len = dump_begin - LOW_FILL_START,
			.kind = JBT_REGION_PATTERN, .seed = ~a.seed,
		};
		dump_begin = LOW_FILL_START;
	}
	m->pae = 0;
	m->self_hash = jbt_self_hash();
	m->magic = JBT_MANIFEST_MAGIC;
	jbt_printf("jbtest: ready entry=0x%08x begin=0x%x length=0x%x\n",
		   (u32)(uintptr_t)resume_entry, dump_begin, (u32)end - dump_begin);
	jbt_fill_end(&a);
}
