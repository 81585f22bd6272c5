/*
 * Hash-rate kernel (bench/hash-choice.md): booted by QEMU -kernel, it fills 64 MiB of memory
 * with a pattern and times each candidate hash over it with the TSC (calibrated against the
 * PIT by the stub's own stub/timer.c), best of HB_REPS in turn-taking order, then reports on
 * COM1 and exits QEMU through isa-debug-exit. jbhash64 and XXH64 are the stub's lib/ files
 * built with the stub's flags; the xxhash.h ones are libxxhash's header built the same way.
 */
#include <stdarg.h>

#include "fmt.h"
#include "hashbench.h"
#include "jbhash.h"
#include "multiboot.h"
#include "payload.h" /* serial_init, serial_putc: test/payload/serial.c */
#include "portio.h"
#include "timer.h"
#include "physmem.h" /* xxh64_stripes_long: boot/hash64.asm */
#include "xxh64.h"

#define HB_MEM_START (16u << 20)
#define HB_MEM_MIB 64u
#define HB_MEM_BYTES (HB_MEM_MIB << 20)
#define HB_WARMUP_BYTES (1u << 20)
#define HB_REPS 3
#define DEBUG_EXIT_PORT 0xF4
#define DEBUG_EXIT_PASS 0x10 /* QEMU exit status 33 */
#define DEBUG_EXIT_FAIL 0x11 /* QEMU exit status 35 */
#define PTE_PW 0x3ull         /* present, writable */
#define PDE_LARGE 0x80ull     /* a 2 MiB page */

/*
 * The stub's 64-bit stripe loop (boot/hash64.asm) pages through tables like stub/physmem.c's:
 * here the low 4 GiB identity-mapped with 2 MiB pages. entry.asm's GDT has the stub's layout.
 */
static u64 lm_pml4[512] __attribute__((aligned(4096)));
static u64 lm_pdpt[512] __attribute__((aligned(4096)));
static u64 lm_pd[4][512] __attribute__((aligned(4096)));

static void lm_tables_init(void)
{
	lm_pml4[0] = (u64)(uintptr_t)lm_pdpt | PTE_PW;
	for (u32 i = 0; i < 4; i++) {
		lm_pdpt[i] = (u64)(uintptr_t)lm_pd[i] | PTE_PW;
		for (u32 j = 0; j < 512; j++)
			lm_pd[i][j] = ((u64)i << 30 | (u64)j << 21) | PTE_PW | PDE_LARGE;
	}
}

static void stripes_long(u64 acc[4], const u8 *p, size_t n)
{
	xxh64_stripes_long(acc, p, n, (u32)(uintptr_t)lm_pml4);
}

static u64 run_xxh64_long(const void *p, size_t n)
{
	struct xxh64 s;

	xxh64_init(&s, 0);
	xxh64_update_by(&s, p, n, stripes_long);
	return xxh64_final(&s);
}

void hb_main(u32 magic, u32 mbi_addr) __attribute__((noreturn));

static struct {
	const char *name;
	u64 (*fn)(const void *p, size_t n);
	u64 best_us;
	u64 value;
} hashes[] = {
	{ "jbhash64", run_jbhash, 0, 0 },
	{ "xxh64", run_xxh64, 0, 0 },
	{ "xxh64-long", run_xxh64_long, 0, 0 },
	{ "xxhash.h-XXH64", hb_ref_xxh64, 0, 0 },
	{ "xxhash.h-XXH3_64bits", hb_ref_xxh3, 0, 0 },
};

static void serial_sink(void *ctx, char c)
{
	(void)ctx;
	serial_putc(c);
}

static void hb_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void hb_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_v(serial_sink, NULL, fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn)) hb_exit(u8 code)
{
	outb(DEBUG_EXIT_PORT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* MiB/s times 100: the formatter has no floating point, so two decimals come from integers. */
static u64 rate_x100(u64 us)
{
	return (u64)HB_MEM_MIB * 100000000u / (us ? us : 1);
}

void hb_main(u32 magic, u32 mbi_addr)
{
	const struct mb1_info *mbi = (const struct mb1_info *)(uintptr_t)mbi_addr;
	u32 *mem = (u32 *)(uintptr_t)HB_MEM_START;
	u32 x = 0x6a756d70u;
	bool ok = true;

	serial_init();
	timer_init();
	lm_tables_init();
	if (magic != MB1_BOOTLOADER_MAGIC || !(mbi->flags & MB1_INFO_MEM) ||
	    ((u64)mbi->mem_upper << 10) + (1u << 20) < (u64)HB_MEM_START + HB_MEM_BYTES) {
		hb_printf("hashbench: error: need a Multiboot 1 boot with %u MiB of RAM above %u MiB\n",
			  HB_MEM_MIB, HB_MEM_START >> 20);
		hb_exit(DEBUG_EXIT_FAIL);
	}
	for (u32 i = 0; i < HB_MEM_BYTES / 4; i++) {
		x ^= x << 13; /* xorshift32: any non-constant bytes will do */
		x ^= x >> 17;
		x ^= x << 5;
		mem[i] = x;
	}
	/* Translate every hash's code once before timing it. */
	for (u32 k = 0; k < JB_ARRAY_LEN(hashes); k++)
		hashes[k].fn(mem, HB_WARMUP_BYTES);
	hb_printf("hashbench: %u MiB at 0x%x, best of %u runs each\n", HB_MEM_MIB, HB_MEM_START,
		  HB_REPS);
	for (u32 rep = 0; rep < HB_REPS; rep++) {
		for (u32 j = 0; j < JB_ARRAY_LEN(hashes); j++) {
			u32 k = (j + rep) % JB_ARRAY_LEN(hashes); /* each takes a turn first */
			u64 t0 = timer_now_us();
			u64 v = hashes[k].fn(mem, HB_MEM_BYTES);
			u64 us = timer_now_us() - t0;

			if (rep == 0)
				hashes[k].value = v;
			else if (v != hashes[k].value)
				ok = false;
			if (rep == 0 || us < hashes[k].best_us)
				hashes[k].best_us = us;
		}
	}
	for (u32 k = 0; k < JB_ARRAY_LEN(hashes); k++) {
		u64 r = rate_x100(hashes[k].best_us);

		hb_printf("hashbench: rate %s %llu.%02llu MiB/s (%llu us) hash %016llx\n",
			  hashes[k].name, r / 100, r % 100, hashes[k].best_us, hashes[k].value);
	}
	/* The stub's XXH64, both loops, must agree with libxxhash's on the same bytes. */
	if (hashes[1].value != hashes[3].value || hashes[2].value != hashes[3].value)
		ok = false;
	hb_printf("hashbench: xxh64 and xxh64-long %s xxhash.h XXH64\n",
		  ok ? "agree with" : "DIFFER from");
	hb_printf("hashbench: %s\n", ok ? "done" : "FAIL");
	hb_exit(ok ? DEBUG_EXIT_PASS : DEBUG_EXIT_FAIL);
}
