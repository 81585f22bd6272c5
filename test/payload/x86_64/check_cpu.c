/*
 * Check mode, part 1: the CPU state of a 64-bit hand-off (DESIGN.md section 5): long mode with
 * NXE, Linux x86_64's GDT and selectors, Linux's PAT, IF=0, DF=0, 4-level identity paging, and
 * a stack, return address and page tables the restore did not overwrite.
 */
#include "cpu64.h"
#include "payload.h"

static void check_bit(const char *name, u64 value, u64 bit, bool want)
{
	if (!(value & bit) != !want)
		jbt_problem("%s=%u, expected %u", name, want ? 0 : 1, want ? 1 : 0);
}

static const char *const gpr_names[] = { "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R8",
					  "R9",  "R10", "R11", "R12", "R13", "R14", "R15" };

void check_cpu_state(const struct jbt_entry_state *s, const struct jbt_manifest *m)
{
	u32 before = jbt_problem_count();

	check_bit("CR0.PE", s->cr0, CR0_PE, true);
	check_bit("CR0.PG", s->cr0, CR0_PG, true);
	check_bit("CR4.PAE", s->cr4, CR4_PAE, true);
	check_bit("CR4.LA57", s->cr4, CR4_LA57, false);
	check_bit("EFER.LME", s->efer, EFER_LME, true);
	check_bit("EFER.LMA", s->efer, EFER_LMA, true);
	check_bit("EFER.NXE", s->efer, EFER_NXE, true);
	check_selector("CS", s->cs, JBT_SEL_CODE64);
	check_selector("DS", s->ds, JBT_SEL_DATA32);
	check_selector("ES", s->es, JBT_SEL_DATA32);
	check_selector("FS", s->fs, JBT_SEL_DATA32);
	check_selector("GS", s->gs, JBT_SEL_DATA32);
	check_selector("SS", s->ss, JBT_SEL_DATA32);
	/* Kernel A may reload any of these before its own lgdt, so all three must be right. */
	check_descriptor_flat(s->gdt_base, s->gdt_limit, JBT_SEL_CODE32, true);
	check_descriptor_code64(s->gdt_base, s->gdt_limit, JBT_SEL_CODE64);
	check_descriptor_flat(s->gdt_base, s->gdt_limit, JBT_SEL_DATA32, false);
	if (s->pat != PAT_LINUX)
		jbt_problem("IA32_PAT=0x%016llx, expected Linux's 0x%016llx (kernel A does not"
			    " restore it)",
			    (unsigned long long)s->pat, PAT_LINUX);
	check_bit("RFLAGS.IF", s->rflags, RFLAGS_IF, false);
	check_bit("RFLAGS.DF", s->rflags, RFLAGS_DF, false);
	if (s->ret == 0)
		jbt_problem("the return address at [RSP] is 0");
	else
		check_outside("return address [RSP]", s->ret, m);
	check_outside("RSP", s->rsp, m);
	for (u32 i = 0; i < JB_ARRAY_LEN(s->gpr); i++)
		if (s->gpr[i])
			jbt_problem("%s=0x%llx at entry: jumpback clears the general registers",
				    gpr_names[i], (unsigned long long)s->gpr[i]);
	check_outside("CR3 (the PML4)", s->cr3 & PTE_ADDR, m);
	jbt_printf("jbtest: state %s: CR0=0x%llx CR3=0x%llx CR4=0x%llx EFER=0x%llx"
		   " PAT=0x%016llx RFLAGS=0x%llx CS=0x%04x DS=0x%04x ES=0x%04x FS=0x%04x"
		   " GS=0x%04x SS=0x%04x RSP=0x%llx [RSP]=0x%llx GDTR=0x%llx/0x%x\n",
		   jbt_problem_count() == before ? "ok" : "bad", (unsigned long long)s->cr0,
		   (unsigned long long)s->cr3, (unsigned long long)s->cr4,
		   (unsigned long long)s->efer, (unsigned long long)s->pat,
		   (unsigned long long)s->rflags, s->cs, s->ds, s->es, s->fs, s->gs, s->ss,
		   (unsigned long long)s->rsp, (unsigned long long)s->ret,
		   (unsigned long long)s->gdt_base, s->gdt_limit);
	/* The walk below assumes 4-level paging; without it the problem is reported above. */
	if ((s->cr0 & CR0_PG) && (s->cr4 & CR4_PAE) && !(s->cr4 & CR4_LA57) && (s->efer & EFER_LMA))
		check_paging(s->cr3, m);
}
