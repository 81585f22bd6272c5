/* IDT with printing fault handlers, halt and reboot. Intel SDM vol. 3 ch. 6. */
#include "cpu.h"

#include "fatal.h"

struct idt_gate {
	u16 offset_lo;
	u16 selector;
	u8 zero;
	u8 flags; /* 0x8E: present, ring 0, 32-bit interrupt gate */
	u16 offset_hi;
} __attribute__((packed));

struct idt_desc {
	u16 limit;
	u32 base;
} __attribute__((packed));

#define IDT_VECTORS 32

extern const u32 isr_table[IDT_VECTORS]; /* boot/isr.asm */
static struct idt_gate idt[IDT_VECTORS];

static const char *const exception_names[IDT_VECTORS] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 error", "alignment check", "machine check",
	"SIMD error", "virtualization", "control protection",
};

static void cpu_idt_load(void)
{
	struct idt_desc desc = { sizeof(idt) - 1, (u32)(uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(desc));
}

static struct idt_gate gate_to(const void *handler)
{
	return (struct idt_gate){
		.offset_lo = (u16)(uintptr_t)handler,
		.selector = SEL_CODE32,
		.flags = 0x8E,
		.offset_hi = (u16)((uintptr_t)handler >> 16),
	};
}

void cpu_idt_load_wakeup(u8 wake, const void *wake_handler, u8 spurious,
			 const void *spurious_handler)
{
	static struct idt_gate idt_helper[256];
	struct idt_desc desc = { sizeof(idt_helper) - 1, (u32)(uintptr_t)idt_helper };

	for (u32 v = 0; v < IDT_VECTORS; v++)
		idt_helper[v] = idt[v];
	idt_helper[wake] = gate_to(wake_handler);
	idt_helper[spurious] = gate_to(spurious_handler);
	__asm__ volatile("lidt %0" : : "m"(desc));
}

void cpu_idt_init(void)
{
	for (u32 v = 0; v < IDT_VECTORS; v++)
		idt[v] = gate_to((const void *)(uintptr_t)isr_table[v]);
	cpu_idt_load();
}

void idt_fault(const struct fault_frame *f);

void idt_fault(const struct fault_frame *f)
{
	u32 cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	const char *name = f->vector < IDT_VECTORS && exception_names[f->vector]
				   ? exception_names[f->vector]
				   : "reserved";

	fatal_fmt(-JB_EFAULT,
		  "CPU exception %u (%s), error code 0x%x at EIP 0x%08x (CS 0x%x, EFLAGS 0x%x,"
		  " CR2 0x%x, EAX 0x%x, ESP 0x%x)",
		  f->vector, name, f->error, f->eip, f->cs, f->eflags, cr2, f->eax,
		  f->esp_at_pushad);
}

bool cpu_has_long_mode(void)
{
	u32 a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u));
	if (a < 0x80000001u)
		return false;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001u));
	return d & (1u << 29); /* LM: Intel SDM vol. 2A, CPUID leaf 80000001h EDX bit 29 */
}

void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void cpu_reboot(void)
{
	/* Keyboard controller pulse reset line; wait (bounded) for its input buffer first. */
	for (u32 i = 0; i < 100000 && (inb(0x64) & 0x02); i++)
		cpu_relax();
	outb(0x64, 0xFE);
	/* Fallback: PCI reset control register (0xCF9), then a triple fault via an empty IDT. */
	outb(0xCF9, 0x02);
	outb(0xCF9, 0x06);
	struct idt_desc empty = { 0, 0 };

	__asm__ volatile("lidt %0; int3" : : "m"(empty));
	cpu_halt_forever();
}
