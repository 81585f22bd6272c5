/* Unit tests for lib/cmdline.c: every key of include/options.h, the path word, unknown words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "options.h"
#include "unit_helpers.h"

/*
 * Describes how o differs from the defaults, one "field=value" per differing field in a fixed
 * order, so a table row can say exactly what a command line changes and that nothing else did.
 */
static void options_diff(const struct jb_options *o, char *out, size_t size)
{
	static const char *const resume_names[] = { "auto", "ahci", "bios", "partuuid", "partlabel",
						    "nvme", "virtio" };
	static const char *const mode_names[] = { "auto", "32", "64" };
	static const char *const driver_names[] = { "auto", "ahci", "bios", "nvme", "virtio" };
	static const char *const verify_names[] = { "auto", "on", "off" };
	struct jb_options def;
	size_t n = 0;

	options_set_defaults(&def);
	out[0] = '\0';
#define DIFF(...) n += (size_t)snprintf(out + n, n < size ? size - n : 0, __VA_ARGS__)
	if (o->resume != def.resume)
		DIFF(" resume=%s", resume_names[o->resume]);
	if (o->resume_unit != def.resume_unit)
		DIFF(" unit=0x%x", o->resume_unit);
	if (o->resume_part != def.resume_part)
		DIFF(" part=%u", o->resume_part);
	if (strcmp(o->resume_name, def.resume_name) != 0)
		DIFF(" name=%s", o->resume_name);
	if (o->resume_offset != def.resume_offset)
		DIFF(" offset=0x%llx", (unsigned long long)o->resume_offset);
	if (o->entry_set != def.entry_set)
		DIFF(" entry_set=%d", o->entry_set);
	if (o->entry != def.entry)
		DIFF(" entry=0x%llx", (unsigned long long)o->entry);
	if (o->mode != def.mode)
		DIFF(" mode=%s", mode_names[o->mode]);
	if (o->pae != def.pae)
		DIFF(" pae=%d", o->pae);
	if (o->driver != def.driver)
		DIFF(" driver=%s", driver_names[o->driver]);
	if (o->verify != def.verify)
		DIFF(" verify=%s", verify_names[o->verify]);
	if (o->keep != def.keep)
		DIFF(" keep=%d", o->keep);
	if (o->dryrun != def.dryrun)
		DIFF(" dryrun=%d", o->dryrun);
	if (o->nosmp != def.nosmp)
		DIFF(" nosmp=%d", o->nosmp);
	if (o->onerror != def.onerror)
		DIFF(" onerror=%s", o->onerror == ONERROR_REBOOT ? "reboot" : "halt");
	if (o->console != def.console)
		DIFF(" console=%u", o->console);
	if (o->serial_port != def.serial_port)
		DIFF(" port=0x%x", o->serial_port);
	if (o->serial_baud != def.serial_baud)
		DIFF(" baud=%u", o->serial_baud);
	if (strcmp(o->unknown, def.unknown) != 0)
		DIFF(" unknown='%s'", o->unknown);
#undef DIFF
	if (out[0] == ' ')
		memmove(out, out + 1, strlen(out));
}

static void test_defaults(void **state)
{
	struct jb_options o;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	options_set_defaults(&o);
	assert_int_equal(o.resume, RESUME_AUTO);
	assert_int_equal(o.resume_unit, 0);
	assert_int_equal(o.resume_part, 0);
	assert_string_equal(o.resume_name, "");
	assert_int_equal(o.resume_offset, 0);
	assert_false(o.entry_set);
	assert_int_equal(o.mode, MODE_AUTO);
	assert_int_equal(o.pae, -1);
	assert_int_equal(o.driver, DRIVER_AUTO);
	assert_int_equal(o.verify, VERIFY_AUTO);
	assert_false(o.keep);
	assert_false(o.dryrun);
	assert_false(o.nosmp);
	assert_int_equal(o.onerror, ONERROR_HALT);
	assert_int_equal(o.console, JB_CONSOLE_VGA | JB_CONSOLE_SERIAL);
	assert_int_equal(o.serial_port, 0x3f8);
	assert_int_equal(o.serial_baud, 115200);
	assert_string_equal(o.unknown, "");
}

/* Command lines that parse; `want` lists every field that differs from the defaults. */
static const struct {
	const char *line;
	const char *want;
} good_cases[] = {
	{ "", "" },
	{ "   \t \n ", "" },
	/* The loader's path word */
	{ "/boot/jumpback.elf", "" },
	{ "/boot/jumpback.elf resume=ahci:0", "resume=ahci" },
	{ "build/jumpback.elf resume=ahci:1", "resume=ahci unit=0x1" },
	{ "jumpback keep", "keep=1" },
	{ "(hd0,msdos1)/jb.elf dryrun", "dryrun=1" },
	{ "  /boot/jumpback.elf   keep", "keep=1" },
	{ "quiet splash", "unknown='splash'" },
	/* A first word that is a known flag is a flag, not a path. */
	{ "keep", "keep=1" },
	{ "dryrun", "dryrun=1" },
	{ "keep dryrun", "keep=1 dryrun=1" },
	{ "nosmp", "nosmp=1" },
	{ "/boot/jumpback.elf nosmp keep", "keep=1 nosmp=1" },
	{ "dryrun /boot/jumpback.elf", "dryrun=1 unknown='/boot/jumpback.elf'" },
	/* The first word is a key=value: parsed, not skipped. */
	{ "mode=64", "mode=64" },
	{ "resume=bios:0x80 /boot/x", "resume=bios unit=0x80 unknown='/boot/x'" },
	/* resume= */
	{ "x resume=auto", "" },
	{ "x resume=ahci:0", "resume=ahci" },
	{ "x resume=ahci:31", "resume=ahci unit=0x1f" },
	{ "x resume=ahci:0x1f", "resume=ahci unit=0x1f" },
	{ "x resume=ahci:3:2", "resume=ahci unit=0x3 part=2" },
	{ "x resume=ahci:0:1", "resume=ahci part=1" },
	{ "x resume=ahci:0:128", "resume=ahci part=128" },
	{ "x resume=bios:0x80", "resume=bios unit=0x80" },
	{ "x resume=ahci:255", "resume=ahci unit=0xff" },
	{ "x resume=nvme:0", "resume=nvme" },
	{ "x resume=nvme:1", "resume=nvme unit=0x1" },
	{ "x resume=nvme:2:3", "resume=nvme unit=0x2 part=3" },
	{ "x resume=nvme:0:128", "resume=nvme part=128" },
	{ "x resume=virtio:0", "resume=virtio" },
	{ "x resume=virtio:0x3:1", "resume=virtio unit=0x3 part=1" },
	{ "x resume=nvme:1 resume=virtio:0", "resume=virtio" },
	{ "x resume=bios:0X81", "resume=bios unit=0x81" },
	{ "x resume=bios:128", "resume=bios unit=0x80" },
	{ "x resume=bios:0x80:2", "resume=bios unit=0x80 part=2" },
	{ "x resume=bios:0xff:0x10", "resume=bios unit=0xff part=16" },
	{ "x resume=bios:0", "resume=bios" },
	{ "x resume=PARTUUID=0a1b2c3d-02", "resume=partuuid name=0a1b2c3d-02" },
	{ "x resume=PARTUUID=6b2f0c8e-1f6e-4b8a-9d1a-3c5e7f9a1b2d",
	  "resume=partuuid name=6b2f0c8e-1f6e-4b8a-9d1a-3c5e7f9a1b2d" },
	{ "x resume=PARTLABEL=hibernate", "resume=partlabel name=hibernate" },
	{ "x resume=PARTLABEL=a=b:c", "resume=partlabel name=a=b:c" },
	{ "x resume=PARTLABEL=" /* 71 characters: the longest that fits */
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "resume=partlabel name="
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
	{ "x resume=ahci:1 resume=bios:0x80", "resume=bios unit=0x80" },
	{ "x resume=ahci:1:3 resume=bios:0x80", "resume=bios unit=0x80" },
	/* resume_offset= */
	{ "x resume_offset=0", "" },
	{ "x resume_offset=2048", "offset=0x800" },
	{ "x resume_offset=0x800", "offset=0x800" },
	{ "x resume_offset=0XABCdef", "offset=0xabcdef" },
	{ "x resume_offset=007", "offset=0x7" },
	{ "x resume_offset=36028797018963966", "offset=0x7ffffffffffffe" },
	/* entry= */
	{ "x entry=0x1000000", "entry_set=1 entry=0x1000000" },
	{ "x entry=0xffffffff81000000", "entry_set=1 entry=0xffffffff81000000" },
	{ "x entry=0xFFFFFFFFFFFFFFFF", "entry_set=1 entry=0xffffffffffffffff" },
	{ "x entry=16777216", "entry_set=1 entry=0x1000000" },
	{ "x entry=0", "entry_set=1" },
	/* mode=, pae=, driver=, verify=, onerror=, console= */
	{ "x mode=32", "mode=32" },
	{ "x mode=64", "mode=64" },
	{ "x mode=32 mode=auto", "" },
	{ "x pae=0", "pae=0" },
	{ "x pae=1", "pae=1" },
	{ "x driver=ahci", "driver=ahci" },
	{ "x driver=bios", "driver=bios" },
	{ "x driver=nvme", "driver=nvme" },
	{ "x driver=virtio", "driver=virtio" },
	{ "x driver=nvme driver=ahci", "driver=ahci" },
	{ "x driver=bios driver=auto", "" },
	{ "x verify=on", "verify=on" },
	{ "x verify=off", "verify=off" },
	{ "x onerror=reboot", "onerror=reboot" },
	{ "x onerror=reboot onerror=halt", "" },
	{ "x console=vga", "console=1" },
	{ "x console=serial", "console=2" },
	{ "x console=serial console=both", "" },
	/* serial=PORT[,BAUD] */
	{ "x serial=0x2f8", "port=0x2f8" },
	{ "x serial=0x2f8,9600", "port=0x2f8 baud=9600" },
	{ "x serial=760,57600", "port=0x2f8 baud=57600" },
	{ "x serial=0x3e8,50", "port=0x3e8 baud=50" },
	{ "x serial=0xffff,115200", "port=0xffff" },
	/* Unknown keys are collected, in order, space separated. */
	{ "x foo=bar", "unknown='foo=bar'" },
	{ "x quiet foo=1 keep bar", "keep=1 unknown='quiet foo=1 bar'" },
	{ "x resume_offsetx=3 Resume=ahci:0", "unknown='resume_offsetx=3 Resume=ahci:0'" },
	{ "x =5", "unknown='=5'" },
	/* Separators: spaces, tabs, newlines, carriage returns, in any number. */
	{ "\t/boot/jb.elf\t\tresume=ahci:2  \t keep\r\nmode=32 \n",
	  "resume=ahci unit=0x2 mode=32 keep=1" },
	{ "/jb mode=64 pae=1 driver=ahci verify=off keep dryrun onerror=reboot console=serial"
	  " serial=0x2f8,38400 resume=ahci:4:1 resume_offset=0x100 entry=0x1000000 other=1",
	  "resume=ahci unit=0x4 part=1 offset=0x100 entry_set=1 entry=0x1000000 mode=64 pae=1"
	  " driver=ahci verify=off keep=1 dryrun=1 onerror=reboot console=2 port=0x2f8 baud=38400"
	  " unknown='other=1'" },
};

static void test_good_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(good_cases); i++) {
		struct jb_options o;
		struct jb_diag d = { "untouched" };
		char got[512];

		options_set_defaults(&o);
		int rc = cmdline_parse(good_cases[i].line, &o, &d);

		options_diff(&o, got, sizeof(got));
		if (rc != 0 || strcmp(got, good_cases[i].want) != 0)
			fail_msg("\"%s\": rc %d (%s), got \"%s\", want \"%s\"", good_cases[i].line, rc,
				 d.text, got, good_cases[i].want);
	}
}

/* Command lines that must fail; `word` is the word the diagnostic must quote. */
static const struct {
	const char *line;
	const char *word;
} bad_cases[] = {
	{ "x resume=", "resume=" },
	{ "x resume", "resume" },
	{ "x resume=ahci", "resume=ahci" },
	{ "x resume=ahci:", "resume=ahci:" },
	{ "x resume=ahci:256", "resume=ahci:256" },
	{ "x resume=nvme:256", "resume=nvme:256" },
	{ "x resume=virtio:0:129", "resume=virtio:0:129" },
	{ "x resume=nvme", "resume=nvme" },
	{ "x resume=nvme:", "resume=nvme:" },
	{ "x resume=virtio:x", "resume=virtio:x" },
	{ "x resume=scsi:0", "resume=scsi:0" },
	{ "x resume=NVME:0", "resume=NVME:0" },
	{ "x resume=ahci:-1", "resume=ahci:-1" },
	{ "x resume=ahci:0:0", "resume=ahci:0:0" },
	{ "x resume=ahci:0:129", "resume=ahci:0:129" },
	{ "x resume=ahci:0:x", "resume=ahci:0:x" },
	{ "x resume=ahci:1:2:3", "resume=ahci:1:2:3" },
	{ "x resume=ahci:0x", "resume=ahci:0x" },
	{ "x resume=AHCI:0", "resume=AHCI:0" },
	{ "x resume=bios:0x100", "resume=bios:0x100" },
	{ "x resume=bios:", "resume=bios:" },
	{ "x resume=bios:0x80:0", "resume=bios:0x80:0" },
	{ "x resume=sata:0", "resume=sata:0" },
	{ "x resume=/dev/sda2", "resume=/dev/sda2" },
	{ "x resume=PARTUUID=", "resume=PARTUUID=" },
	{ "x resume=PARTLABEL=", "resume=PARTLABEL=" },
	{ "x resume=partuuid=1234", "resume=partuuid=1234" },
	{ "x resume=PARTLABEL=" /* 72 characters: one too many */
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "resume=PARTLABEL=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
	{ "x resume=autox", "resume=autox" },
	{ "x resume_offset=", "resume_offset=" },
	{ "x resume_offset=0x", "resume_offset=0x" },
	{ "x resume_offset=12a", "resume_offset=12a" },
	{ "x resume_offset=-1", "resume_offset=-1" },
	{ "x resume_offset=0x1g", "resume_offset=0x1g" },
	{ "x resume_offset=36028797018963967", "resume_offset=36028797018963967" },
	{ "x resume_offset=18446744073709551615", "resume_offset=18446744073709551615" },
	{ "x resume_offset=18446744073709551616", "resume_offset=18446744073709551616" },
	{ "x resume_offset=0x10000000000000000", "resume_offset=0x10000000000000000" },
	{ "x resume_offset=99999999999999999999999", "resume_offset=99999999999999999999999" },
	{ "x entry=", "entry=" },
	{ "x entry=0x", "entry=0x" },
	{ "x entry=0xg", "entry=0xg" },
	{ "x entry=0x1_0000", "entry=0x1_0000" },
	{ "x entry=0x10000000000000000", "entry=0x10000000000000000" },
	{ "x entry=ffff", "entry=ffff" },
	{ "x mode=16", "mode=16" },
	{ "x mode=", "mode=" },
	{ "x mode=64bit", "mode=64bit" },
	{ "x mode", "mode" },
	{ "x pae=2", "pae=2" },
	{ "x pae=", "pae=" },
	{ "x pae=01", "pae=01" },
	{ "x pae=on", "pae=on" },
	{ "x driver=scsi", "driver=scsi" },
	{ "x driver=NVMe", "driver=NVMe" },
	{ "x driver=", "driver=" },
	{ "x verify=yes", "verify=yes" },
	{ "x verify=", "verify=" },
	{ "x onerror=poweroff", "onerror=poweroff" },
	{ "x onerror=", "onerror=" },
	{ "x console=none", "console=none" },
	{ "x console=", "console=" },
	{ "x console=VGA", "console=VGA" },
	{ "x serial=", "serial=" },
	{ "x serial=0", "serial=0" },
	{ "x serial=0,9600", "serial=0,9600" },
	{ "x serial=0x10000", "serial=0x10000" },
	{ "x serial=0x2f8,115201", "serial=0x2f8,115201" },
	{ "x serial=0x2f8,49", "serial=0x2f8,49" },
	{ "x serial=0x2f8,fast", "serial=0x2f8,fast" },
	{ "x serial=,9600", "serial=,9600" },
	{ "x serial=com1", "serial=com1" },
	/* The failing word is named even after good words, and without a path word. */
	{ "/boot/jumpback.elf keep mode=32 pae=7 driver=ahci", "pae=7" },
	{ "mode=32\tresume=ahci:300\tkeep", "resume=ahci:300" },
	{ "resume=nvme:0x100", "resume=nvme:0x100" },
};

static void test_bad_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < JB_ARRAY_LEN(bad_cases); i++) {
		struct jb_options o;
		struct jb_diag d = { "" };
		char quoted[128];

		options_set_defaults(&o);
		int rc = cmdline_parse(bad_cases[i].line, &o, &d);

		snprintf(quoted, sizeof(quoted), "'%s'", bad_cases[i].word);
		if (rc != -JB_ECMDLINE || !strstr(d.text, quoted))
			fail_msg("\"%s\": rc %d, diag \"%s\"; want %d naming %s", bad_cases[i].line, rc,
				 d.text, -JB_ECMDLINE, quoted);
		/* No more than the one word is quoted. */
		assert_int_equal(strlen(d.text), strlen("bad value in ") + strlen(quoted) +
						 strlen("; docs/cmdline.md lists each key's values"));
	}
}

static void test_null_and_empty(void **state)
{
	struct jb_options o, def;
	char got[256];

	(void)state;
	options_set_defaults(&def);
	options_set_defaults(&o);
	assert_int_equal(cmdline_parse(NULL, &o, NULL), 0);
	options_diff(&o, got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(cmdline_parse("", &o, NULL), 0);
	options_diff(&o, got, sizeof(got));
	assert_string_equal(got, "");
	/* A bad word with no diag to fill still fails cleanly. */
	assert_int_equal(cmdline_parse("x mode=9", &o, NULL), -JB_ECMDLINE);
}

/* The words after a bad one still apply, so onerror= and console= govern the error report. */
static void test_parse_goes_on_after_bad_word(void **state)
{
	struct jb_options o;
	struct jb_diag d = { "" };

	(void)state;
	options_set_defaults(&o);
	assert_int_equal(cmdline_parse("x resume=ahci:zero mode=7 onerror=reboot console=serial", &o,
				       &d),
			 -JB_ECMDLINE);
	assert_string_equal(d.text,
			    "bad value in 'resume=ahci:zero'; docs/cmdline.md lists each key's values");
	assert_int_equal(o.onerror, ONERROR_REBOOT);
	assert_int_equal(o.console, JB_CONSOLE_SERIAL);
}

/* Words longer than the diag buffer are quoted in part, NUL-terminated. */
static void test_long_bad_word(void **state)
{
	char line[1024];
	struct jb_options o;
	struct jb_diag d;

	(void)state;
	strcpy(line, "x entry=0x");
	memset(line + strlen(line), '1', 900);
	line[10 + 900] = 'g';
	line[10 + 901] = '\0';
	options_set_defaults(&o);
	assert_int_equal(cmdline_parse(line, &o, &d), -JB_ECMDLINE);
	assert_int_equal(strlen(d.text), sizeof(d.text) - 1);
	assert_non_null(strstr(d.text, "'entry=0x1111"));
}

/* Many unknown words fill o->unknown up to its last byte and no further, in order. */
static void test_unknown_truncation(void **state)
{
	char line[4096], joined[4096];
	size_t ln = 0, jn = 0;
	struct jb_options o;
	struct jb_diag d;

	(void)state;
	ln += (size_t)snprintf(line + ln, sizeof(line) - ln, "/boot/jumpback.elf");
	for (int i = 0; i < 100; i++) {
		ln += (size_t)snprintf(line + ln, sizeof(line) - ln, " opt%d=value%d", i, i);
		jn += (size_t)snprintf(joined + jn, sizeof(joined) - jn, "%sopt%d=value%d",
				       i ? " " : "", i, i);
		if (i == 50)
			ln += (size_t)snprintf(line + ln, sizeof(line) - ln, " keep mode=32");
	}
	options_set_defaults(&o);
	assert_int_equal(cmdline_parse(line, &o, &d), 0);
	assert_true(o.keep);
	assert_int_equal(o.mode, MODE_32);
	assert_int_equal(strlen(o.unknown), sizeof(o.unknown) - 1);
	assert_memory_equal(o.unknown, joined, sizeof(o.unknown) - 1);

	/* Boundary cases: exactly full, one short, and a single word longer than the buffer. */
	for (size_t wl = 120; wl <= 130; wl++) {
		char word[200];

		memset(word, 'k', wl);
		word[wl] = '\0';
		snprintf(line, sizeof(line), "x %s=", word);
		options_set_defaults(&o);
		assert_int_equal(cmdline_parse(line, &o, &d), 0);
		size_t want = wl + 1 < sizeof(o.unknown) - 1 ? wl + 1 : sizeof(o.unknown) - 1;

		assert_int_equal(strlen(o.unknown), want);
		/* A second word after a full buffer adds nothing and keeps the NUL. */
		snprintf(line, sizeof(line), "x %s= more=1", word);
		options_set_defaults(&o);
		assert_int_equal(cmdline_parse(line, &o, &d), 0);
		assert_true(strlen(o.unknown) <= sizeof(o.unknown) - 1);
		assert_memory_equal(o.unknown, word, wl < sizeof(o.unknown) - 1 ? wl : sizeof(o.unknown) - 1);
	}
}

/* Seeded random lines built from known-good and known-bad words: the result is predictable. */
static void test_random_word_mix(void **state)
{
	u64 seed = test_seed(0xc0de);
	struct test_rng rng = { seed };
	int iterations = 5000;

	(void)state;
	print_message("cmdline random: seed 0x%llx, %d lines\n", (unsigned long long)seed,
		      iterations);
	for (int iter = 0; iter < iterations; iter++) {
		char line[2048] = "", want_bad[128] = "";
		size_t n = 0;
		int words = (int)rng_range(&rng, 0, 8);
		struct jb_options o;
		struct jb_diag d = { "" };
		bool expect_fail = false;
		static const char *const seps[] = { " ", "\t", "  ", " \t\n", "\r\n" };

		if (rng_chance(&rng, 50))
			n += (size_t)snprintf(line + n, sizeof(line) - n, "/boot/jumpback.elf");
		for (int w = 0; w < words; w++) {
			const char *sep = seps[rng_below(&rng, JB_ARRAY_LEN(seps))];
			const char *word;

			if (rng_chance(&rng, 10)) {
				size_t k = rng_below(&rng, JB_ARRAY_LEN(bad_cases));

				/* Only bad words that are key=value (a bare word could be the path). */
				word = bad_cases[k].word;
				if (!strchr(word, '='))
					word = "mode=0";
				if (!expect_fail)
					snprintf(want_bad, sizeof(want_bad), "'%s'", word);
				expect_fail = true;
			} else {
				size_t k = rng_below(&rng, JB_ARRAY_LEN(good_cases));
				const char *g = good_cases[k].line;
				const char *sp = strrchr(g, ' ');

				/* The last word of a good line; skip ones with no '=' (path-word rule). */
				word = sp ? sp + 1 : g;
				if (!strchr(word, '=') || strchr(word, '\n') || strchr(word, '\t'))
					word = "keep";
			}
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", n ? sep : "", word);
		}
		options_set_defaults(&o);
		int rc = cmdline_parse(line, &o, &d);

		if (expect_fail) {
			if (rc != -JB_ECMDLINE || !strstr(d.text, want_bad))
				fail_msg("iteration %d: \"%s\": rc %d diag \"%s\", want %s", iter, line,
					 rc, d.text, want_bad);
		} else if (rc != 0) {
			fail_msg("iteration %d: \"%s\": rc %d diag \"%s\"", iter, line, rc, d.text);
		}
		assert_true(memchr(o.unknown, '\0', sizeof(o.unknown)) != NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good_lines),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_null_and_empty),
		cmocka_unit_test(test_parse_goes_on_after_bad_word),
		cmocka_unit_test(test_long_bad_word),
		cmocka_unit_test(test_unknown_truncation),
		cmocka_unit_test(test_random_word_mix),
	};

	return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
