/*
 * TSC calibrated against PIT channel 2 (8254 datasheet, mode 0; its OUT pin is bit 5 of
 * port 0x61). Every poll loop in the stub uses a deadline from here.
 */
#include "timer.h"

#include "cpu.h"

#define PIT_HZ 1193182u
#define PIT_CAL_MS 10u
#define PIT_CH2_DATA 0x42
#define PIT_MODE 0x43
#define PORT_B 0x61
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_OUT2 0x20
/* Used when calibration cannot finish: a fast CPU's rate, so timeouts err on the long side. */
#define TSC_PER_MS_FALLBACK 4000000u
#define PIT_CAL_POLLS 50000000u

static u64 tsc_per_ms = TSC_PER_MS_FALLBACK;
static u64 tsc_boot;

void timer_init(void)
{
	u16 count = (u16)(PIT_HZ / 1000u * PIT_CAL_MS);
	u8 portb = inb(PORT_B);

	tsc_boot = rdtsc();
	outb(PORT_B, (u8)((portb & ~PORT_B_SPEAKER) & ~PORT_B_GATE2));
	outb(PIT_MODE, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2_DATA, (u8)count);
	outb(PIT_CH2_DATA, (u8)(count >> 8));
	outb(PORT_B, (u8)((portb & ~PORT_B_SPEAKER) | PORT_B_GATE2)); /* gate up: count */
	u64 t0 = rdtsc();

	for (u32 polls = 0; polls < PIT_CAL_POLLS; polls++) {
		if (inb(PORT_B) & PORT_B_OUT2) {
			u64 ticks = rdtsc() - t0;

			if (ticks >= PIT_CAL_MS)
				tsc_per_ms = ticks / PIT_CAL_MS;
			break;
		}
	}
	outb(PORT_B, portb);
}

u64 timer_now_us(void)
{
	return (rdtsc() - tsc_boot) * 1000u / tsc_per_ms;
}

struct deadline deadline_in_ms(u32 ms)
{
	return (struct deadline){ rdtsc() + (u64)ms * tsc_per_ms };
}

bool deadline_passed(struct deadline dl)
{
	return rdtsc() > dl.tsc_end;
}

void timer_delay_us(u32 us)
{
	u64 end = timer_now_us() + us;

	while (timer_now_us() < end)
		cpu_relax();
}
