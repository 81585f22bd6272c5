/*
 * Kernel-A test payload: what its files share. Fill mode (_start, booted by a Multiboot
 * loader) writes the pattern; check mode (resume_entry, entered by jumpback) verifies it.
 */
#ifndef JBT_PAYLOAD_H
#define JBT_PAYLOAD_H

#include "manifest.h"
#include "types.h"

/* The hand-off contract this payload checks (DESIGN.md section 5, boot/handoff.asm). */
#define JBT_SEL_CODE32 0x10
#define JBT_SEL_DATA32 0x18

/* Linker symbols (payload.ld). */
extern const u8 jbt_payload_start[], jbt_payload_end[];
extern const u8 jbt_hash_start[], jbt_hash_end[];
/* entry.asm */
void resume_entry(void);

/* manifest.c */
extern struct jbt_manifest jbt_manifest;
u32 jbt_self_hash(void);

/*
 * CPU state exactly as jumpback handed it over, stored by resume_entry before it changes
 * anything. Mirrored in entry.asm (the ST_* offsets).
 */
struct jbt_entry_state {
	u32 eflags;
	u32 cr0;
	u32 cr4;
	u32 esp;
	u32 ret; /* the dword at [ESP]: jumpback's "kernel A returned" address */
	u16 cs, ds, es, fs, gs, ss;
	u16 pad;
	u16 gdt_limit; /* sgdt stores the limit, then the base */
	u32 gdt_base;
};

_Static_assert(__builtin_offsetof(struct jbt_entry_state, cr4) == 8, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, ret) == 16, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, cs) == 20, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, ss) == 30, "mirrored in entry.asm");
_Static_assert(__builtin_offsetof(struct jbt_entry_state, gdt_limit) == 34,
	       "mirrored in entry.asm");
_Static_assert(sizeof(struct jbt_entry_state) == 40, "mirrored in entry.asm");

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

/* check_cpu.c */
void check_cpu_state(const struct jbt_entry_state *s, const struct jbt_manifest *m);
/* check_mem.c: returns the number of bytes compared. */
u64 check_regions(const struct jbt_manifest *m);

/* boot_args.c: what fill mode takes from the Multiboot info. */
struct fill_args {
	u32 seed;
	bool seed_given;
	u32 fill_mb;
	bool fill_mb_given;
	u64 ram_start, ram_end; /* the usable RAM range holding the payload */
};
/* Stops with "jbtest: FAIL" when the info lacks what fill mode needs. */
void boot_args_read(u32 mbi_addr, struct fill_args *a);

#endif
