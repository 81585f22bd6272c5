/*
 * The 64-bit payload's IDT (SDM vol. 3, 6.14): a CPU exception in fill or check mode, above
 * all a page fault on a region jumpback did not map, prints "jbtest: FAIL ..." and exits QEMU
 * with the fail status instead of triple-faulting into a silent reboot.
 */
#include "cpu64.h"
#include "payload.h"

#define IDT_VECTORS 32
#define FAULT_STUB_SIZE 16 /* mirrored in x86_64/idt_stubs.asm */
#define GATE_INTERRUPT64 0x8E /* present, DPL 0, 64-bit interrupt gate: IF stays 0 */
#define VECTOR_PAGE_FAULT 14

struct idt_gate {
	u16 offset_lo, selector;
	u8 ist, type;
	u16 offset_mid;
	u32 offset_hi, reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate");

/* Built by fault_common in x86_64/idt_stubs.asm. */
struct fault_frame {
	u64 vector, error, rip, cs, rflags, rsp, ss;
};

extern const u8 jbt_fault_stubs[];
void jbt_fault(const struct fault_frame *f) __attribute__((noreturn));

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));

/* Gates use CS 0x10: the payload's GDT in fill mode, jumpback's (Linux layout) in check mode. */
void jbt_idt_install(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };

	for (u32 v = 0; v < IDT_VECTORS; v++) {
		u64 a = (uintptr_t)jbt_fault_stubs + (u64)v * FAULT_STUB_SIZE;

		idt[v] = (struct idt_gate){ .offset_lo = (u16)a, .selector = JBT_SEL_CODE64,
					    .type = GATE_INTERRUPT64, .offset_mid = (u16)(a >> 16),
					    .offset_hi = (u32)(a >> 32) };
	}
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void jbt_fault(const struct fault_frame *f)
{
	if (f->vector == VECTOR_PAGE_FAULT)
		jbt_fail("page fault at 0x%llx (RIP 0x%llx, error 0x%llx): that address is not"
			 " mapped as promised",
			 (unsigned long long)read_cr2(), (unsigned long long)f->rip,
			 (unsigned long long)f->error);
	jbt_fail("CPU exception %llu at RIP 0x%llx (error 0x%llx, RSP 0x%llx)",
		 (unsigned long long)f->vector, (unsigned long long)f->rip,
		 (unsigned long long)f->error, (unsigned long long)f->rsp);
}
