/*
 * jbwrite's image header (docs/image-format.md): built from the core, the entry and the memory
 * map; printed with the chunk checksums for --dry-run and --show.
 */
#include "jbwrite.h"

#include <string.h>
#include <time.h>

#include "elf.h"
#include "fmt.h"

/* The header is built and written as a host struct: the host must be little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "jbwrite writes a little-endian header");

static const char *mem_type_name(u32 type)
{
	switch (type) {
	case 1: return "usable";
	case 2: return "reserved";
	case 3: return "ACPI tables";
	case 4: return "ACPI NVS";
	case 5: return "unusable";
	case 7: return "persistent";
	default: return "other";
	}
}

static const char *state_name(u32 state)
{
	return state == JBI_STATE_VALID ? "VALD (not resumed yet)"
	       : state == JBI_STATE_USED ? "USED (resumed once)"
					 : "unknown";
}

void header_print(const struct jbi_header *h)
{
	char when[40];

	fmt_time_utc(when, sizeof(when), h->created);
	printf("state: %s 0x%08x\n", state_name(h->state), h->state);
	printf("entry: 0x%llx\n", (unsigned long long)h->entry);
	printf("mode: %s%s (flags 0x%x)\n", h->flags & JBI_FLAG_MODE64 ? "64" : "32",
	       h->flags & JBI_FLAG_PAE ? " PAE" : "", h->flags);
	printf("release: %.*s\n", JBI_RELEASE_SIZE, h->release);
	printf("created: %s (%llu)\n", when, (unsigned long long)h->created);
	printf("core: %llu bytes at offset %llu\n", (unsigned long long)h->core_size,
	       (unsigned long long)h->core_offset);
	printf("memory map: %u entries (end exclusive)\n", h->nmem);
	for (u32 i = 0; i < h->nmem && i < JBI_MAX_MEM; i++) {
		const struct jbi_mem *e = &h->mem[i];

		printf("  mem %u: 0x%016llx-0x%016llx type %u %s\n", i,
		       (unsigned long long)e->start, (unsigned long long)(e->start + e->len),
		       e->type, mem_type_name(e->type));
	}
	printf("segments: %u\n", h->nseg);
	printf("chunks: %u (XXH64 per %u MiB), table at %llu (%llu bytes, XXH64 0x%016llx)\n",
	       h->nchunk, h->chunk_size >> 20, (unsigned long long)h->hash_offset,
	       (unsigned long long)h->nchunk * 8, (unsigned long long)h->table_xxh64);
}

void hashes_print(const struct elf_core *core, const u64 *table)
{
	u64 at = 0;

	for (u32 i = 0; i < core->nseg; i++) {
		const struct elf_seg *s = &core->seg[i];
		u64 n = jbi_seg_chunks(s->filesz);

		printf("  segment %u (phdr %u, paddr 0x%llx, 0x%llx bytes): %llu chunks\n", i,
		       s->phdr_index, (unsigned long long)s->paddr, (unsigned long long)s->filesz,
		       (unsigned long long)n);
		for (u64 k = 0; k < n; k++, at++)
			printf("    chunk %llu (0x%llx-0x%llx): 0x%016llx\n", (unsigned long long)k,
			       (unsigned long long)(k * JBI_CHUNK_SIZE),
			       (unsigned long long)(k + 1 < n ? (k + 1) * JBI_CHUNK_SIZE : s->filesz),
			       (unsigned long long)table[at]);
	}
}

/* Everything but the table's XXH64 and the CRC. */
void header_build(const struct options *o, const struct core_src *c, const char *what,
		  u64 entry, const struct memmap *m, const char *release,
		  struct jbi_header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, JBI_MAGIC, sizeof(h->magic));
	h->version = JBI_VERSION;
	h->state = JBI_STATE_VALID;
	h->header_size = JBI_HEADER_SIZE;
	bool mode64 = o->mode == MODE_64 || (o->mode == MODE_AUTO && c->core.machine == EM_X86_64);

	if (mode64 && o->pae)
		die("--pae is for a 32-bit kernel A, and %s is an EM_X86_64 core (mode 64);"
		    " give --mode 32 if kernel A is 32-bit", what);
	if (!mode64 && entry > UINT32_MAX)
		die("entry 0x%llx is above 4 GiB, out of reach of a 32-bit kernel A",
		    (unsigned long long)entry);
	h->flags = (mode64 ? JBI_FLAG_MODE64 : 0) | (o->pae ? JBI_FLAG_PAE : 0);
	h->nmem = m->n;
	memcpy(h->mem, m->e, m->n * sizeof(m->e[0]));
	h->entry = entry;
	u64 nchunk = jbi_chunks(&c->core);

	if (nchunk > UINT32_MAX)
		die("%s: %llu chunks of 16 MiB; an image holds at most %u", what,
		    (unsigned long long)nchunk, UINT32_MAX);
	h->nseg = c->core.nseg;
	h->nchunk = (u32)nchunk;
	h->chunk_size = JBI_CHUNK_SIZE;
	h->hash_offset = JBI_HASH_OFFSET;
	h->core_offset = jbi_core_offset(h->nchunk);
	h->core_size = c->size;
	h->created = o->has_created ? o->created : (u64)time(NULL);
	memcpy(h->release, release, strnlen(release, sizeof(h->release) - 1)); /* NUL-padded */
}

/* Warns about segments the stub would refuse: outside the recorded usable RAM. */
void segments_check(const struct elf_core *core, const struct ram_map *ram)
{
	for (u32 i = 0; i < core->nseg; i++) {
		const struct elf_seg *s = &core->seg[i];

		if (!ram_map_contains(ram, s->paddr, s->paddr + s->memsz))
			fprintf(stderr,
				"jbwrite: warning: segment %u (phdr %u) at 0x%llx (+0x%llx) is not"
				" inside usable RAM of the memory map; the stub will refuse it\n",
				i, s->phdr_index, (unsigned long long)s->paddr,
				(unsigned long long)s->memsz);
	}
}
