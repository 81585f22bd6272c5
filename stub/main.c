/*
 * The restore sequence (DESIGN.md §2): Multiboot entry -> console -> command line -> memory
 * map -> disk -> headers -> plan -> read and place segments -> quiesce -> hand-off.
 * Every step before the hand-off fails through fatal() without jumping.
 */
#include "bios.h"
#include "boot_info.h"
#include "console.h"
#include "cpu.h"
#include "elf.h"
#include "elfcore.h"
#include "fatal.h"
#include "final.h"
#include "fmt.h"
#include "jbimage.h"
#include "locate.h"
#include "options.h"
#include "physmem.h"
#include "plan.h"
#include "restore.h"
#include "smp.h"
#include "timer.h"

#define JB_VERSION "0.1"
#define HEADER_BUF_SIZE (64u * 1024u)
#define ADDR_LIMIT_32 (1ull << 32)
#define STUB_MAX_CHUNKS JBI_STUB_MAX_CHUNKS

void jb_main(u32 magic, u32 mbi_addr) __attribute__((noreturn));

static struct boot_info boot;
static struct jb_options opts;
static struct ram_map ram;
static struct disk disk;
static struct elf_core core;
static struct plan plan;
static u64 dryrun_scratch; /* free RAM a dry run reads into */
static u32 dryrun_pieces;  /* its size in RESTORE_DRYRUN_SLOTs, or 0: none */
static u8 header_buf[HEADER_BUF_SIZE] __attribute__((aligned(512)));
static struct final_handoff handoff;
static struct image_loc loc;
static struct jbi_header jbi __attribute__((aligned(512)));
/* The image's chunk checksums, in the stub's image like its other buffers (DESIGN.md §4). */
static u64 jbi_table[STUB_MAX_CHUNKS] __attribute__((aligned(512)));
static bool have_jbi;  /* the image has a jumpback header */
static u64 core_base;  /* the ELF core's first byte on the disk */
static u64 core_bytes; /* its size (raw vmcore: up to the end of its partition or disk) */

static void check(int rc, const struct jb_diag *d)
{
	if (rc)
		fatal(rc, d);
}

/* A check of the image's contents: the message gains where on the disk it looked. */
static void check_image(int rc, const struct jb_diag *d, u64 byte)
{
	if (rc)
		fatal_fmt(rc, "%s LBA %llu: %s", loc.where,
			  (unsigned long long)(byte / disk.sector_size), d->text);
}

/* A disk read of the image's headers: a failure says which part was being read. */
static void check_read(int rc, const struct jb_diag *d, const char *what)
{
	if (rc)
		fatal_fmt(rc, "reading %s: %s", what, d->text);
}

static bool all_zero(const u8 *p, u32 n)
{
	for (u32 i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void print_ram_map(void)
{
	u64 total = 0;

	for (u32 i = 0; i < ram.n; i++) {
		kprintf("  RAM 0x%010llx-0x%010llx\n", (unsigned long long)ram.r[i].start,
			(unsigned long long)ram.r[i].end);
		total += ram.r[i].end - ram.r[i].start;
	}
	kprintf("memory: %llu MiB usable in %u ranges (%s)\n", (unsigned long long)(total >> 20),
		ram.n, boot.mem_from_mmap ? "Multiboot memory map" : "mem_lower/mem_upper");
}

/*
 * The image's hash table, checked against the header's table_xxh64 before any data is read
 * (docs/image-format.md). Only when the checksums will be checked: verify=off needs none.
 */
static void read_hash_table(struct jb_diag *d)
{
	if (jbi.nchunk > STUB_MAX_CHUNKS)
		fatal_fmt(-JB_ETOOBIG,
			  "the image has %u chunk checksums (%llu GiB of data); this jumpback holds at"
			  " most %u (%u GiB); boot with verify=off to restore it unchecked",
			  jbi.nchunk, (unsigned long long)((u64)jbi.nchunk * JBI_CHUNK_SIZE >> 30),
			  STUB_MAX_CHUNKS, (u32)((u64)STUB_MAX_CHUNKS * JBI_CHUNK_SIZE >> 30));
	if (jbi.nchunk)
		check_read(disk_read_bytes(&disk, core_base + jbi.hash_offset, (uintptr_t)jbi_table,
					   (u64)jbi.nchunk * 8, d),
			   d, "the image's hash table");
	check_image(jbi_check_table(&jbi, jbi_table, d), d, core_base + jbi.hash_offset);
	kprintf("image: %u chunk checksums (XXH64 per 16 MiB), table XXH64 ok\n", jbi.nchunk);
}

/* A jumpback image header in front of the core? Checks it and sets core_base/core_bytes. */
static void read_image_header(struct jb_diag *d)
{
	u64 area = loc.bytes;
	char created[32];

	core_base = loc.base;
	core_bytes = area;
	check_read(disk_read_bytes(&disk, core_base, (uintptr_t)&jbi, DISK_SECTOR_SIZE, d), d,
		   "the first sector of the image");
	if (all_zero((const u8 *)&jbi, DISK_SECTOR_SIZE))
		fatal_fmt(-JB_EBADIMG,
			  "%s LBA %llu: the sector is blank (all zeros), no image starts here (jbwrite"
			  " zeroes the header until the image is complete); write the image again, or"
			  " check resume= and resume_offset=",
			  loc.where, (unsigned long long)(loc.base / disk.sector_size));
	if (!jbi_has_magic(jbi.magic, sizeof(jbi.magic)))
		return;
	if (area >= JBI_HEADER_SIZE)
		check_read(disk_read_bytes(&disk, core_base, (uintptr_t)&jbi, JBI_HEADER_SIZE, d), d,
			   "the image header");
	check_image(jbi_check(&jbi, area, d), d, core_base);
	fmt_time_utc(created, sizeof(created), jbi.created);
	kprintf("image: jumpback image of kernel %s, written %s, %s\n", jbi.release, created,
		jbi.state == JBI_STATE_USED ? "already used" : "not used yet");
	if (jbi.state == JBI_STATE_USED)
		fatal_fmt(-JB_EBADIMG,
			  "%s LBA %llu: the image was resumed once already (marked used); resuming it"
			  " again would bring back a stale system: hibernate again to write a new"
			  " image (boot with keep to resume an image several times)",
			  loc.where, (unsigned long long)(loc.base / disk.sector_size));
	have_jbi = true;
	if (opts.verify != VERIFY_OFF)
		read_hash_table(d);
	core_base += jbi.core_offset;
	core_bytes = jbi.core_size;
}

/* Reads and parses the ELF and program headers. */
static void read_headers(struct jb_diag *d)
{
	u64 base = core_base;
	u64 image_size = core_bytes;
	u64 first = image_size < 4096 ? image_size : 4096;
	u64 need;

	check_read(disk_read_bytes(&disk, base, (uintptr_t)header_buf, first, d), d,
		   "the ELF header");
	int rc = elfcore_headers_len(header_buf, first, image_size, &need, d);

	if (rc != -JB_ETRUNC)
		check_image(rc, d, base);
	if (!rc && need > HEADER_BUF_SIZE)
		fatal_fmt(-JB_ETOOBIG,
			  "%s LBA %llu: ELF header: program headers end at byte 0x%llx, past the %u"
			  " bytes this jumpback reads for them; write a core with fewer segments",
			  loc.where, (unsigned long long)(base / disk.sector_size),
			  (unsigned long long)need, HEADER_BUF_SIZE);
	if (!rc && need > first)
		check_read(disk_read_bytes(&disk, base, (uintptr_t)header_buf, need, d), d,
			   "the ELF program headers");
	if (!rc)
		rc = elfcore_parse(header_buf, (size_t)(need > first ? need : first), image_size,
				   &core, d);
	if (rc == -JB_ETRUNC)
		fatal_fmt(rc, "%s LBA %llu: %s (%s ends at LBA %llu, %llu sectors of %u bytes from"
			      " LBA %llu)",
			  loc.where, (unsigned long long)(base / disk.sector_size), d->text, loc.where,
			  (unsigned long long)((loc.base + loc.bytes) / disk.sector_size),
			  (unsigned long long)(loc.bytes / disk.sector_size), disk.sector_size,
			  (unsigned long long)(loc.base / disk.sector_size));
	check_image(rc, d, base);
	kprintf("image: ELF%u core, %s, %u PT_LOAD segments, %u notes, on %s at sector %llu%s\n",
		core.elf_class, core.machine == EM_X86_64 ? "x86_64" : "i386", core.nseg,
		core.nnotes, loc.where, (unsigned long long)(base / disk.sector_size),
		base % disk.sector_size ? " (not on a sector boundary)" : "");
	if (have_jbi)
		check_image(jbi_check_core(&jbi, &core, d), d, loc.base);
}

static bool entry_in_image(u64 entry)
{
	for (u32 i = 0; i < core.nseg; i++)
		if (entry >= core.seg[i].paddr && entry < core.seg[i].paddr + core.seg[i].memsz)
			return true;
	return false;
}

/* Entry address and CPU mode: command line first, then the image (DESIGN.md §3). */
static void choose_handoff(void)
{
	enum jb_mode mode = opts.mode;
	u64 ram_top = ram.r[ram.n - 1].end;
	u64 entry = opts.entry_set ? opts.entry : jbi.entry;
	bool pae = opts.pae >= 0 ? opts.pae == 1 : have_jbi && (jbi.flags & JBI_FLAG_PAE);

	if (mode == MODE_AUTO && have_jbi)
		mode = jbi.flags & JBI_FLAG_MODE64 ? MODE_64 : MODE_32;
	else if (mode == MODE_AUTO)
		mode = core.machine == EM_X86_64 ? MODE_64 : MODE_32;
	if (!opts.entry_set && !have_jbi)
		fatal_fmt(-JB_ECMDLINE,
			  "no entry= given: the raw vmcore on %s needs kernel A's jump-back entry"
			  " on the command line: add entry=ADDR (kexec_jump_back_entry= from kernel"
			  " B's command line), or write a jumpback image with jbwrite",
			  loc.where);
	if (mode == MODE_32 && entry >= ADDR_LIMIT_32)
		fatal_fmt(-JB_ECMDLINE,
			  "entry 0x%llx is above 4 GiB, out of reach in 32-bit mode; give mode=64 for"
			  " an x86_64 kernel A, or the right entry=",
			  (unsigned long long)entry);
	if (!entry_in_image(entry))
		fatal_fmt(-JB_EBADIMG,
			  "entry 0x%llx (%s) is not inside any of the %u segments of the image on"
			  " %s; %s",
			  (unsigned long long)entry, opts.entry_set ? "entry=" : "image header",
			  core.nseg, loc.where,
			  opts.entry_set ? "give kernel B's kexec_jump_back_entry= as entry="
					 : "the header is damaged; write the image again with jbwrite");
	handoff = (struct final_handoff){
		.mode = mode == MODE_64 ? 64 : 32,
		.pae = pae,
		.entry = entry,
		.map_top = ram_top > ADDR_LIMIT_32 ? ram_top : ADDR_LIMIT_32,
		.serial_port = opts.serial_port,
	};
}

/*
 * Why a verified restore checks on this CPU alone before any other CPU is asked, or NULL: a
 * dry run reuses its scratch, and the start-up page must be RAM the stub may use.
 */
static const char *helper_refused(void)
{
	if (opts.nosmp)
		return "nosmp";
	if (opts.dryrun)
		return "a dry run";
	if (!ram_map_contains(&ram, SMP_TRAMPOLINE, SMP_TRAMPOLINE + SMP_TRAMPOLINE_SIZE))
		return "the start-up page 0x4000 is not usable RAM";
	return NULL;
}

/* Whether the restore will try a second CPU (and so needs its start-up page kept). */
static bool helper_wanted(void)
{
	return have_jbi && opts.verify != VERIFY_OFF && !helper_refused();
}

static void build_plan(struct jb_diag *d)
{
	const struct live_range stub = { (uintptr_t)__stub_start, (uintptr_t)__stub_end,
					 "jumpback stub (code, data, stacks, DMA buffers)" };
	const struct live_range bios = {
		BIOS_LOW_START, BIOS_LOW_END,
		"BIOS low memory (IVT, BDA, real-mode trampoline, bounce buffer)"
	};
	const struct live_range smp = { SMP_TRAMPOLINE, SMP_TRAMPOLINE + SMP_TRAMPOLINE_SIZE,
					"second CPU's start-up page" };
	struct live_range live[2] = { stub };
	u32 nlive = 1;

	if (loc.uses_bios) /* BIOS calls need low memory to the last read; it holds smp's page */
		live[nlive++] = bios;
	else if (helper_wanted())
		live[nlive++] = smp;
	const struct plan_input in = {
		.core = &core,
		.ram = &ram,
		.live = live,
		.nlive = nlive,
		.addr_limit = UINT64_MAX,
		.stage_limit = ADDR_LIMIT_32, /* the final stage copies with paging off */
		.final_size = final_size(&handoff),
	};

	check(plan_build(&in, &plan, d), d);
	kprintf("plan: %u operations: %llu MiB to read, %llu MiB to zero, %llu KiB of overlap to"
		" check\n",
		plan.nops, (unsigned long long)(plan.bytes_read >> 20),
		(unsigned long long)(plan.bytes_zero >> 20),
		(unsigned long long)(plan.bytes_checked >> 10));
	for (u32 i = 0; i < plan.nstages; i++)
		kprintf("plan: 0x%llx-0x%llx covers the %s: staged at 0x%llx, copied home last\n",
			(unsigned long long)plan.stage[i].start, (unsigned long long)plan.stage[i].end,
			live[plan.stage[i].live].name, (unsigned long long)plan.stage[i].at);
	if (!opts.dryrun)
		return;
	restore_print_plan(&plan);
	/*
	 * As much free RAM as the restore writes (up to RESTORE_DRYRUN_MAX_PIECES), so the dry
	 * run's reads meet the memory system as the restore's do, not a few cache-warm pieces.
	 */
	u64 want = (plan.bytes_read + RESTORE_CHUNK - 1) / RESTORE_CHUNK;
	u32 n = want > RESTORE_DRYRUN_MAX_PIECES ? RESTORE_DRYRUN_MAX_PIECES : (u32)want;

	for (n = n < RESTORE_DRYRUN_MIN_PIECES ? RESTORE_DRYRUN_MIN_PIECES : n;
	     n >= RESTORE_DRYRUN_MIN_PIECES; n /= 2) {
		if (plan_hole(&in, &plan, (u64)n * RESTORE_DRYRUN_SLOT, &dryrun_scratch)) {
			dryrun_pieces = n;
			break;
		}
	}
	if (dryrun_pieces)
		kprintf("dryrun: reads land in free RAM at 0x%llx-0x%llx, as a restore reads them\n",
			(unsigned long long)dryrun_scratch,
			(unsigned long long)(dryrun_scratch + (u64)dryrun_pieces * RESTORE_DRYRUN_SLOT));
	else
		kprintf("dryrun: no free %u KiB of RAM: reads go through the stub's buffer\n",
			RESTORE_DRYRUN_MIN_PIECES * (RESTORE_DRYRUN_SLOT >> 10));
}

/* verify=: the header's checksums, when there are any (DESIGN.md §3). */
static const u64 *verify_hashes(void)
{
	if (opts.verify == VERIFY_ON && !have_jbi)
		fatal_fmt(-JB_ECMDLINE, "verify=on, but a raw vmcore carries no checksums; write a"
					" jumpback image with tools/jbwrite");
	if (opts.verify == VERIFY_OFF || !have_jbi) {
		if (have_jbi)
			kprintf("warning: verify=off: the data checksums are not checked\n");
		return NULL;
	}
	kprintf("verify: XXH64 of every %u MiB chunk, %s loop\n", JBI_CHUNK_SIZE >> 20,
		phys_hash_loop());
	return jbi_table;
}

/* The helper CPU for a verified restore (include/smp.h); false: this CPU checks alone. */
static bool helper_start(void)
{
	const char *why = helper_refused();

	if (!why)
		why = smp_start();
	if (why)
		kprintf("verify: on this CPU alone (%s)\n", why);
	else
		kprintf("verify: a second CPU checks chunks beside this one\n");
	return !why;
}

/*
 * The last step that may fail: the image's state becomes USED on disk (read back to be
 * sure), so a second boot cannot resume a stale system. `keep` skips it (snapshot boot).
 * The header's first 512 bytes lie inside one logical block (resume_offset= counts 512-byte
 * units): that block is read, changed and written whole.
 */
static void mark_used(struct jb_diag *d)
{
	static u8 block[DISK_BLOCK_MAX] __attribute__((aligned(DISK_BLOCK_MAX)));
	u32 bs = disk.sector_size;
	u64 lba = loc.base / bs;
	u32 at = (u32)(loc.base % bs);
	const u32 used = JBI_STATE_USED;
	int rc = disk_read_bytes(&disk, lba * bs, (uintptr_t)block, bs, d);

	if (rc)
		fatal_fmt(rc,
			  "%s LBA %llu: could not read the image header to mark it used (%s); boot"
			  " with keep to resume without marking it",
			  loc.where, (unsigned long long)lba, d->text);
	if (!jbi_has_magic(block + at, DISK_SECTOR_SIZE))
		fatal_fmt(-JB_EIO,
			  "%s LBA %llu: the image header read back to mark it used has no JUMPBACK"
			  " magic: the disk returned other data than at the start; check the disk,"
			  " then boot again",
			  loc.where, (unsigned long long)lba);
	copy_bytes(block + at + JBI_STATE_OFFSET, &used, sizeof(used));
	rc = disk_write_sectors(&disk, lba, 1, block, d);
	if (rc)
		fatal_fmt(rc,
			  "%s LBA %llu: could not mark the image used (%s); boot with keep to resume"
			  " without marking it",
			  loc.where, (unsigned long long)lba, d->text);
	zero_bytes(block, bs);
	rc = disk_read_bytes(&disk, lba * bs, (uintptr_t)block, bs, d);
	if (rc)
		fatal_fmt(rc,
			  "%s LBA %llu: could not read the used mark back (%s); the image may be"
			  " marked used already, so boot with keep to resume it",
			  loc.where, (unsigned long long)lba, d->text);
	u32 state;

	copy_bytes(&state, block + at + JBI_STATE_OFFSET, sizeof(state));
	if (state != JBI_STATE_USED)
		fatal_fmt(-JB_EIO,
			  "%s LBA %llu: the image did not stay marked used (state 0x%08x read back"
			  " after writing USED); boot with keep to resume without marking it",
			  loc.where, (unsigned long long)lba, state);
	kprintf("image marked used on %s (LBA %llu)\n", loc.where, (unsigned long long)lba);
}

void jb_main(u32 magic, u32 mbi_addr)
{
	struct jb_diag d = { "" };

	console_init();
	cpu_idt_init();
	kprintf("jumpback " JB_VERSION ", restore stub at 0x%x-0x%x\n", (u32)(uintptr_t)__stub_start,
		(u32)(uintptr_t)__stub_end);
	check(boot_info_read(magic, mbi_addr, &boot, &d), &d);
	options_set_defaults(&opts);
	int rc = cmdline_parse(boot.cmdline, &opts, &d);

	fatal_set_onerror(opts.onerror);
	if (boot.efi) /* UEFI machines have a framebuffer, not VGA text mode */
		opts.console &= ~JB_CONSOLE_VGA;
	console_configure(opts.console, opts.serial_port, opts.serial_baud);
	kprintf("loader: %s; command line: %s\n", boot.loader[0] ? boot.loader : "(unnamed)",
		boot.cmdline);
	check(rc, &d);
	if (opts.unknown[0])
		kprintf("warning: ignoring unknown option(s): %s\n", opts.unknown);
	timer_init();

	check(ram_map_build(boot.mem, boot.nmem, &ram, &d), &d);
	print_ram_map();
	check(locate_image(&opts, !boot.efi, &disk, &loc, &d), &d);
	read_image_header(&d);
	read_headers(&d);
	if (have_jbi)
		check_image(jbi_memmap_check(&jbi, &ram, &d), &d, loc.base);
	choose_handoff();
	build_plan(&d);
	struct restore_stats stats = { 0 };
	const u64 *hashes = verify_hashes();
	bool helper = hashes && helper_start();
	u64 t0 = timer_now_us();

	rc = restore_run(&(struct restore_src){ &disk, core_base, hashes, &core, dryrun_scratch,
						dryrun_pieces, &stats, helper },
			 &plan, opts.dryrun, &d);
	smp_stop(); /* every other CPU in wait-for-SIPI, before any way out */
	check(rc, &d);
	u64 us = timer_now_us() - t0;
	u64 bytes = plan.bytes_read + plan.bytes_zero;

	kprintf("%s %llu MiB in %llu ms (%llu MiB/s; checking %llu ms, waiting for the disk"
		" %llu ms",
		opts.dryrun ? "read" : "restored", (unsigned long long)(bytes >> 20),
		(unsigned long long)(us / 1000),
		(unsigned long long)(us ? (bytes >> 10) * 1000000 / us >> 10 : 0),
		(unsigned long long)(stats.hash_us / 1000), (unsigned long long)(stats.wait_us / 1000));
	if (helper) {
		kprintf("; %llu of %llu MiB checked by the second CPU (%u of %u chunks finished"
			" there",
			(unsigned long long)(stats.check.helper_bytes >> 20),
			(unsigned long long)(stats.check.bytes >> 20), stats.check.helper_chunks,
			stats.check.chunks);
		if (stats.check.helper_high)
			kprintf(", %u of them above 4 GiB", stats.check.helper_high);
		kprintf(")");
	}
	kprintf(")\n");
	if (opts.dryrun) {
		kprintf("dryrun: image checked; would jump to 0x%08llx (%u-bit); no image byte was"
			" placed\n",
			(unsigned long long)handoff.entry, handoff.mode);
		stop_after_success();
	}
	if (have_jbi && !opts.keep)
		mark_used(&d);
	disk_quiesce(&disk);
	kprintf("jumping to 0x%08llx (%u-bit)\n", (unsigned long long)handoff.entry, handoff.mode);
	final_run(&plan, &handoff);
}
