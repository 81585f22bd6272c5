/*
 * Check mode, both hand-offs: the segment selectors and the GDT descriptors behind them in
 * the GDT jumpback left loaded (Intel SDM vol. 3, 3.4.5 descriptor fields; 5.2.1 L and D).
 */
#include "payload.h"

#define DESC_ACCESS_P 0x80
#define DESC_ACCESS_S 0x10 /* code or data, not system */
#define DESC_ACCESS_CODE 0x08 /* executable */
#define DESC_ACCESS_W 0x02    /* for data: writable */
#define DESC_FLAG_G 0x8
#define DESC_FLAG_DB 0x4
#define DESC_FLAG_L 0x2

struct seg_desc {
	u32 lo, hi;
	u32 base, limit, access, flags;
};

void check_selector(const char *name, u16 got, u16 want)
{
	if (got != want)
		jbt_problem("%s=0x%04x, expected 0x%02x", name, got, want);
}

static bool desc_read(u64 gdt_base, u16 gdt_limit, u16 sel, struct seg_desc *d)
{
	if ((u32)sel + 7 > gdt_limit) {
		jbt_problem("GDT limit 0x%x does not hold selector 0x%02x", gdt_limit, sel);
		return false;
	}
	const volatile u32 *p = (const volatile u32 *)(uintptr_t)(gdt_base + sel);

	d->lo = p[0];
	d->hi = p[1];
	d->base = d->lo >> 16 | (d->hi & 0xFF) << 16 | (d->hi & 0xFF000000u);
	d->limit = (d->lo & 0xFFFF) | (d->hi & 0x000F0000u);
	d->access = d->hi >> 8 & 0xFF;
	d->flags = d->hi >> 20 & 0xF;
	return true;
}

/* Base 0, limit 4 GiB (G=1), 32-bit (D/B=1, L=0), present; executable code or writable data. */
static bool descriptor_is_flat(const struct seg_desc *d, bool code)
{
	u32 size_flags = DESC_FLAG_G | DESC_FLAG_DB;
	/* For code, bit 1 only says readable: not part of the promise. */
	u32 type_bits = DESC_ACCESS_P | DESC_ACCESS_S | DESC_ACCESS_CODE |
			(code ? 0 : DESC_ACCESS_W);
	u32 type = DESC_ACCESS_P | DESC_ACCESS_S | (code ? DESC_ACCESS_CODE : DESC_ACCESS_W);

	if (d->base != 0 || d->limit != 0xFFFFF)
		return false;
	if ((d->flags & (size_flags | DESC_FLAG_L)) != size_flags)
		return false;
	return (d->access & type_bits) == type;
}

void check_descriptor_flat(u64 gdt_base, u16 gdt_limit, u16 sel, bool code)
{
	struct seg_desc d;

	if (desc_read(gdt_base, gdt_limit, sel, &d) && !descriptor_is_flat(&d, code))
		jbt_problem("GDT[0x%02x] = %08x:%08x (base 0x%x limit 0x%x access 0x%02x"
			    " flags 0x%x) is not a flat 32-bit %s descriptor",
			    sel, d.hi, d.lo, d.base, d.limit, d.access, d.flags,
			    code ? "code" : "data");
}

/* Long mode ignores base and limit for code; L=1 with D=0 makes it 64-bit (SDM 5.2.1). */
void check_descriptor_code64(u64 gdt_base, u16 gdt_limit, u16 sel)
{
	u32 type_bits = DESC_ACCESS_P | DESC_ACCESS_S | DESC_ACCESS_CODE;
	struct seg_desc d;

	if (!desc_read(gdt_base, gdt_limit, sel, &d))
		return;
	if ((d.access & type_bits) != type_bits ||
	    (d.flags & (DESC_FLAG_L | DESC_FLAG_DB)) != DESC_FLAG_L)
		jbt_problem("GDT[0x%02x] = %08x:%08x (access 0x%02x flags 0x%x) is not a 64-bit"
			    " code descriptor (present code, L=1, D=0)",
			    sel, d.hi, d.lo, d.access, d.flags);
}
