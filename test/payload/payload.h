/*
 * Kernel-A test payload: what its files share. Fill mode (_start, booted by a Multiboot
 * loader) writes the pattern; check mode (resume_entry, entered by jumpback) verifies it.
 */
#ifndef JBT_PAYLOAD_H
#define JBT_PAYLOAD_H

#include "manifest.h"
#include "types.h"
/* i386/ or x86_64/ (by -I): the hand-off's selectors, the entry state layout and the
   highest address the payload can read. */
#include "payload_arch.h"

/* Linker symbols (payload.ld). */
extern const u8 jbt_payload_start[], jbt_payload_end[];
extern const u8 jbt_hash_start[], jbt_hash_end[];
/* entry.asm */
void resume_entry(void);

/* manifest.c */
extern struct jbt_manifest jbt_manifest;
u32 jbt_self_hash(void);

/* Stored by resume_entry (entry.asm) before it changes anything; defined in check.c. */
extern struct jbt_entry_state jbt_entry_state;

/* The two modes, called from entry.asm on the payload's own stack. */
void jbt_fill_main(u32 magic, u32 mbi_addr) __attribute__((noreturn));
void jbt_check_main(void) __attribute__((noreturn));

/* serial.c: COM1, 115200 8N1, polled. */
void serial_init(void);
void serial_putc(char c);

/* report.c: "jbtest: " lines, problem tally, and the QEMU exit. */
void jbt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void jbt_problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
u32 jbt_problem_count(void);
void jbt_finish(u64 checked_bytes, u32 nregions) __attribute__((noreturn));
void jbt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void jbt_halt(void) __attribute__((noreturn));

/* check_cpu.c (per architecture) */
void check_cpu_state(const struct jbt_entry_state *s, const struct jbt_manifest *m);
/* check_seg.c: selectors and the GDT descriptors behind them, for both hand-offs. */
void check_selector(const char *name, u16 got, u16 want);
void check_descriptor_flat(u64 gdt_base, u16 gdt_limit, u16 sel, bool code);
void check_descriptor_code64(u64 gdt_base, u16 gdt_limit, u16 sel);
/* check_cpus.c: the other CPUs wait for a start-up IPI (after the regions: it writes RAM). */
void check_other_cpus(void);
/* check_mem.c: returns the number of bytes compared. */
u64 check_regions(const struct jbt_manifest *m);
/* An address jumpback hands over (stack, return address, page tables) that the payload or a
   restored region owns would have been overwritten by the restore. */
void check_outside(const char *what, u64 addr, const struct jbt_manifest *m);

/* boot_args.c: what fill mode takes from the Multiboot info. */
#define JBT_SELFTEST_KIND_MAX 16
struct fill_args {
	u32 seed;
	bool seed_given;
	u32 fill_mb;
	bool fill_mb_given;
	bool fill_low; /* `low`: also fill [1 MiB, the payload), where jumpback will be loaded */
	u64 ram_start, ram_end; /* the usable RAM range holding the payload */
	u64 high_start, high_end; /* the first usable RAM range above 4 GiB, if any */
	/* `selftest` or `selftest=KIND` (x86_64/selftest.c); a copy, as the fill overwrites
	   the command line the loader put above the payload. */
	bool selftest;
	char selftest_kind[JBT_SELFTEST_KIND_MAX];
};
/* Stops with "jbtest: FAIL" when the info lacks what fill mode needs. */
void boot_args_read(u32 mbi_addr, struct fill_args *a);

/* fill.c: pattern_word(seed, address) into every word of [begin, end). */
void jbt_fill_pattern(uintptr_t begin, uintptr_t end, u32 seed);

/* fill_end.c / selftest.c (per architecture): what fill mode does once the manifest is
   written: halt for the harness's dump, or (x86_64 `selftest`) enter check mode. */
void jbt_fill_end(const struct fill_args *a) __attribute__((noreturn));

#endif
