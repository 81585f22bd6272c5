/*
 * Unit tests for lib/memcore.c: kernel B's command line and /proc/iomem, the core built from
 * kexec-tools' ELF headers (which segments stay, the new headers), kernel A's low memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "le.h"
#include "memcore.h"
#include "unit_helpers.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define HDR_CAP (64 + 600 * 56)
#define LOW_LEN (1 * MiB)

static u8 hdr[HDR_CAP];
static struct memcore mc;
static struct elf_core back;

static void expect_rc(int rc, struct jb_diag *d, int want_rc, const char *want_text)
{
	if (rc != want_rc || !strstr(d->text, want_text))
		fail_msg("rc %d (%s) \"%s\"; want %d (%s) containing \"%s\"", rc, jb_strerror(rc),
			 d->text, want_rc, jb_strerror(want_rc), want_text);
}

/* Kernel B's RAM as the tool gets it: through ram_map_build, sorted and merged. */
static struct ram_map ram_of(const struct mem_range *r, u32 n)
{
	struct mem_entry e[RAM_MAX_RANGES];
	struct ram_map m;
	struct jb_diag d = { "" };

	for (u32 i = 0; i < n; i++)
		e[i] = (struct mem_entry){ r[i].start, r[i].end - r[i].start, MEM_TYPE_USABLE };
	assert_int_equal(ram_map_build(e, n, &m, &d), 0);
	return m;
}

/* ---- the command line ---- */

/* A value that is not a number: the whole parse fails. */
#define BAD(s) { s, -JB_ECMDLINE, false, 0, 0, false, 0 }

static void test_cmdline(void **state)
{
	static const struct {
		const char *s;
		int rc;
		bool has_ehdr;
		u64 addr, size;
		bool has_entry;
		u64 entry;
	} cases[] = {
		/* What kexec-tools and its purgatory append. */
		{ "ro quiet elfcorehdr=1955572K kexec_jump_back_entry=0x000000005fa00041\n", 0, true,
		  1955572 * KiB, 0, true, 0x5fa00041 },
		{ "elfcorehdr=0x3f7e000", 0, true, 0x3f7e000, 0, false, 0 },
		{ "elfcorehdr=66584576", 0, true, 66584576, 0, false, 0 },
		{ "elfcorehdr=010", 0, true, 8, 0, false, 0 }, /* a leading 0 is octal, as in Linux */
		{ "elfcorehdr=0", 0, true, 0, 0, false, 0 },
		{ "elfcorehdr=4M", 0, true, 4 * MiB, 0, false, 0 },
		{ "elfcorehdr=1g", 0, true, GiB, 0, false, 0 },
		{ "elfcorehdr=2T", 0, true, 2 * 1024 * GiB, 0, false, 0 },
		{ "elfcorehdr=15E", 0, true, 15ull << 60, 0, false, 0 },
		{ "elfcorehdr=0x1e", 0, true, 0x1e, 0, false, 0 }, /* 'e' is a hex digit here */
		{ "elfcorehdr=0x10M", 0, true, 0x10 * MiB, 0, false, 0 },
		{ "elfcorehdr=64K@0x1000000", 0, true, 0x1000000, 64 * KiB, false, 0 },
		{ "elfcorehdr=0x2000@16M", 0, true, 16 * MiB, 0x2000, false, 0 },
		{ "elfcorehdr=1K elfcorehdr=2K", 0, true, 2 * KiB, 0, false, 0 }, /* the last wins */
		{ "elfcorehdr=1K -- elfcorehdr=2K", 0, true, KiB, 0, false, 0 },    /* init's words */
		{ "a=\"x elfcorehdr=9K\" elfcorehdr=3K", 0, true, 3 * KiB, 0, false, 0 },
		{ "a=\"x elfcorehdr=9K\"", 0, false, 0, 0, false, 0 },
		{ "\"elfcorehdr=5K\"", 0, true, 5 * KiB, 0, false, 0 },
		{ "elfcorehdr=\"6K\"", 0, true, 6 * KiB, 0, false, 0 },
		{ "xelfcorehdr=1K elfcorehdr elfcorehdrx=2", 0, false, 0, 0, false, 0 },
		{ "kexec_jump_back_entry=4096\telfcorehdr=1K", 0, true, KiB, 0, true, 4096 },
		{ "kexec_jump_back_entry=0x1 kexec_jump_back_entry=0x2", 0, false, 0, 0, true, 2 },
		{ "", 0, false, 0, 0, false, 0 },
		{ "   \n", 0, false, 0, 0, false, 0 },
		/* Values that are not numbers. */
		BAD("elfcorehdr="),
		BAD("elfcorehdr=K"),
		BAD("elfcorehdr=12Q"),
		BAD("elfcorehdr=12KK"),
		BAD("elfcorehdr=08"),
		BAD("elfcorehdr=0xg"),
		BAD("elfcorehdr=1K@"),
		BAD("elfcorehdr=@1K"),
		BAD("elfcorehdr=1K@2K@3K"),
		BAD("elfcorehdr=99999999999999999999"),
		BAD("elfcorehdr=16E"),
		BAD("elfcorehdr=0x20000000000000P"),
		BAD("kexec_jump_back_entry="),
		BAD("kexec_jump_back_entry=0x"),
		BAD("kexec_jump_back_entry=zz"),
		BAD("kexec_jump_back_entry=0x1g"),
		BAD("kexec_jump_back_entry=1K"),
		BAD("kexec_jump_back_entry=0x10000000000000000"),
	};

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(cases); i++) {
		struct memcore_cmdline c;
		struct jb_diag d = { "" };
		int rc = memcore_cmdline_parse(cases[i].s, strlen(cases[i].s), &c, &d);

		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d \"%s\", want %d", cases[i].s, rc, d.text, cases[i].rc);
		if (rc) {
			assert_true(strstr(d.text, "=") != NULL);
			continue;
		}
		if (c.has_elfcorehdr != cases[i].has_ehdr || c.elfcorehdr != cases[i].addr ||
		    c.elfcorehdr_size != cases[i].size || c.has_entry != cases[i].has_entry ||
		    c.entry != cases[i].entry)
			fail_msg("'%s': got %d 0x%llx size 0x%llx entry %d 0x%llx", cases[i].s,
				 c.has_elfcorehdr, (unsigned long long)c.elfcorehdr,
				 (unsigned long long)c.elfcorehdr_size, c.has_entry,
				 (unsigned long long)c.entry);
	}
}

/* The length bounds the line: no byte past it, nor past a NUL, is read. */
static void test_cmdline_length(void **state)
{
	static const char s[] = "elfcorehdr=12K kexec_jump_back_entry=0x5";
	struct memcore_cmdline c;
	struct jb_diag d = { "" };

	(void)state;
	assert_int_equal(memcore_cmdline_parse(s, 13, &c, &d), 0);
	assert_true(c.has_elfcorehdr && c.elfcorehdr == 12 && !c.has_entry); /* "...=12" */
	assert_int_equal(memcore_cmdline_parse("elfcorehdr=2K\0elfcorehdr=3K", 27, &c, &d), 0);
	assert_int_equal(c.elfcorehdr, 2 * KiB);
}

/* ---- /proc/iomem ---- */

static const char iomem_typical[] =
	"00000000-00000fff : Reserved\n"
	"00001000-0000ffff : System RAM\n"
	"00010000-0009ffff : Reserved\n"
	"000a0000-000bffff : PCI Bus 0000:00\n"
	"000f0000-000fffff : Reserved\n"
	"  000f0000-000fffff : System ROM\n"
	"01000000-03ffffff : System RAM\n"
	"  01000000-01e00000 : Kernel code\n"
	"  02000000-020fffff : System RAM\n" /* indented: a child, not the machine's RAM */
	"04000000-04ffffff : System RAM\n"   /* touches the one above: they merge */
	"fec00000-fec003ff : IOAPIC 0\n"
	"100000000-1000fffff : System RAM (kernel)\n"
	"200000000-20000ffff : System RAM   \r\n";

static void test_iomem(void **state)
{
	struct ram_map m;
	struct jb_diag d = { "" };

	(void)state;
	assert_int_equal(memcore_iomem_parse(iomem_typical, strlen(iomem_typical), &m, &d), 0);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.r[0].start, 0x1000);
	assert_int_equal(m.r[0].end, 0x10000);
	assert_int_equal(m.r[1].start, 0x1000000);
	assert_int_equal(m.r[1].end, 0x5000000);
	assert_int_equal(m.r[2].start, 0x200000000ull);
	assert_int_equal(m.r[2].end, 0x200010000ull);
	/* No newline at the end; the whole 64-bit range loses only its last byte. */
	static const char last[] = "0000000000000000-ffffffffffffffff : System RAM";

	assert_int_equal(memcore_iomem_parse(last, strlen(last), &m, &d), 0);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.r[0].end, UINT64_MAX);
}

static void test_iomem_errors(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *word;
	} cases[] = {
		{ "", -JB_EMEMMAP, "no top-level" },
		{ "00000000-00000fff : Reserved\n  00001000-0009ffff : System RAM\n", -JB_EMEMMAP,
		  "no top-level" },
		{ "00000000-00000000 : System RAM\n00000000-00000000 : System RAM\n", -JB_EMEMMAP,
		  "root" },
		{ "00002000-00001000 : System RAM\n", -JB_EMEMMAP, "line 1" },
		{ "x\n00002000-00001000 : System RAM\n", -JB_EMEMMAP, "line 2" },
		/* Lines of another shape are not RAM: 17 hex digits, no " : ", no end. */
		{ "10000000000000000-10000000000000fff : System RAM\n", -JB_EMEMMAP, "no top-level" },
		{ "00001000-00001fff: System RAM\n", -JB_EMEMMAP, "no top-level" },
		{ "00001000- : System RAM\n", -JB_EMEMMAP, "no top-level" },
	};

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(cases); i++) {
		struct ram_map m;
		struct jb_diag d = { "" };

		expect_rc(memcore_iomem_parse(cases[i].text, strlen(cases[i].text), &m, &d), &d,
			  cases[i].rc, cases[i].word);
	}
	/* 128 System RAM lines fit; the 129th does not. */
	static char many[130 * 40];
	struct ram_map m;
	struct jb_diag d = { "" };

	for (u32 lines = 128; lines <= 129; lines++) {
		size_t len = 0;

		for (u32 i = 0; i < lines; i++)
			len += (size_t)snprintf(many + len, sizeof(many) - len,
						"%08x-%08x : System RAM\n", i * 0x2000,
						i * 0x2000 + 0xfff);
		int rc = memcore_iomem_parse(many, len, &m, &d);

		if (lines == 128) {
			assert_int_equal(rc, 0);
			assert_int_equal(m.n, 128);
		} else {
			expect_rc(rc, &d, -JB_ETOOBIG, "128");
		}
	}
}

/* ---- the core ---- */

/*
 * What kexec-tools 2.0.25 writes for a 128 MiB x86_64 kernel A whose kernel B lives in
 * 16-80 MiB: empty notes, low RAM, RAM around the window, and the kernel text inside it.
 */
static const struct core_phdr kexec_typical[] = {
	{ PT_NOTE, 0x3f7e400, 0, 0, 0x400 },
	{ PT_NOTE, 0x3f7e800, 0, 0, 0x400 },
	{ PT_LOAD, 0x1000000, 0x1000000, 0x2000000, 0x2000000 }, /* "Kernel text": inside B */
	{ PT_LOAD, 0x1000, 0x1000, 0x9e000, 0x9e000 },           /* low RAM: overlaps B's */
	{ PT_LOAD, 0x100000, 0x100000, 0xf00000, 0xf00000 },     /* 1-16 MiB */
	{ PT_LOAD, 0x5000000, 0x5000000, 0x2fe0000, 0x2fe0000 }, /* 80 MiB to the top */
};

/* Kernel B: a little low RAM (its trampoline) and the window at 16-80 MiB. */
static const struct mem_range b_typical[] = { { 0x1000, 0x10000 }, { 0x1000000, 0x5000000 } };

/* Builds from a table; returns the rc. */
static int build(int elf_class, u16 machine, const struct core_phdr *ph, u32 n,
		 const struct mem_range *b, u32 nb, struct jb_diag *d)
{
	struct ram_map ram = ram_of(b, nb);
	size_t len = core_write(hdr, elf_class, machine, ph, n);
	u64 need = 0;
	int rc = memcore_headers_len(hdr, len, &need, d);

	if (rc)
		return rc;
	assert_int_equal(need, len);
	return memcore_build(hdr, len, &ram, &mc, d);
}

/*
 * The built headers read back with lib/elfcore.c as exactly the kept segments (want: indexes
 * into ph), 4 KiB-aligned after the headers, p_filesz = p_memsz, class and machine kept.
 */
static void expect_core(int elf_class, u16 machine, const struct core_phdr *ph,
			const u32 *want, u32 nwant)
{
	struct jb_diag d = { "" };
	u64 need = 0;
	u32 phent = (u32)core_phentsize(elf_class);

	assert_int_equal(mc.nseg, nwant);
	assert_int_equal(mc.hdr_len, core_ehsize(elf_class) + nwant * phent);
	assert_int_equal(elfcore_headers_len(mc.hdr, ELFCORE_IDENT_LEN, mc.size, &need, &d), 0);
	assert_int_equal(need, mc.hdr_len);
	assert_int_equal(elfcore_parse(mc.hdr, (size_t)need, mc.size, &back, &d), 0);
	assert_int_equal(back.elf_class, elf_class);
	assert_int_equal(back.machine, machine);
	assert_int_equal(back.nnotes, 0);
	assert_int_equal(back.nseg, nwant);
	u64 end = mc.hdr_len;

	for (u32 k = 0; k < nwant; k++) {
		const struct core_phdr *p = &ph[want[k]];
		const u8 *raw = mc.hdr + core_ehsize(elf_class) + k * phent;

		assert_int_equal(mc.seg[k].phdr_index, want[k]);
		assert_int_equal(mc.seg[k].paddr, p->paddr);
		assert_int_equal(mc.seg[k].size, p->memsz);
		assert_int_equal(back.seg[k].paddr, p->paddr);
		assert_int_equal(back.seg[k].filesz, p->memsz);
		assert_int_equal(back.seg[k].memsz, p->memsz);
		assert_int_equal(back.seg[k].offset, mc.seg[k].offset);
		assert_int_equal(mc.seg[k].offset % MEMCORE_PAGE_SIZE, 0);
		assert_true(mc.seg[k].offset >= end && mc.seg[k].offset - end < MEMCORE_PAGE_SIZE);
		end = mc.seg[k].offset + mc.seg[k].size;
		/* p_vaddr and p_flags as core_write_phdr wrote them. */
		if (elf_class == 64) {
			assert_int_equal(le64(raw + 16), p->paddr + 0xffff880000000000ull);
			assert_int_equal(le32(raw + 4), 7);
		} else {
			assert_int_equal(le32(raw + 8), (u32)p->paddr + 0xc0000000u);
			assert_int_equal(le32(raw + 24), 7);
		}
	}
	assert_int_equal(mc.size, end);
}

static void test_build_typical(void **state)
{
	static const u32 want[] = { 3, 4, 5 };
	struct jb_diag d = { "" };

	(void)state;
	assert_int_equal(build(64, EM_X86_64, kexec_typical, JB_ARRAY_LEN(kexec_typical),
			       b_typical, JB_ARRAY_LEN(b_typical), &d), 0);
	expect_core(64, EM_X86_64, kexec_typical, want, JB_ARRAY_LEN(want));
	assert_int_equal(mc.in.nseg, 4);
	assert_int_equal(mc.in.nnotes, 2);
	assert_int_equal(mc.nskip, 1);
	assert_true(mc.skipped[0] && !mc.skipped[1] && !mc.skipped[2] && !mc.skipped[3]);
	assert_int_equal(mc.seg[0].offset, 0x1000); /* 64 + 3 * 56 bytes of headers */
	assert_int_equal(mc.seg[1].offset, 0x1000 + 0x9e000);
	assert_int_equal(mc.size, 0x1000 + 0x9e000 + 0xf00000 + 0x2fe0000);
	/* ELF32 from the same table: ELF32 out. */
	assert_int_equal(build(32, EM_386, kexec_typical, JB_ARRAY_LEN(kexec_typical), b_typical,
			       JB_ARRAY_LEN(b_typical), &d), 0);
	expect_core(32, EM_386, kexec_typical, want, JB_ARRAY_LEN(want));
}

/*
 * kexec-tools 2.0.25's inverted range (a PT_LOAD at 1 MiB with p_memsz 0xffffffffffff0000, seen
 * from a real 6.12 kernel A) is turned into PT_NULL; the others stay; the core then builds.
 */
static void test_drop_inverted(void **state)
{
	static const struct core_phdr with_inverted[] = {
		{ PT_NOTE, 0x3f7e400, 0, 0, 0x400 },
		{ PT_LOAD, 0x1000000, 0x1000000, 0xa16000, 0xa16000 },         /* kernel text */
		{ PT_LOAD, 0x1000, 0x1000, 0x9ec00, 0x9ec00 },                 /* low RAM */
		{ PT_LOAD, 0x100000, 0x100000, 0xffffffffffff0000ull, 0xffffffffffff0000ull },
		{ PT_LOAD, 0x5000000, 0x5000000, 0x2fe0000, 0x2fe0000 },
		{ PT_LOAD, 0xfffff000000000ull, 0xfffff000000000ull, 0x1000, 0x1000 }, /* past 2^52 */
	};
	static const u32 want[] = { 2, 4 };
	struct memcore_inverted inv[1];
	struct ram_map ram = ram_of(b_typical, JB_ARRAY_LEN(b_typical));
	struct jb_diag d = { "" };
	size_t len = core_write(hdr, 64, EM_X86_64, with_inverted, JB_ARRAY_LEN(with_inverted));

	(void)state;
	/* Untouched, the parser refuses the table. */
	assert_int_equal(memcore_build(hdr, len, &ram, &mc, &d), -JB_EBADIMG);
	assert_int_equal(memcore_drop_inverted(hdr, len, inv, JB_ARRAY_LEN(inv)), 2);
	assert_int_equal(inv[0].phdr_index, 3);
	assert_int_equal(inv[0].paddr, 0x100000);
	assert_int_equal(inv[0].memsz, 0xffffffffffff0000ull);
	assert_int_equal(memcore_build(hdr, len, &ram, &mc, &d), 0);
	expect_core(64, EM_X86_64, with_inverted, want, JB_ARRAY_LEN(want));
	/* A second pass finds nothing more; a sane table loses nothing. */
	assert_int_equal(memcore_drop_inverted(hdr, len, inv, JB_ARRAY_LEN(inv)), 0);
	len = core_write(hdr, 64, EM_X86_64, kexec_typical, JB_ARRAY_LEN(kexec_typical));
	assert_int_equal(memcore_drop_inverted(hdr, len, inv, JB_ARRAY_LEN(inv)), 0);
	/* ELF32: an end past 4 GiB. */
	static const struct core_phdr elf32[] = {
		{ PT_LOAD, 0x1000, 0x1000, 0x9ec00, 0x9ec00 },
		{ PT_LOAD, 0x100000, 0x100000, 0xffff0000u, 0xffff0000u },
	};
	len = core_write(hdr, 32, EM_386, elf32, JB_ARRAY_LEN(elf32));
	assert_int_equal(memcore_drop_inverted(hdr, len, inv, JB_ARRAY_LEN(inv)), 1);
	assert_int_equal(inv[0].phdr_index, 1);
	/* Truncated or foreign headers: nothing touched. */
	assert_int_equal(memcore_drop_inverted(hdr, 10, inv, JB_ARRAY_LEN(inv)), 0);
}

/* Which segments stay: only one lying entirely inside kernel B's RAM goes. */
static void test_build_keep_rules(void **state)
{
	static const struct mem_range b[] = { { 0x100000, 0x200000 }, { 0x200000, 0x300000 },
					      { 0x400000, 0x500000 } };
	static const struct {
		u64 paddr, memsz;
		bool skip;
	} cases[] = {
		{ 0x100000, 0x100000, true },   /* exactly one range */
		{ 0x180000, 0x100000, true },   /* across two touching ranges (merged) */
		{ 0x100000, 0x200000, true },   /* both of them, to the byte */
		{ 0x100000, 0x200001, false },  /* one byte past */
		{ 0x0ff000, 0x2000, false },    /* starts below */
		{ 0x2ff000, 0x2000, false },    /* into the hole at 3-4 MiB */
		{ 0x380000, 0x100000, false },  /* from the hole into RAM */
		{ 0x4fffff, 0x1, true },        /* the last byte */
		{ 0x500000, 0x1000, false },    /* right after */
		{ 0x0, 0x100000, false },       /* right before */
		{ 0x0, 0x1000000, false },      /* around all of it */
	};

	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(cases); i++) {
		struct core_phdr ph[2] = {
			{ PT_LOAD, 0, cases[i].paddr, cases[i].memsz, cases[i].memsz },
			{ PT_LOAD, 0, 0x10000000, 0x1000, 0x1000 }, /* keeps the core non-empty */
		};
		struct jb_diag d = { "" };

		assert_int_equal(build(64, EM_X86_64, ph, 2, b, JB_ARRAY_LEN(b), &d), 0);
		if (mc.skipped[0] != cases[i].skip)
			fail_msg("case %zu: 0x%llx (+0x%llx): skipped %d, want %d", i,
				 (unsigned long long)cases[i].paddr,
				 (unsigned long long)cases[i].memsz, mc.skipped[0], cases[i].skip);
		assert_int_equal(mc.nseg, cases[i].skip ? 1 : 2);
	}
}

/* p_filesz below p_memsz: the core carries all of p_memsz, read from memory. */
static void test_build_filesz(void **state)
{
	static const struct core_phdr ph[] = {
		{ PT_LOAD, 0x100000, 0x100000, 0x1000, 0x3000 },
		{ PT_LOAD, 0x200000, 0x200000, 0, 0x800 },
		{ PT_LOAD, 0x300000, 0x300000, 0x10, 0 }, /* p_memsz 0: nothing to keep */
	};
	static const struct core_phdr as_kept[] = {
		{ PT_LOAD, 0, 0x100000, 0x3000, 0x3000 },
		{ PT_LOAD, 0, 0x200000, 0x800, 0x800 },
	};
	static const u32 want[] = { 0, 1 };
	struct jb_diag d = { "" };

	(void)state;
	assert_int_equal(build(64, EM_X86_64, ph, 2, b_typical, 1, &d), 0);
	expect_core(64, EM_X86_64, as_kept, want, 2);
	assert_int_equal(mc.seg[1].offset, 0x1000 + 0x3000);
	assert_int_equal(mc.size, 0x4000 + 0x800);
}

static void test_build_errors(void **state)
{
	struct jb_diag d = { "" };
	static struct core_phdr many[ELFCORE_MAX_SEGS + 1];

	(void)state;
	/* phnum 0: no table at all. */
	core_write_ehdr(hdr, 64, EM_X86_64, 64, 0);
	u64 need;

	expect_rc(memcore_headers_len(hdr, 64, &need, &d), &d, -JB_EBADIMG, "e_phnum=0");
	expect_rc(memcore_build(hdr, 64, &(struct ram_map){ 0 }, &mc, &d), &d, -JB_EBADIMG,
		  "e_phnum=0");
	/* Only notes. */
	static const struct core_phdr notes[] = { { PT_NOTE, 0x1000, 0, 0, 0x400 } };

	expect_rc(build(64, EM_X86_64, notes, 1, b_typical, 2, &d), &d, -JB_EBADIMG, "no PT_LOAD");
	/* paddr + memsz wraps, or leaves what x86 addresses. */
	static const struct core_phdr wrap[] = {
		{ PT_LOAD, 0, 0xfffffffffffff000ull, 0x2000, 0x2000 } };
	static const struct core_phdr far[] = { { PT_LOAD, 0, 1ull << 52, 0x1000, 0x1000 } };

	expect_rc(build(64, EM_X86_64, wrap, 1, b_typical, 2, &d), &d, -JB_EBADIMG,
		  "program header 0");
	expect_rc(build(64, EM_X86_64, far, 1, b_typical, 2, &d), &d, -JB_EBADIMG, "x86");
	/* p_filesz above p_memsz. */
	static const struct core_phdr fat[] = { { PT_LOAD, 0, 0x100000, 0x2000, 0x1000 } };

	expect_rc(build(64, EM_X86_64, fat, 1, b_typical, 2, &d), &d, -JB_EBADIMG, "p_filesz");
	/* Everything inside kernel B. */
	static const struct core_phdr inside[] = {
		{ PT_LOAD, 0, 0x1000000, 0x1000, 0x1000 },
		{ PT_LOAD, 0, 0x2000, 0x1000, 0x1000 },
	};

	expect_rc(build(64, EM_X86_64, inside, 2, b_typical, 2, &d), &d, -JB_EBADIMG,
		  "all 2 PT_LOAD");
	/* One PT_LOAD more than the image format holds. */
	for (u32 i = 0; i < JB_ARRAY_LEN(many); i++)
		many[i] = (struct core_phdr){ PT_LOAD, 0, 0x10000000ull + i * 0x1000ull, 0x1000,
					      0x1000 };
	expect_rc(build(64, EM_X86_64, many, ELFCORE_MAX_SEGS + 1, b_typical, 2, &d), &d,
		  -JB_ETOOBIG, "512");
	assert_int_equal(build(64, EM_X86_64, many, ELFCORE_MAX_SEGS, b_typical, 2, &d), 0);
	assert_int_equal(mc.nseg, ELFCORE_MAX_SEGS);
	assert_int_equal(mc.hdr_len, 64 + ELFCORE_MAX_SEGS * 56);
	/* An ELF32 core whose offsets would pass 4 GiB; the ELF64 one is fine. */
	static const struct core_phdr big[] = {
		{ PT_LOAD, 0, 0x00000000, 0x7ffff000, 0x7ffff000 },
		{ PT_LOAD, 0, 0x80000000, 0x7ffff000, 0x7ffff000 },
		{ PT_LOAD, 0, 0xfffff000, 0x1000, 0x1000 },
	};

	expect_rc(build(32, EM_386, big, 3, b_typical, 2, &d), &d, -JB_ETOOBIG,
		  "program header 2");
	assert_int_equal(build(32, EM_386, big, 2, b_typical, 2, &d), 0);
	assert_int_equal(mc.size, 0x1000ull + 0x7ffff000 + 0x7ffff000);
	assert_int_equal(build(64, EM_X86_64, big, 3, b_typical, 2, &d), 0);
	/* Headers too far in for kexec-tools' table. */
	core_write_ehdr(hdr, 64, EM_X86_64, MEMCORE_HEADERS_MAX, 1);
	expect_rc(memcore_headers_len(hdr, 64, &need, &d), &d, -JB_ETOOBIG, "KiB");
	core_write_ehdr(hdr, 64, EM_X86_64, MEMCORE_HEADERS_MAX - 56, 1);
	assert_int_equal(memcore_headers_len(hdr, 64, &need, &d), 0);
	assert_int_equal(need, MEMCORE_HEADERS_MAX);
	/* Not ELF at all. */
	memset(hdr, 0, 64);
	expect_rc(memcore_headers_len(hdr, 64, &need, &d), &d, -JB_EBADIMG, "ELF magic");
}

/* ---- kernel A's low memory ---- */

static u8 low_now[LOW_LEN], low_a[LOW_LEN], low_before[LOW_LEN];

/* Kept segments from a table, straight into mc (lowmem_merge reads only seg and nseg). */
static void segs_set(const struct memcore_seg *s, u32 n)
{
	mc.nseg = n;
	for (u32 i = 0; i < n; i++)
		mc.seg[i] = s[i];
}

static void low_fill(u64 seed)
{
	struct test_rng rng = { seed };

	for (size_t i = 0; i < LOW_LEN; i++)
		low_a[i] = (u8)rng_next(&rng);
	memcpy(low_now, low_a, LOW_LEN);
}

static void test_lowmem_table(void **state)
{
	/* Kernel A's low RAM segment and the one at 1 MiB; B's trampoline RAM up to 0x9800. */
	static const struct memcore_seg segs[] = { { 0x1000, 0x2000, 0x9e000, 3 },
						   { 0x100000, 0xa0000, 0xf00000, 4 } };
	static const struct mem_range b[] = { { 0x1000, 0x9800 }, { 0x1000000, 0x5000000 } };
	static const struct {
		u64 poke[3]; /* bytes kernel B changed (0: none) */
		u64 len;
		int rc;
		u32 replaced;
		u64 bad_page;
	} cases[] = {
		{ { 0 }, LOW_LEN, 0, 0, 0 },
		{ { 0x5000 }, LOW_LEN, 0, 1, 0 },
		{ { 0x1000, 0x1fff, 0x5010 }, LOW_LEN, 0, 2, 0 },
		{ { 0x97ff }, LOW_LEN, 0, 1, 0 },            /* last byte of B's RAM */
		{ { 0x9800 }, LOW_LEN, -JB_EMISMATCH, 0, 0x9000 }, /* first byte past it */
		{ { 0x9c123 }, LOW_LEN, -JB_EMISMATCH, 0, 0x9c000 },
		{ { 0x5000, 0x9c123, 0x9d000 }, LOW_LEN, -JB_EMISMATCH, 0, 0x9c000 },
		{ { 0x9efff }, LOW_LEN, -JB_EMISMATCH, 0, 0x9e000 },
		/* Not in a kept segment: page 0, the hole at 0xa0000, past the copy. */
		{ { 0x500, 0xa0000, 0xfffff }, LOW_LEN, 0, 0, 0 },
		{ { 0x9c123 }, 0x9c000, 0, 0, 0 },
		{ { 0x9c123 }, 0x9c124, -JB_EMISMATCH, 0, 0x9c000 },
	};

	(void)state;
	segs_set(segs, 2);
	struct ram_map ram = ram_of(b, 2);

	for (size_t i = 0; i < JB_ARRAY_LEN(cases); i++) {
		struct memcore_low res;
		struct jb_diag d = { "" };

		low_fill(i + 1);
		for (int k = 0; k < 3; k++)
			if (cases[i].poke[k])
				low_now[cases[i].poke[k]] ^= 0x5a;
		memcpy(low_before, low_now, LOW_LEN);
		int rc = memcore_lowmem_merge(&mc, &ram, low_now, low_a, cases[i].len, &res, &d);

		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d \"%s\", want %d", i, rc, d.text, cases[i].rc);
		if (rc) {
			char want[64];

			snprintf(want, sizeof(want), "page 0x%llx differs",
				 (unsigned long long)cases[i].bad_page);
			assert_int_equal(res.bad_page, cases[i].bad_page);
			assert_non_null(strstr(d.text, want));
			assert_memory_equal(low_now, low_before, LOW_LEN); /* untouched */
			continue;
		}
		/* Pages 0x1000..0x9e000 and 0x100000.. (none: past 1 MiB) below len. */
		u64 top = cases[i].len < 0x9f000 ? cases[i].len : 0x9f000;
		u32 pages = (u32)((top - 0x1000 + MEMCORE_PAGE_SIZE - 1) / MEMCORE_PAGE_SIZE);

		assert_int_equal(res.checked, pages);
		if (res.replaced != cases[i].replaced)
			fail_msg("case %zu: %u pages replaced, want %u", i, res.replaced,
				 cases[i].replaced);
		/* Kept bytes are kernel A's now; the others stay as kernel B found them. */
		for (u64 at = 0; at < LOW_LEN; at++) {
			bool kept = at >= 0x1000 && at < 0x9f000 && at < cases[i].len;

			if (low_now[at] != (kept ? low_a[at] : low_before[at]))
				fail_msg("case %zu: byte 0x%llx", i, (unsigned long long)at);
		}
	}
}

static bool seg_holds(const struct memcore_seg *s, u32 n, u64 x)
{
	for (u32 i = 0; i < n; i++)
		if (x >= s[i].paddr && x - s[i].paddr < s[i].size)
			return true;
	return false;
}

/*
 * Random segments, kernel B RAM and changes against a byte-by-byte model: a changed kept byte
 * inside B's RAM is replaced, one outside fails at the lowest such page.
 */
static void test_lowmem_random(void **state)
{
	u64 seed = test_seed(0x10e);
	struct test_rng rng = { seed };
	int iterations = 300, refused = 0;

	(void)state;
	print_message("memcore lowmem random: seed 0x%llx, %d cases\n", (unsigned long long)seed,
		      iterations);
	for (int iter = 0; iter < iterations; iter++) {
		struct memcore_seg segs[6];
		struct mem_range b[4];
		u32 ns = (u32)rng_range(&rng, 1, JB_ARRAY_LEN(segs));
		u32 nb = (u32)rng_range(&rng, 1, JB_ARRAY_LEN(b));
		u64 len = rng_range(&rng, 1, 256) * 0x1000 -
			  (rng_chance(&rng, 30) ? rng_below(&rng, 0x1000) : 0);
		u64 at = 0;

		for (u32 i = 0; i < ns; i++)
			segs[i] = (struct memcore_seg){ rng_below(&rng, 0x110000),
							0, rng_range(&rng, 1, 0x30000), i };
		for (u32 i = 0; i < nb; i++) { /* sorted, apart: as ram_map_build leaves them */
			at += rng_range(&rng, 1, 0x30000);
			b[i].start = at;
			at += rng_range(&rng, 1, 0x30000);
			b[i].end = at;
		}
		segs_set(segs, ns);
		struct ram_map ram = ram_of(b, nb);

		low_fill(rng_next(&rng));
		for (u32 k = (u32)rng_below(&rng, 8); k > 0; k--)
			low_now[rng_below(&rng, len)] ^= (u8)rng_range(&rng, 1, 255);
		memcpy(low_before, low_now, LOW_LEN);

		/* The model. */
		u64 bad = UINT64_MAX;
		static bool page_checked[256], page_replaced[256];

		memset(page_checked, 0, sizeof(page_checked));
		memset(page_replaced, 0, sizeof(page_replaced));
		for (u64 x = 0; x < len; x++) {
			if (!seg_holds(segs, ns, x))
				continue;
			page_checked[x / 0x1000] = true;
			if (low_now[x] == low_a[x])
				continue;
			if (ram_map_contains(&ram, x, x + 1))
				page_replaced[x / 0x1000] = true;
			else if (bad == UINT64_MAX)
				bad = x & ~0xfffull;
		}
		u32 checked = 0, replaced = 0;

		for (u32 p = 0; p < 256; p++) {
			checked += page_checked[p];
			replaced += page_replaced[p];
		}

		struct memcore_low res;
		struct jb_diag d = { "" };
		int rc = memcore_lowmem_merge(&mc, &ram, low_now, low_a, len, &res, &d);

		if (bad != UINT64_MAX) {
			refused++;
			assert_int_equal(rc, -JB_EMISMATCH);
			assert_int_equal(res.bad_page, bad);
			assert_memory_equal(low_now, low_before, LOW_LEN);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(res.checked, checked);
		assert_int_equal(res.replaced, replaced);
		/* With nothing refused, every changed kept byte is in B's RAM: kernel A's again. */
		for (u64 x = 0; x < LOW_LEN; x++) {
			bool fix = x < len && seg_holds(segs, ns, x);

			if (low_now[x] != (fix ? low_a[x] : low_before[x]))
				fail_msg("iteration %d: byte 0x%llx", iter, (unsigned long long)x);
		}
	}
	print_message("memcore lowmem random: %d refused\n", refused);
	assert_true(refused > iterations / 20 && refused < iterations - iterations / 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_cmdline_length),
		cmocka_unit_test(test_iomem),
		cmocka_unit_test(test_iomem_errors),
		cmocka_unit_test(test_build_typical),
		cmocka_unit_test(test_drop_inverted),
		cmocka_unit_test(test_build_keep_rules),
		cmocka_unit_test(test_build_filesz),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_lowmem_table),
		cmocka_unit_test(test_lowmem_random),
	};

	return cmocka_run_group_tests_name("memcore", tests, NULL, NULL);
}
