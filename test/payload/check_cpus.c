/*
 * The other CPUs at the hand-off (docs/handoff.md): how many wait for a start-up IPI, the
 * state INIT leaves a CPU in, as jumpback leaves them once a second CPU helped it check. A
 * start-up IPI alone (no INIT first) starts only a CPU in that state: each that starts runs a
 * few real-mode bytes that count it in, then halts. The line is a report, not a verdict: the
 * QEMU tests know what to expect (firmware leaves CPUs otherwise). QEMU's fw_cfg says how
 * many CPUs the machine has.
 */
#include "payload.h"
#include "portio.h"

#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_NB_CPUS 0x05
#define MSR_APIC_BASE 0x1Bu
#define APIC_BASE_EXTD (1u << 10)
#define APIC_BASE_EN (1u << 11)
#define LAPIC_ICR_LO 0x300u
#define LAPIC_ICR_HI 0x310u
#define ICR_PENDING (1u << 12)
#define ICR_STARTUP_ALL_BUT_SELF 0x000C4600u
#define SIPI_PAGE 0x7000u            /* free low RAM once the regions are checked */
#define SIPI_COUNTER (SIPI_PAGE + 0xFF0u)
#define WAIT_TSC_TICKS 3000000000ull /* about a second on the hosts here */

/* lock inc byte [cs:0x0ff0]; cli; hlt; jmp $-2 */
static const u8 sipi_code[] = { 0xF0, 0x2E, 0xFE, 0x06, 0xF0, 0x0F, 0xFA, 0xF4, 0xEB, 0xFD };

static u32 machine_cpus(void)
{
	outw(FW_CFG_SELECTOR, FW_CFG_NB_CPUS);
	u32 lo = inb(FW_CFG_DATA);

	return lo | (u32)inb(FW_CFG_DATA) << 8;
}

void check_other_cpus(void)
{
	u32 cpus = machine_cpus(), lo, hi;

	if (cpus <= 1) {
		jbt_printf("jbtest: other CPUs: none\n");
		return;
	}
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_APIC_BASE));
	if (!(lo & APIC_BASE_EN) || (lo & APIC_BASE_EXTD) || hi) {
		jbt_problem("local APIC base MSR 0x%08x%08x: not an enabled xAPIC below 4 GiB", hi,
			    lo);
		return;
	}
	uintptr_t lapic = lo & 0xFFFFF000u;
	volatile u8 *page = (volatile u8 *)(uintptr_t)SIPI_PAGE;
	volatile u8 *counter = (volatile u8 *)(uintptr_t)SIPI_COUNTER;

	for (u32 i = 0; i < sizeof(sipi_code); i++)
		page[i] = sipi_code[i];
	*counter = 0;
	mmio_write32(lapic + LAPIC_ICR_HI, 0);
	mmio_write32(lapic + LAPIC_ICR_LO, ICR_STARTUP_ALL_BUT_SELF | (SIPI_PAGE >> 12));
	u64 t0 = rdtsc();

	while (*counter < cpus - 1 && rdtsc() - t0 < WAIT_TSC_TICKS)
		cpu_relax();
	jbt_printf("jbtest: other CPUs: %u of %u wait for a start-up IPI\n", (u32)*counter,
		   cpus - 1);
}
