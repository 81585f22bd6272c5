/* Linux-style `key=value` command line parsing (DESIGN.md §3, docs/cmdline.md). Pure. */
#include "options.h"

struct word {
	const char *s;
	size_t len;
};

void options_set_defaults(struct jb_options *o)
{
	*o = (struct jb_options){
		.resume = RESUME_AUTO,
		.mode = MODE_AUTO,
		.pae = -1,
		.driver = DRIVER_AUTO,
		.verify = VERIFY_AUTO,
		.onerror = ONERROR_HALT,
		.console = JB_CONSOLE_VGA | JB_CONSOLE_SERIAL,
		.serial_port = 0x3f8,
		.serial_baud = 115200,
	};
}

static bool word_is(struct word w, const char *lit)
{
	size_t i = 0;

	for (; i < w.len; i++)
		if (lit[i] != w.s[i])
			return false;
	return lit[i] == '\0';
}

static bool word_starts(struct word w, const char *prefix, struct word *rest)
{
	size_t i = 0;

	for (; prefix[i]; i++)
		if (i >= w.len || prefix[i] != w.s[i])
			return false;
	*rest = (struct word){ w.s + i, w.len - i };
	return true;
}

/* Decimal, or hexadecimal with 0x; the whole word must be consumed and fit 64 bits. */
static bool word_to_u64(struct word w, u64 *out)
{
	u64 v = 0;
	unsigned int base = 10;
	size_t i = 0;

	if (w.len > 2 && w.s[0] == '0' && (w.s[1] == 'x' || w.s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == w.len)
		return false;
	for (; i < w.len; i++) {
		char c = w.s[i];
		unsigned int digit;

		if (c >= '0' && c <= '9')
			digit = (unsigned int)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			digit = (unsigned int)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			digit = (unsigned int)(c - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - digit) / base)
			return false;
		v = v * base + digit;
	}
	*out = v;
	return true;
}

static bool word_to_u32(struct word w, u32 max, u32 *out)
{
	u64 v;

	if (!word_to_u64(w, &v) || v > max)
		return false;
	*out = (u32)v;
	return true;
}

/* Splits "a:b" at the first ':'; tail is empty when there is none. */
static void word_split(struct word w, char sep, struct word *head, struct word *tail)
{
	size_t i = 0;

	while (i < w.len && w.s[i] != sep)
		i++;
	*head = (struct word){ w.s, i };
	*tail = i < w.len ? (struct word){ w.s + i + 1, w.len - i - 1 } : (struct word){ w.s + w.len, 0 };
}

static bool copy_word(struct word w, char *dst, size_t size)
{
	if (w.len == 0 || w.len >= size)
		return false;
	for (size_t i = 0; i < w.len; i++)
		dst[i] = w.s[i];
	dst[w.len] = '\0';
	return true;
}

/* resume=KIND:N[:PART]: N is a disk index of that kind, or the BIOS drive number. */
static const struct {
	const char *prefix;
	enum jb_resume_kind kind;
} resume_disks[] = {
	{ "ahci:", RESUME_AHCI },
	{ "nvme:", RESUME_NVME },
	{ "virtio:", RESUME_VIRTIO },
	{ "bios:", RESUME_BIOS },
};

static const struct {
	const char *name;
	enum jb_driver driver;
} drivers[] = {
	{ "auto", DRIVER_AUTO }, { "ahci", DRIVER_AHCI },     { "nvme", DRIVER_NVME },
	{ "virtio", DRIVER_VIRTIO }, { "bios", DRIVER_BIOS },
};

static bool parse_driver(struct word v, struct jb_options *o)
{
	for (size_t i = 0; i < JB_ARRAY_LEN(drivers); i++)
		if (word_is(v, drivers[i].name)) {
			o->driver = drivers[i].driver;
			return true;
		}
	return false;
}

static bool parse_resume(struct word v, struct jb_options *o)
{
	struct word rest, unit, part;

	if (word_is(v, "auto")) {
		o->resume = RESUME_AUTO;
		return true;
	}
	if (word_starts(v, "PARTUUID=", &rest)) {
		o->resume = RESUME_PARTUUID;
		return copy_word(rest, o->resume_name, sizeof(o->resume_name));
	}
	if (word_starts(v, "PARTLABEL=", &rest)) {
		o->resume = RESUME_PARTLABEL;
		return copy_word(rest, o->resume_name, sizeof(o->resume_name));
	}
	for (size_t i = 0;; i++) {
		if (i == JB_ARRAY_LEN(resume_disks))
			return false;
		if (word_starts(v, resume_disks[i].prefix, &rest)) {
			o->resume = resume_disks[i].kind;
			break;
		}
	}
	word_split(rest, ':', &unit, &part);
	if (!word_to_u32(unit, 0xff, &o->resume_unit))
		return false;
	o->resume_part = 0;
	return part.len == 0 || (word_to_u32(part, 128, &o->resume_part) && o->resume_part > 0);
}

static bool parse_console(struct word v, struct jb_options *o)
{
	if (word_is(v, "vga"))
		o->console = JB_CONSOLE_VGA;
	else if (word_is(v, "serial"))
		o->console = JB_CONSOLE_SERIAL;
	else if (word_is(v, "both"))
		o->console = JB_CONSOLE_VGA | JB_CONSOLE_SERIAL;
	else
		return false;
	return true;
}

static bool parse_serial(struct word v, struct jb_options *o)
{
	struct word port, baud;
	u32 p, b = o->serial_baud;

	word_split(v, ',', &port, &baud);
	if (!word_to_u32(port, 0xffff, &p) || p == 0)
		return false;
	if (baud.len && (!word_to_u32(baud, 115200, &b) || b < 50))
		return false;
	o->serial_port = (u16)p;
	o->serial_baud = b;
	return true;
}

static void note_unknown(struct jb_options *o, struct word w)
{
	size_t used = 0;

	while (o->unknown[used])
		used++;
	if (used && used + 1 < sizeof(o->unknown))
		o->unknown[used++] = ' ';
	for (size_t i = 0; i < w.len && used + 1 < sizeof(o->unknown); i++)
		o->unknown[used++] = w.s[i];
	o->unknown[used] = '\0';
}

/* Returns false when a known key has a bad value; unknown keys are noted, not fatal. */
static bool parse_word(struct word w, struct jb_options *o)
{
	struct word key, v;

	word_split(w, '=', &key, &v);
	if (word_is(w, "keep")) {
		o->keep = true;
	} else if (word_is(w, "dryrun")) {
		o->dryrun = true;
	} else if (word_is(w, "nosmp")) {
		o->nosmp = true;
	} else if (word_is(key, "resume")) {
		return parse_resume(v, o);
	} else if (word_is(key, "resume_offset")) {
		return word_to_u64(v, &o->resume_offset) && o->resume_offset < (UINT64_MAX >> 9);
	} else if (word_is(key, "entry")) {
		o->entry_set = word_to_u64(v, &o->entry);
		return o->entry_set;
	} else if (word_is(key, "mode")) {
		if (word_is(v, "32"))
			o->mode = MODE_32;
		else if (word_is(v, "64"))
			o->mode = MODE_64;
		else if (word_is(v, "auto"))
			o->mode = MODE_AUTO;
		else
			return false;
	} else if (word_is(key, "pae")) {
		if (!word_is(v, "0") && !word_is(v, "1"))
			return false;
		o->pae = v.s[0] - '0';
	} else if (word_is(key, "driver")) {
		return parse_driver(v, o);
	} else if (word_is(key, "verify")) {
		if (word_is(v, "on"))
			o->verify = VERIFY_ON;
		else if (word_is(v, "off"))
			o->verify = VERIFY_OFF;
		else
			return false;
	} else if (word_is(key, "onerror")) {
		if (word_is(v, "halt"))
			o->onerror = ONERROR_HALT;
		else if (word_is(v, "reboot"))
			o->onerror = ONERROR_REBOOT;
		else
			return false;
	} else if (word_is(key, "console")) {
		return parse_console(v, o);
	} else if (word_is(key, "serial")) {
		return parse_serial(v, o);
	} else {
		note_unknown(o, w);
	}
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int cmdline_parse(const char *cmdline, struct jb_options *o, struct jb_diag *d)
{
	const char *p = cmdline ? cmdline : "";
	bool first = true;
	int rc = 0;

	/* A bad word does not stop the parse: onerror= and console= after it still apply. */
	for (;;) {
		while (is_space(*p))
			p++;
		if (!*p)
			return rc;
		struct word w = { p, 0 };

		while (p[w.len] && !is_space(p[w.len]))
			w.len++;
		p += w.len;

		bool has_eq = false;

		for (size_t i = 0; i < w.len; i++)
			has_eq |= w.s[i] == '=';
		bool path_word = first && !has_eq && !word_is(w, "keep") && !word_is(w, "dryrun") &&
				 !word_is(w, "nosmp");

		first = false;
		if (path_word)
			continue;
		if (!parse_word(w, o) && rc == 0)
			rc = diag_fail(d, -JB_ECMDLINE, "bad value in '%.*s'; docs/cmdline.md lists each key's values",
				       (int)w.len, w.s);
	}
}
