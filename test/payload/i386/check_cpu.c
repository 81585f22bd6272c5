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

static const char *const gpr_names[] = { "EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP" };

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
	check_descriptor_flat(s->gdt_base, s->gdt_limit, JBT_SEL_CODE32, true);
	check_descriptor_flat(s->gdt_base, s->gdt_limit, JBT_SEL_CODE32_ALT, true);
	check_descriptor_flat(s->gdt_base, s->gdt_limit, JBT_SEL_DATA32, false);
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
	for (u32 i = 0; i < JB_ARRAY_LEN(s->gpr); i++)
		if (s->gpr[i])
			jbt_problem("%s=0x%08x at entry: jumpback clears the general registers",
				    gpr_names[i], s->gpr[i]);
	jbt_printf("jbtest: state %s: CR0=0x%08x CR4=0x%08x EFLAGS=0x%08x CS=0x%04x DS=0x%04x"
		   " ES=0x%04x FS=0x%04x GS=0x%04x SS=0x%04x ESP=0x%08x [ESP]=0x%08x"
		   " GDTR=0x%08x/0x%x\n",
		   jbt_problem_count() == before ? "ok" : "bad", s->cr0, s->cr4, s->eflags, s->cs,
		   s->ds, s->es, s->fs, s->gs, s->ss, s->esp, s->ret, s->gdt_base, s->gdt_limit);
}
