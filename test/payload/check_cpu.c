/*
 * Check mode, part 1: the CPU state of a 32-bit hand-off (DESIGN.md section 5): flat 0x10/0x18
 * segments, paging off, IF=0, DF=0, CR4.PAE as asked, return address and stack not restored over.
 */
#include "payload.h"

#define CR0_PE (1u << 0)
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)
#define EFLAGS_DF (1u << 10)
#define EFLAGS_IF (1u << 9)

/* Descriptor fields (Intel SDM vol. 3, 3.4.5). */
#define DESC_ACCESS_P 0x80
#define DESC_ACCESS_S 0x10 /* code or data, not system */
#define DESC_ACCESS_CODE 0x08 /* executable */
#define DESC_ACCESS_W 0x02    /* for data: writable */
#define DESC_FLAG_G 0x8
#define DESC_FLAG_DB 0x4
#define DESC_FLAG_L 0x2

static bool in_range(u32 addr, u64 start, u64 len)
{
	return addr >= start && addr - start < len;
}

/* An address the payload or the restored regions own would have been overwritten. */
static void check_outside(const char *what, u32 addr, const struct jbt_manifest *m)
{
	u32 start = (u32)(uintptr_t)jbt_payload_start;
	u32 end = (u32)(uintptr_t)jbt_payload_end;

	if (in_range(addr, start, end - start))
		jbt_problem("%s 0x%08x lies inside the payload 0x%08x-0x%08x", what, addr, start,
			    end);
	if (m->magic != JBT_MANIFEST_MAGIC || m->nregions > JBT_MAX_REGIONS)
		return;
	for (u32 i = 0; i < m->nregions; i++)
		if (in_range(addr, m->region[i].addr, m->region[i].len))
			jbt_problem("%s 0x%08x lies inside restored region %u (0x%llx+0x%llx)",
				    what, addr, i, (unsigned long long)m->region[i].addr,
				    (unsigned long long)m->region[i].len);
}

static void check_selector(const char *name, u16 got, u16 want)
{
	if (got != want)
		jbt_problem("%s=0x%04x, expected 0x%02x", name, got, want);
}

/* Base 0, limit 4 GiB (G=1), 32-bit (D/B=1, L=0), present; executable code or writable data. */
static bool descriptor_is_flat(u32 base, u32 limit, u32 access, u32 flags, bool code)
{
	u32 size_flags = DESC_FLAG_G | DESC_FLAG_DB;
	/* For code, bit 1 only says readable: not part of the promise. */
	u32 type_bits = DESC_ACCESS_P | DESC_ACCESS_S | DESC_ACCESS_CODE |
			(code ? 0 : DESC_ACCESS_W);
	u32 type = DESC_ACCESS_P | DESC_ACCESS_S | (code ? DESC_ACCESS_CODE : DESC_ACCESS_W);

	if (base != 0 || limit != 0xFFFFF)
		return false;
	if ((flags & (size_flags | DESC_FLAG_L)) != size_flags)
		return false;
	return (access & type_bits) == type;
}

/* The descriptor behind `sel` in the GDT jumpback left loaded. */
static void check_descriptor(const struct jbt_entry_state *s, u16 sel, bool code)
{
	if ((u32)sel + 7 > s->gdt_limit) {
		jbt_problem("GDT limit 0x%x does not hold selector 0x%02x", s->gdt_limit, sel);
		return;
	}
	const volatile u32 *d = (const volatile u32 *)(uintptr_t)(s->gdt_base + sel);
	u32 lo = d[0], hi = d[1];
	u32 base = lo >> 16 | (hi & 0xFF) << 16 | (hi & 0xFF000000u);
	u32 limit = (lo & 0xFFFF) | (hi & 0x000F0000u);
	u32 access = hi >> 8 & 0xFF;
	u32 flags = hi >> 20 & 0xF;

	if (!descriptor_is_flat(base, limit, access, flags, code))
		jbt_problem("GDT[0x%02x] = %08x:%08x (base 0x%x limit 0x%x access 0x%02x"
			    " flags 0x%x) is not a flat 32-bit %s descriptor",
			    sel, hi, lo, base, limit, access, flags, code ? "code" : "data");
}

void check_cpu_state(const struct jbt_entry_state *s, const struct jbt_manifest *m)
{
	u32 before = jbt_problem_count();

	if (!(s->cr0 & CR0_PE))
		jbt_problem("CR0.PE=0: not in protected mode");
	if (s->cr0 & CR0_PG)
		jbt_problem("CR0.PG=1: paging is on");
	check_selector("CS", s->cs, JBT_SEL_CODE32);
	check_selector("DS", s->ds, JBT_SEL_DATA32);
	check_selector("ES", s->es, JBT_SEL_DATA32);
	check_selector("FS", s->fs, JBT_SEL_DATA32);
	check_selector("GS", s->gs, JBT_SEL_DATA32);
	check_selector("SS", s->ss, JBT_SEL_DATA32);
	check_descriptor(s, JBT_SEL_CODE32, true);
	check_descriptor(s, JBT_SEL_DATA32, false);
	if (s->eflags & EFLAGS_IF)
		jbt_problem("EFLAGS.IF=1: interrupts enabled at entry");
	if (s->eflags & EFLAGS_DF)
		jbt_problem("EFLAGS.DF=1: direction flag set at entry");
	if (!(s->cr4 & CR4_PAE) != !m->pae)
		jbt_problem("CR4.PAE=%u but the manifest expects pae=%u", s->cr4 & CR4_PAE ? 1 : 0,
			    m->pae);
	if (s->ret == 0)
		jbt_problem("the return address at [ESP] is 0");
	else
		check_outside("return address [ESP]", s->ret, m);
	check_outside("ESP", s->esp, m);
	jbt_printf("jbtest: state %s: CR0=0x%08x CR4=0x%08x EFLAGS=0x%08x CS=0x%04x DS=0x%04x"
		   " ES=0x%04x FS=0x%04x GS=0x%04x SS=0x%04x ESP=0x%08x [ESP]=0x%08x"
		   " GDTR=0x%08x/0x%x\n",
		   jbt_problem_count() == before ? "ok" : "bad", s->cr0, s->cr4, s->eflags, s->cs,
		   s->ds, s->es, s->fs, s->gs, s->ss, s->esp, s->ret, s->gdt_base, s->gdt_limit);
}
