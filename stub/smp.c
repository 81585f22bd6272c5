/*
 * The helper CPU (include/smp.h). Local APIC in xAPIC mode, Intel SDM vol. 3 §10.6 (ICR) and
 * §9.4.4 (the INIT-SIPI-SIPI sequence and its delays). The start-up IPIs go to all CPUs but
 * this one, since the stub reads no ACPI table to learn their APIC IDs: the first to arrive
 * helps, any other halts until smp_stop(). Between chunks the helper halts too, so it leaves
 * the machine's time to the disk (an emulator's disk runs on the host's CPUs): a fixed IPI
 * to its APIC ID wakes it. It waits with `sti; hlt`, so an IPI sent while it checks for work
 * stays pending and ends the hlt at once; it hashes with interrupts off (also in long mode,
 * where its 32-bit IDT would not do).
 */
#include "smp.h"

#include "cpu.h"
#include "physmem.h"
#include "timer.h"

#define MSR_APIC_BASE 0x1Bu
#define APIC_BASE_EXTD (1u << 10) /* x2APIC mode: the MMIO page is gone */
#define APIC_BASE_EN (1u << 11)
#define CPUID1_EDX_APIC (1u << 9)
#define LAPIC_ICR_LO 0x300u
#define LAPIC_ICR_HI 0x310u
#define ICR_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_TIMEOUT_MS 100u
#define ARRIVE_TIMEOUT_MS 100u
#define LAPIC_ID 0x20u
#define LAPIC_EOI 0xB0u
#define LAPIC_SVR 0xF0u
#define SVR_ENABLE (1u << 8)
#define WAKE_VECTOR 0x40u
#define SPURIOUS_VECTOR 0x4Fu

extern const u8 ap_blob_start[], ap_blob_end[], ap_gdt_desc[]; /* boot/ap.asm */
extern const u8 gdt_desc[6];                                      /* boot/entry.asm */
extern volatile u32 ap_arrived;
extern u32 ap_lapic_eoi;
extern const u8 ap_wake[], ap_spurious[];

static uintptr_t lapic; /* the local APIC's registers; 0 while no helper runs */

/* One chunk at a time: the boot CPU writes it and bumps posted, the helper bumps done. */
static struct {
	struct xxh64 state;
	struct checkq_extent ext[CHECKQ_EXTENTS];
	u32 n;
	u64 hash;
} job;
static volatile u32 job_posted, job_done;
static volatile bool helper_ready;
static volatile u32 helper_apic_id;

#define compiler_barrier() __asm__ volatile("" : : : "memory")

void ap_main(void) __attribute__((noreturn));

/* The helper's loop (boot/ap.asm calls it on its own stack). x86 keeps stores in order. */
void ap_main(void)
{
	cpu_idt_load_wakeup(WAKE_VECTOR, ap_wake, SPURIOUS_VECTOR, ap_spurious);
	mmio_write32(lapic + LAPIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR); /* INIT left it off */
	helper_apic_id = mmio_read32(lapic + LAPIC_ID) >> 24;
	helper_ready = true;
	for (;;) {
		while (job_posted == job_done)
			__asm__ volatile("sti; hlt; cli" : : : "memory");
		compiler_barrier();
		struct xxh64 h = job.state;

		for (u32 i = 0; i < job.n; i++)
			phys_hash_helper(&h, job.ext[i].addr, job.ext[i].len);
		job.hash = xxh64_final(&h);
		compiler_barrier();
		job_done = job_posted;
	}
}

/* Sends one IPI to all CPUs but this one; false if the APIC never took it. */
static bool ipi_others(u32 icr)
{
	struct deadline dl = deadline_in_ms(ICR_TIMEOUT_MS);

	mmio_write32(lapic + LAPIC_ICR_HI, 0);
	mmio_write32(lapic + LAPIC_ICR_LO, icr | ICR_ALL_BUT_SELF);
	while (mmio_read32(lapic + LAPIC_ICR_LO) & ICR_PENDING)
		if (deadline_passed(dl))
			return false;
	return true;
}

/* Wakes the helper: the wake-up vector to its APIC ID only. */
static void wake_helper(void)
{
	struct deadline dl = deadline_in_ms(ICR_TIMEOUT_MS);

	mmio_write32(lapic + LAPIC_ICR_HI, helper_apic_id << 24);
	mmio_write32(lapic + LAPIC_ICR_LO, WAKE_VECTOR | ICR_ASSERT);
	while ((mmio_read32(lapic + LAPIC_ICR_LO) & ICR_PENDING) && !deadline_passed(dl))
		cpu_relax();
}

const char *smp_start(void)
{
	u32 a, b, c, d, lo, hi;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1u));
	if (!(d & CPUID1_EDX_APIC))
		return "the CPU has no local APIC";
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_APIC_BASE));
	if (!(lo & APIC_BASE_EN))
		return "the local APIC is disabled";
	if (lo & APIC_BASE_EXTD)
		return "the local APIC is in x2APIC mode";
	if (hi)
		return "the local APIC lies above 4 GiB";
	lapic = lo & 0xFFFFF000u;
	phys_prepare();
	ap_lapic_eoi = (u32)lapic + LAPIC_EOI;
	copy_bytes((void *)(uintptr_t)SMP_TRAMPOLINE, ap_blob_start,
		   (u32)(ap_blob_end - ap_blob_start));
	copy_bytes((void *)(uintptr_t)(SMP_TRAMPOLINE + (u32)(ap_gdt_desc - ap_blob_start)),
		   gdt_desc, sizeof(gdt_desc));
	ap_arrived = 0;
	helper_ready = false;
	job_posted = job_done = 0;
	if (!ipi_others(ICR_INIT | ICR_ASSERT)) {
		lapic = 0;
		return "the local APIC did not send INIT";
	}
	timer_delay_us(10000);
	struct deadline dl = deadline_in_ms(ARRIVE_TIMEOUT_MS);

	for (u32 sipi = 0; sipi < 2 && !ap_arrived; sipi++) {
		ipi_others(ICR_STARTUP | ICR_ASSERT | (SMP_TRAMPOLINE >> 12));
		timer_delay_us(200);
	}
	while (!helper_ready && !deadline_passed(dl))
		cpu_relax();
	if (!helper_ready) {
		smp_stop();
		return "no second CPU answered";
	}
	return NULL;
}

bool smp_idle(void)
{
	return lapic && job_posted == job_done;
}

void smp_post(const struct xxh64 *state, const struct checkq_extent *ext, u32 n)
{
	job.state = *state;
	for (u32 i = 0; i < n; i++)
		job.ext[i] = ext[i];
	job.n = n;
	compiler_barrier();
	job_posted = job_posted + 1;
	wake_helper();
}

bool smp_wait(u64 *hash, u32 timeout_ms)
{
	struct deadline dl = deadline_in_ms(timeout_ms);

	while (job_posted != job_done)
		if (deadline_passed(dl))
			return false;
	compiler_barrier();
	*hash = job.hash;
	return true;
}

void smp_stop(void)
{
	if (!lapic)
		return;
	ipi_others(ICR_INIT | ICR_ASSERT);
	lapic = 0;
}
