/*
 * jbjump: the two kexec jumps of kexec hibernation that kexec-tools cannot report on.
 * In kernel A, `jbjump` enters the loaded preserve-context image (kernel B) and exits 0 when
 * kernel A runs again (`kexec -e` prints "kexec failed" on every return). In kernel B,
 * `jbjump --back` loads the jump-back helper for kexec_jump_back_entry= and returns to A.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/kexec.h>
#include <linux/reboot.h>

#define TOOL_NAME "jbjump"
#include "tool_error.h"

#define CMDLINE_PATH "/proc/cmdline"
#define KEXEC_LOADED_PATH "/sys/kernel/kexec_loaded"
#define ENTRY_KEY "kexec_jump_back_entry="
#define EMPTY_SEGMENT_AT 0x1000ul

static void usage_print(FILE *f)
{
	fprintf(f,
		"usage: jbjump                      in kernel A: jump to the kexec image loaded with\n"
		"                                   --load-preserve-context; exit 0 once A runs again\n"
		"       jbjump --back [--entry ADDR] in kernel B: jump back to kernel A at ADDR\n"
		"                                   (default: kexec_jump_back_entry= from %s)\n",
		CMDLINE_PATH);
}

/* kexec_jump_back_entry= from kernel B's command line, or 0. */
static unsigned long entry_from_cmdline(void)
{
	static char buf[8192];
	FILE *f = fopen(CMDLINE_PATH, "r");
	size_t n;
	char *at;

	if (!f)
		die("cannot open %s: %s", CMDLINE_PATH, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (at = strstr(buf, ENTRY_KEY); at; at = strstr(at + 1, ENTRY_KEY))
		if (at == buf || at[-1] == ' ')
			return strtoul(at + strlen(ENTRY_KEY), NULL, 0);
	return 0;
}

/* Is a kexec image loaded? (/sys/kernel/kexec_loaded; an unreadable file counts as yes.) */
static int kexec_image_loaded(void)
{
	FILE *f = fopen(KEXEC_LOADED_PATH, "r");
	int c;

	if (!f)
		return 1;
	c = fgetc(f);
	fclose(f);
	return c != '0';
}

/* reboot(LINUX_REBOOT_CMD_KEXEC) returns 0 once the peer kernel jumped back to us. */
static int jump(void)
{
	if (!kexec_image_loaded())
		die("no kexec image is loaded (load kernel B with kexec -l --load-preserve-context)");
	sync();
	if (reboot(LINUX_REBOOT_CMD_KEXEC) != 0)
		die("the kexec jump failed: %s", strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	const char *entry_s = NULL;
	unsigned long entry;
	bool back = false;
	char *end;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--back"))
			back = true;
		else if (!strcmp(argv[i], "--entry") || strncmp(argv[i], "--", 2) ||
			 !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			entry_s = tool_option_value(argc, argv, &i);
		else
			usage("unknown option '%s'", argv[i]);
	}
	if (!back) {
		if (entry_s)
			usage("--entry goes with --back");
		return jump();
	}
	if (entry_s) {
		errno = 0;
		entry = strtoul(entry_s, &end, 0);
		if (errno || *end || end == entry_s)
			usage("--entry '%s' is not a number", entry_s);
	} else {
		entry = entry_from_cmdline();
		if (!entry)
			die("no %s on %s: this is not a kernel B entered by a kexec jump", ENTRY_KEY,
			    CMDLINE_PATH);
	}
	/*
	 * The jump-back helper: only the entry, in preserve-context mode. kexec_load with no
	 * segment unloads instead, and an empty segment at 0 ends at 0 - 1, which makes every
	 * page a destination (no control page can be found): one empty segment at page 1.
	 */
	struct kexec_segment none = { .mem = (const void *)EMPTY_SEGMENT_AT };

	if (syscall(SYS_kexec_load, entry, 1UL, &none,
		    (unsigned long)(KEXEC_PRESERVE_CONTEXT | KEXEC_ARCH_DEFAULT)) != 0)
		die("loading the jump back to 0x%lx failed: %s", entry, strerror(errno));
	printf("jbjump: jumping back to kernel A at 0x%lx\n", entry);
	fflush(stdout);
	return jump();
}
