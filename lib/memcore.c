/*
 * Kernel A's memory as an ELF core without /proc/vmcore: kernel B's command line and iomem,
 * the segments to keep, the new headers, kernel A's low memory (include/memcore.h). Pure.
 */
#include "memcore.h"

#include "le.h"

#define ELFCORE_HDR_SCAN UINT64_MAX /* kexec-tools' p_offset is a physical address: no bound */

/* ---- kernel B's command line --------------------------------------------------------- */

struct span {
	const char *s;
	size_t len;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The next word at or after *at, split at spaces outside double quotes (Linux's next_arg). */
static bool word_next(const char *s, size_t len, size_t *at, struct span *w)
{
	size_t i = *at;
	bool quoted = false;

	while (i < len && is_space(s[i]))
		i++;
	if (i == len || s[i] == '\0')
		return false;
	w->s = s + i;
	for (; i < len && s[i] != '\0' && (quoted || !is_space(s[i])); i++)
		if (s[i] == '"')
			quoted = !quoted;
	w->len = (size_t)(s + i - w->s);
	*at = i;
	return true;
}

/* The value of `key=value` (quotes around the word or the value dropped), or false. */
static bool word_value(struct span w, const char *key, struct span *v)
{
	size_t k = 0;

	if (w.len && w.s[0] == '"') {
		w.s++;
		w.len--;
	}
	if (w.len && w.s[w.len - 1] == '"')
		w.len--;
	for (; key[k]; k++)
		if (k >= w.len || w.s[k] != key[k])
			return false;
	if (k >= w.len || w.s[k] != '=')
		return false;
	*v = (struct span){ w.s + k + 1, w.len - k - 1 };
	if (v->len && v->s[0] == '"') {
		v->s++;
		v->len--;
	}
	return true;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Digits of base from v.s[*i] on; false when there is none or the value passes 64 bits. */
static bool digits_parse(struct span v, size_t *i, unsigned int base, u64 *out)
{
	size_t start = *i;
	u64 x = 0;

	for (; *i < v.len && (unsigned int)digit_value(v.s[*i]) < base; (*i)++) {
		unsigned int dv = (unsigned int)digit_value(v.s[*i]);

		if (x > (UINT64_MAX - dv) / base)
			return false;
		x = x * base + dv;
	}
	*out = x;
	return *i > start;
}

/*
 * Linux's memparse (lib/cmdline.c): a number in C's base-0 syntax (0x hex, a leading 0 octal,
 * else decimal) and one optional suffix K, M, G, T, P or E, each a factor of 1024.
 */
static bool memparse(struct span v, size_t *i, u64 *out)
{
	static const char suffixes[] = "kmgtpe";
	unsigned int base = 10;
	u64 x;

	if (*i + 2 < v.len && v.s[*i] == '0' && (v.s[*i + 1] | 0x20) == 'x' &&
	    digit_value(v.s[*i + 2]) < 16) {
		base = 16;
		*i += 2;
	} else if (*i < v.len && v.s[*i] == '0') {
		base = 8;
	}
	if (!digits_parse(v, i, base, &x))
		return false;
	for (unsigned int k = 0; *i < v.len && suffixes[k]; k++) {
		if ((v.s[*i] | 0x20) != suffixes[k])
			continue;
		if (x > UINT64_MAX >> 10 * (k + 1))
			return false;
		x <<= 10 * (k + 1);
		(*i)++;
		break;
	}
	*out = x;
	return true;
}

/* `[size@]addr` as setup_elfcorehdr reads it, but the whole value must be used. */
static bool elfcorehdr_parse(struct span v, u64 *addr, u64 *size)
{
	size_t i = 0;
	u64 x;

	if (!memparse(v, &i, &x))
		return false;
	*size = 0;
	if (i < v.len && v.s[i] == '@') {
		i++;
		*size = x;
		if (!memparse(v, &i, &x))
			return false;
	}
	*addr = x;
	return i == v.len;
}

/* 0x hex or decimal, all of it (kexec-tools' purgatory writes "0x%lx"). */
static bool entry_parse(struct span v, u64 *out)
{
	size_t i = 0;
	unsigned int base = 10;

	if (v.len > 2 && v.s[0] == '0' && (v.s[1] | 0x20) == 'x') {
		base = 16;
		i = 2;
	}
	return digits_parse(v, &i, base, out) && i == v.len;
}

int memcore_cmdline_parse(const char *s, size_t len, struct memcore_cmdline *out,
			  struct jb_diag *d)
{
	struct span w, v;
	size_t at = 0;

	*out = (struct memcore_cmdline){ 0 };
	while (word_next(s, len, &at, &w)) {
		if (w.len == 2 && w.s[0] == '-' && w.s[1] == '-')
			break; /* the rest is init's command line */
		if (word_value(w, "elfcorehdr", &v)) {
			if (!elfcorehdr_parse(v, &out->elfcorehdr, &out->elfcorehdr_size))
				return diag_fail(d, -JB_ECMDLINE,
						 "elfcorehdr=%.*s is not [SIZE@]ADDR (a number with an"
						 " optional K, M or G suffix)",
						 (int)(v.len < 60 ? v.len : 60), v.s);
			out->has_elfcorehdr = true;
		} else if (word_value(w, "kexec_jump_back_entry", &v)) {
			if (!entry_parse(v, &out->entry))
				return diag_fail(d, -JB_ECMDLINE,
						 "kexec_jump_back_entry=%.*s is not a number (0x hex or"
						 " decimal)",
						 (int)(v.len < 60 ? v.len : 60), v.s);
			out->has_entry = true;
		}
	}
	return 0;
}

/* ---- kernel B's /proc/iomem ------------------------------------------------------------ */

#define IOMEM_RAM_NAME "System RAM"

/* Hex digits (no 0x), at most 16, stopping at the first non-digit. */
static bool hex_parse(const char *s, size_t len, size_t *i, u64 *out)
{
	size_t start = *i;
	u64 x = 0;

	for (; *i < len && digit_value(s[*i]) < 16; (*i)++) {
		if (*i - start == 16)
			return false;
		x = x << 4 | (u64)digit_value(s[*i]);
	}
	*out = x;
	return *i > start;
}

/* "start-end : name" of a top-level line [0, len); false when it is not that shape. */
static bool iomem_line(const char *s, size_t len, u64 *start, u64 *end, struct span *name)
{
	size_t i = 0;

	if (!hex_parse(s, len, &i, start) || i == len || s[i++] != '-' ||
	    !hex_parse(s, len, &i, end))
		return false;
	if (len - i < 3 || s[i] != ' ' || s[i + 1] != ':' || s[i + 2] != ' ')
		return false;
	*name = (struct span){ s + i + 3, len - i - 3 };
	while (name->len && is_space(name->s[name->len - 1]))
		name->len--;
	return true;
}

static bool span_is(struct span a, const char *lit)
{
	size_t i = 0;

	for (; i < a.len; i++)
		if (lit[i] != a.s[i])
			return false;
	return lit[i] == '\0';
}

int memcore_iomem_parse(const char *text, size_t len, struct ram_map *out, struct jb_diag *d)
{
	struct mem_entry e[RAM_MAX_RANGES];
	u32 n = 0, lineno = 0;
	bool all_zero = true;

	out->n = 0;
	for (size_t at = 0; at < len;) {
		size_t eol = at;
		u64 start, end;
		struct span name;

		while (eol < len && text[eol] != '\n')
			eol++;
		lineno++;
		/* Children are indented; only top-level lines are RAM of the machine. */
		bool top = eol > at && !is_space(text[at]);

		if (top && iomem_line(text + at, eol - at, &start, &end, &name) &&
		    span_is(name, IOMEM_RAM_NAME)) {
			if (end < start)
				return diag_fail(d, -JB_EMEMMAP,
						 "iomem line %u: System RAM ends at 0x%llx, before its"
						 " start 0x%llx",
						 lineno, (unsigned long long)end, (unsigned long long)start);
			if (n == RAM_MAX_RANGES)
				return diag_fail(d, -JB_ETOOBIG, "more than %u System RAM lines",
						 RAM_MAX_RANGES);
			/* end is inclusive; a range up to 2^64 - 1 loses its last byte. */
			e[n++] = (struct mem_entry){ start,
						     end - start + (end < UINT64_MAX ? 1 : 0),
						     MEM_TYPE_USABLE };
			all_zero = all_zero && start == 0 && end == 0;
		}
		at = eol + 1;
	}
	if (n == 0)
		return diag_fail(d, -JB_EMEMMAP, "no top-level System RAM line");
	if (all_zero)
		return diag_fail(d, -JB_EMEMMAP,
				 "every System RAM range reads as 0 (the kernel hides the addresses"
				 " from users other than root)");
	return ram_map_build(e, n, out, d);
}

/* ---- the core: which segments, the new headers ---------------------------------------- */

int memcore_headers_len(const u8 *buf, size_t len, u64 *need, struct jb_diag *d)
{
	int rc = elfcore_headers_len(buf, len, ELFCORE_HDR_SCAN, need, d);

	if (rc)
		return rc;
	if (*need > MEMCORE_HEADERS_MAX)
		return diag_fail(d, -JB_ETOOBIG,
				 "the program headers end at byte 0x%llx; more than %u KiB is not"
				 " kexec-tools' table",
				 (unsigned long long)*need, MEMCORE_HEADERS_MAX >> 10);
	return 0;
}

static void ehdr_write(struct memcore *mc)
{
	u8 *h = mc->hdr;
	bool is64 = mc->in.elf_class == 64;
	u16 ehsize = is64 ? sizeof(struct elf64_ehdr) : sizeof(struct elf32_ehdr);
	u16 phentsize = is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);

	for (size_t i = 0; i < sizeof(mc->hdr); i++)
		h[i] = 0;
	h[0] = ELF_MAG[0];
	h[1] = ELF_MAG[1];
	h[2] = ELF_MAG[2];
	h[3] = ELF_MAG[3];
	h[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
	h[EI_DATA] = ELFDATA2LSB;
	h[EI_VERSION] = 1;
	put16(h + 16, ET_CORE);
	put16(h + 18, mc->in.machine);
	put32(h + 20, 1); /* e_version */
	if (is64) {
		put64(h + 32, ehsize); /* e_phoff: the table follows the header */
		put16(h + 52, ehsize);
		put16(h + 54, phentsize);
		put16(h + 56, (u16)mc->nseg);
	} else {
		put32(h + 28, ehsize);
		put16(h + 40, ehsize);
		put16(h + 42, phentsize);
		put16(h + 44, (u16)mc->nseg);
	}
}

/* Kept segment k's program header, with p_vaddr, p_flags and p_align from the original. */
static void phdr_write(struct memcore *mc, u32 k, const u8 *orig)
{
	const struct memcore_seg *s = &mc->seg[k];

	if (mc->in.elf_class == 64) {
		u8 *p = mc->hdr + sizeof(struct elf64_ehdr) + (u64)k * sizeof(struct elf64_phdr);

		put32(p, PT_LOAD);
		put32(p + 4, le32(orig + 4));   /* p_flags */
		put64(p + 8, s->offset);
		put64(p + 16, le64(orig + 16)); /* p_vaddr */
		put64(p + 24, s->paddr);
		put64(p + 32, s->size);
		put64(p + 40, s->size);
		put64(p + 48, le64(orig + 48)); /* p_align */
	} else {
		u8 *p = mc->hdr + sizeof(struct elf32_ehdr) + (u64)k * sizeof(struct elf32_phdr);

		/* memcore_build checked that every value fits 32 bits. */
		put32(p, PT_LOAD);
		put32(p + 4, (u32)s->offset);
		put32(p + 8, le32(orig + 8)); /* p_vaddr */
		put32(p + 12, (u32)s->paddr);
		put32(p + 16, (u32)s->size);
		put32(p + 20, (u32)s->size);
		put32(p + 24, le32(orig + 24)); /* p_flags */
		put32(p + 28, le32(orig + 28)); /* p_align */
	}
}

static u64 page_align_up(u64 x)
{
	return (x + MEMCORE_PAGE_SIZE - 1) & ~(u64)(MEMCORE_PAGE_SIZE - 1);
}

u32 memcore_drop_inverted(u8 *buf, size_t len, struct memcore_inverted *out, u32 max)
{
	if (len < ELFCORE_IDENT_LEN || (buf[4] != 1 && buf[4] != 2))
		return 0;
	bool is64 = buf[4] == 2;
	u64 phoff = is64 ? le64(buf + 32) : le32(buf + 28);
	u64 phentsize = is64 ? le16(buf + 54) : le16(buf + 42);
	u64 phnum = is64 ? le16(buf + 56) : le16(buf + 44);
	u64 limit = is64 ? 1ull << 52 : 1ull << 32;
	u64 min_ent = is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);
	u32 n = 0;

	if (phentsize < min_ent || phoff > len || phnum > (len - phoff) / phentsize)
		return 0;
	for (u64 i = 0; i < phnum; i++) {
		u8 *p = buf + phoff + i * phentsize;
		u64 paddr = is64 ? le64(p + 24) : le32(p + 12);
		u64 memsz = is64 ? le64(p + 40) : le32(p + 20);

		if (le32(p) != PT_LOAD || (paddr < limit && memsz <= limit - paddr))
			continue;
		put32(p, PT_NULL);
		if (n < max)
			out[n] = (struct memcore_inverted){ (u32)i, paddr, memsz };
		n++;
	}
	return n;
}

int memcore_build(const u8 *buf, size_t len, const struct ram_map *b_ram, struct memcore *mc,
		  struct jb_diag *d)
{
	int rc = elfcore_parse(buf, len, ELFCORE_HDR_SCAN, &mc->in, d);

	if (rc)
		return rc;
	bool is64 = mc->in.elf_class == 64;
	u64 phoff = is64 ? le64(buf + 32) : le32(buf + 28);
	u64 phentsize = is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);
	u64 limit = is64 ? UINT64_MAX : UINT32_MAX;

	mc->nseg = 0;
	mc->nskip = 0;
	for (u32 i = 0; i < mc->in.nseg; i++) {
		const struct elf_seg *s = &mc->in.seg[i];

		/* elfcore_parse keeps paddr + memsz below 2^52: no sum here can wrap. */
		mc->skipped[i] = ram_map_contains(b_ram, s->paddr, s->paddr + s->memsz);
		if (mc->skipped[i]) {
			mc->nskip++;
			continue;
		}
		mc->seg[mc->nseg++] = (struct memcore_seg){ .paddr = s->paddr, .size = s->memsz,
							    .phdr_index = s->phdr_index };
	}
	if (mc->nseg == 0)
		return diag_fail(d, -JB_EBADIMG,
				 "all %u PT_LOAD segments lie inside kernel B's own RAM: none of"
				 " them is kernel A's memory",
				 mc->in.nseg);
	mc->hdr_len = (is64 ? sizeof(struct elf64_ehdr) : sizeof(struct elf32_ehdr)) +
		      mc->nseg * phentsize;
	/* At most 512 segments of below 2^52 bytes each: the offsets stay far below 2^64. */
	u64 at = mc->hdr_len;

	for (u32 k = 0; k < mc->nseg; k++) {
		struct memcore_seg *s = &mc->seg[k];

		s->offset = page_align_up(at);
		if (s->offset > limit || s->size > limit - s->offset)
			return diag_fail(d, -JB_ETOOBIG,
					 "program header %u: its data would end past 4 GiB of the core,"
					 " beyond what ELF32 offsets hold",
					 s->phdr_index);
		at = s->offset + s->size;
	}
	mc->size = at;
	ehdr_write(mc);
	for (u32 k = 0; k < mc->nseg; k++)
		phdr_write(mc, k, buf + phoff + (u64)mc->seg[k].phdr_index * phentsize);
	return 0;
}

/* ---- kernel A's low memory --------------------------------------------------------------- */

/* From lo (below hi), the end of the run that lies all inside, or all outside, kernel B's RAM. */
static u64 run_end(const struct ram_map *ram, u64 lo, u64 hi, bool *inside)
{
	u64 end = hi;

	*inside = false;
	for (u32 i = 0; i < ram->n; i++) {
		const struct mem_range *r = &ram->r[i];

		if (lo >= r->start && lo < r->end) {
			*inside = true;
			return r->end < hi ? r->end : hi;
		}
		if (r->start > lo && r->start < end)
			end = r->start;
	}
	return end;
}

static bool bytes_differ(const u8 *x, const u8 *y, u64 lo, u64 hi)
{
	for (u64 i = lo; i < hi; i++)
		if (x[i] != y[i])
			return true;
	return false;
}

struct page_scan {
	bool checked;  /* a kept segment has bytes in the page */
	bool replaced; /* some of them differed inside kernel B's RAM */
	bool bad;      /* some of them differed outside it */
};

/* Looks at page [lo, hi) where kept segments lie; with apply, copies in kernel A's bytes. */
static struct page_scan page_scan(const struct memcore *mc, const struct ram_map *b_ram,
				  u8 *now, const u8 *a, u64 page_lo, u64 page_hi, bool apply)
{
	struct page_scan r = { false, false, false };

	for (u32 k = 0; k < mc->nseg; k++) {
		const struct memcore_seg *s = &mc->seg[k];
		u64 lo = s->paddr > page_lo ? s->paddr : page_lo;
		u64 hi = s->paddr + s->size < page_hi ? s->paddr + s->size : page_hi;

		if (lo >= hi)
			continue;
		r.checked = true;
		for (u64 end; lo < hi; lo = end) {
			bool inside;

			end = run_end(b_ram, lo, hi, &inside);
			if (!bytes_differ(now, a, lo, end))
				continue;
			if (!inside) {
				r.bad = true;
				continue;
			}
			r.replaced = true;
			for (u64 i = lo; apply && i < end; i++)
				now[i] = a[i];
		}
	}
	return r;
}

int memcore_lowmem_merge(const struct memcore *mc, const struct ram_map *b_ram, u8 *now,
			 const u8 *a, u64 len, struct memcore_low *res, struct jb_diag *d)
{
	*res = (struct memcore_low){ 0, 0, 0 };
	/* First look only, so that a refusal leaves now as it was. */
	for (u64 p = 0; p < len; p += MEMCORE_PAGE_SIZE) {
		u64 hi = len - p < MEMCORE_PAGE_SIZE ? len : p + MEMCORE_PAGE_SIZE;
		struct page_scan r = page_scan(mc, b_ram, now, a, p, hi, false);

		if (r.bad) {
			res->bad_page = p;
			return diag_fail(d, -JB_EMISMATCH,
					 "low memory page 0x%llx differs from kernel A's copy and is"
					 " not kernel B's RAM",
					 (unsigned long long)p);
		}
		res->checked += r.checked;
		res->replaced += r.replaced;
	}
	for (u64 p = 0; p < len && res->replaced; p += MEMCORE_PAGE_SIZE) {
		u64 hi = len - p < MEMCORE_PAGE_SIZE ? len : p + MEMCORE_PAGE_SIZE;

		page_scan(mc, b_ram, now, a, p, hi, true);
	}
	return 0;
}
