/* Fill mode's last step in the 32-bit payload: stay halted while the harness dumps the guest. */
#include "payload.h"

void jbt_fill_end(const struct fill_args *a)
{
	if (a->selftest)
		jbt_printf("jbtest: selftest is built into payload64 only; halting as usual\n");
	jbt_halt(); /* the harness dumps the guest now and kills it */
}
