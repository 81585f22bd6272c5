/* Time for timeouts and the restore-time report: the TSC, calibrated against PIT channel 2. */
#ifndef JB_TIMER_H
#define JB_TIMER_H

#include "types.h"

void timer_init(void);
u64 timer_now_us(void);
/* Waits us microseconds (the start-up IPI protocol's delays). */
void timer_delay_us(u32 us);

struct deadline {
	u64 tsc_end;
};

struct deadline deadline_in_ms(u32 ms);
bool deadline_passed(struct deadline dl);

#endif
