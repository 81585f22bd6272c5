/*
 * Check mode (entered by jumpback at resume_entry): the CPU state, the manifest, the
 * payload's own code (self hash) and every restored region; then the verdict.
 */
#include "payload.h"

/* Filled in by resume_entry (entry.asm) before anything else runs. */
struct jbt_entry_state jbt_entry_state;

/* Whether the manifest can be trusted enough to walk its regions. */
static bool manifest_ok(const struct jbt_manifest *m)
{
	if (m->magic != JBT_MANIFEST_MAGIC) {
		jbt_problem("manifest magic 0x%08x, expected 0x%08x: not patched by mkcore or"
			    " fill mode, or not restored",
			    m->magic, JBT_MANIFEST_MAGIC);
		return false;
	}
	if (m->nregions > JBT_MAX_REGIONS) {
		jbt_problem("manifest lists %u regions, at most %u fit", m->nregions,
			    JBT_MAX_REGIONS);
		return false;
	}
	return true;
}

static void check_self_hash(const struct jbt_manifest *m)
{
	u32 hash = jbt_self_hash();
	u32 len = (u32)((uintptr_t)jbt_hash_end - (uintptr_t)jbt_hash_start);

	if (hash != m->self_hash)
		jbt_problem("self hash 0x%08x over 0x%08x+0x%x, manifest says 0x%08x: the payload's"
			    " code was not restored intact",
			    hash, (u32)(uintptr_t)jbt_hash_start, len, m->self_hash);
	else
		jbt_printf("jbtest: self hash ok: 0x%08x over 0x%08x+0x%x\n", hash,
			   (u32)(uintptr_t)jbt_hash_start, len);
}

void jbt_check_main(void)
{
	const struct jbt_manifest *m = &jbt_manifest;
	u64 checked = 0;

	serial_init();
	jbt_printf("jbtest: check mode: entered at 0x%08x\n", (u32)(uintptr_t)resume_entry);
	check_cpu_state(&jbt_entry_state, m);
	if (manifest_ok(m)) {
		check_self_hash(m);
		checked = check_regions(m);
	}
	check_other_cpus();
	jbt_finish(checked, m->nregions);
}
