/*
 * Fill mode's inputs from the Multiboot 1 info (spec 0.6.96 section 3.3): the usable RAM
 * range holding the payload (memory map, else mem_upper), `seed=`, `fill_mb=`, `low`,
 * `selftest`.
 */
#include "multiboot.h"
#include "payload.h"

#define MMAP_TYPE_RAM 1
#define MIB_1 0x100000ull
#define ADDR_4G (1ull << 32)

/* Decimal or 0x hex, the whole word, fitting 32 bits. */
static bool parse_u32(const char *s, size_t len, u32 *out)
{
	u32 base = 10;
	u64 v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		u32 d;

		if (c >= '0' && c <= '9')
			d = (u32)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (u32)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (u32)(c - 'A' + 10);
		else
			return false;
		if (d >= base)
			return false;
		v = v * base + d;
		if (v > 0xFFFFFFFFull)
			return false;
	}
	*out = (u32)v;
	return true;
}

static bool word_is(const char *w, size_t len, const char *key, size_t keylen)
{
	if (len < keylen)
		return false;
	for (size_t i = 0; i < keylen; i++)
		if (w[i] != key[i])
			return false;
	return true;
}

/* The loader put the command line just above the payload, where the pattern goes: copy. */
static void selftest_kind_copy(const char *s, size_t len, struct fill_args *a)
{
	if (len == 0 || len >= sizeof(a->selftest_kind))
		jbt_fail("fill: selftest= wants a kind of 1 to %u characters, not '%.*s'",
			 (u32)sizeof(a->selftest_kind) - 1, (int)len, s);
	for (size_t i = 0; i < len; i++)
		a->selftest_kind[i] = s[i];
	a->selftest_kind[len] = 0;
	a->selftest = true;
}

/* Unknown words (QEMU and GRUB put the kernel path first) are ignored. */
static void cmdline_read(const char *p, struct fill_args *a)
{
	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;

		while (*p && *p != ' ')
			p++;
		size_t len = (size_t)(p - w);

		if (word_is(w, len, "seed=", 5)) {
			if (!parse_u32(w + 5, len - 5, &a->seed))
				jbt_fail("fill: bad seed= value '%.*s' (decimal or 0x hex,"
					 " 32 bits)", (int)len, w);
			a->seed_given = true;
		} else if (word_is(w, len, "fill_mb=", 8)) {
			if (!parse_u32(w + 8, len - 8, &a->fill_mb))
				jbt_fail("fill: bad fill_mb= value '%.*s'", (int)len, w);
			a->fill_mb_given = true;
		} else if (len == 3 && word_is(w, len, "low", 3)) {
			a->fill_low = true;
		} else if (len == 8 && word_is(w, len, "selftest", 8)) {
			a->selftest = true;
		} else if (word_is(w, len, "selftest=", 9)) {
			selftest_kind_copy(w + 9, len - 9, a);
		}
	}
}

static const struct mb1_mmap_entry *mmap_entry(const struct mb1_info *mbi, u32 off)
{
	return (const void *)(uintptr_t)(mbi->mmap_addr + off);
}

/*
 * The usable entry holding the whole payload, minus any reserved entry laid over it
 * (entries may overlap; SeaBIOS under QEMU reserves a page at the top of usable RAM).
 */
static bool mmap_find(const struct mb1_info *mbi, struct fill_args *a)
{
	u64 lo = (uintptr_t)jbt_payload_start, hi = (uintptr_t)jbt_payload_end;
	bool found = false;

	for (u32 off = 0; off + sizeof(struct mb1_mmap_entry) <= mbi->mmap_length;
	     off += mmap_entry(mbi, off)->size + 4) { /* size does not count itself */
		const struct mb1_mmap_entry *e = mmap_entry(mbi, off);

		if (!found && e->type == MMAP_TYPE_RAM && e->addr <= lo && hi <= e->addr + e->len) {
			a->ram_start = e->addr;
			a->ram_end = e->addr + e->len;
			found = true;
		}
	}
	if (!found)
		return false;
	for (u32 off = 0; off + sizeof(struct mb1_mmap_entry) <= mbi->mmap_length;
	     off += mmap_entry(mbi, off)->size + 4) {
		const struct mb1_mmap_entry *e = mmap_entry(mbi, off);
		u64 end = e->addr + e->len;

		if (e->type == MMAP_TYPE_RAM || e->len == 0)
			continue;
		if (e->addr < hi && lo < end)
			jbt_fail("fill: memory map entry 0x%llx-0x%llx (type %u) covers the"
				 " payload", (unsigned long long)e->addr, (unsigned long long)end,
				 e->type);
		if (e->addr >= hi && e->addr < a->ram_end)
			a->ram_end = e->addr;
		if (end <= lo && end > a->ram_start)
			a->ram_start = end;
	}
	return true;
}

/* For `selftest=high` (x86_64/selftest.c): RAM a 64-bit kernel A would own above 4 GiB. */
static void mmap_find_high(const struct mb1_info *mbi, struct fill_args *a)
{
	for (u32 off = 0; off + sizeof(struct mb1_mmap_entry) <= mbi->mmap_length;
	     off += mmap_entry(mbi, off)->size + 4) {
		const struct mb1_mmap_entry *e = mmap_entry(mbi, off);

		if (e->type == MMAP_TYPE_RAM && e->addr >= ADDR_4G && e->len > 0) {
			a->high_start = e->addr;
			a->high_end = e->addr + e->len;
			return;
		}
	}
}

void boot_args_read(u32 mbi_addr, struct fill_args *a)
{
	const struct mb1_info *mbi = (const void *)(uintptr_t)mbi_addr;

	if (mbi->flags & MB1_INFO_CMDLINE)
		cmdline_read((const char *)(uintptr_t)mbi->cmdline, a);
	if (mbi->flags & MB1_INFO_MMAP)
		mmap_find_high(mbi, a);
	if ((mbi->flags & MB1_INFO_MMAP) && mmap_find(mbi, a))
		return;
	if (mbi->flags & MB1_INFO_MEM) {
		a->ram_start = MIB_1;
		a->ram_end = MIB_1 + (u64)mbi->mem_upper * 1024;
		if (a->ram_end >= (uintptr_t)jbt_payload_end)
			return;
	}
	jbt_fail("fill: no usable RAM range holds the payload at 0x%08x-0x%08x"
		 " (Multiboot flags 0x%x)",
		 (u32)(uintptr_t)jbt_payload_start, (u32)(uintptr_t)jbt_payload_end, mbi->flags);
}
