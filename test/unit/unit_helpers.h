/*
 * Helpers shared by the host unit tests and the fuzz target: a seeded PRNG and a writer for
 * ELF core images in memory. No test framework here, so test/fuzz/ can include it too.
 */
#ifndef JB_UNIT_HELPERS_H
#define JB_UNIT_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"
#include "le.h"
#include "types.h"

/* ---- seeded randomness (splitmix64: tiny, full period, good enough for test layouts) ---- */

struct test_rng {
	u64 state;
};

static inline u64 rng_next(struct test_rng *r)
{
	u64 z = (r->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. The tiny modulo bias does not matter for tests. */
static inline u64 rng_below(struct test_rng *r, u64 n)
{
	return rng_next(r) % n;
}

/* Uniform in [lo, hi]. */
static inline u64 rng_range(struct test_rng *r, u64 lo, u64 hi)
{
	return lo + (hi - lo == UINT64_MAX ? rng_next(r) : rng_below(r, hi - lo + 1));
}

static inline bool rng_chance(struct test_rng *r, unsigned int percent)
{
	return rng_below(r, 100) < percent;
}

/*
 * The seed for a random test: $JB_TEST_SEED when set (to replay a failure), else a fixed
 * default so that every run checks the same cases. Each test mixes in its own salt.
 */
static inline u64 test_seed(u64 salt)
{
	const char *env = getenv("JB_TEST_SEED");
	u64 seed = env && *env ? strtoull(env, NULL, 0) : 0x6a756d706261636bull; /* "jumpback" */

	return seed ^ salt;
}

/* ---- ELF core images (field offsets from the gABI; see include/elf.h) ---- */

/* Offsets of ELF header fields that tests corrupt. */
#define EH64_PHOFF 32
#define EH64_PHENTSIZE 54
#define EH64_PHNUM 56
#define EH32_PHOFF 28
#define EH32_PHENTSIZE 42
#define EH32_PHNUM 44
#define EH_TYPE 16
#define EH_MACHINE 18

struct core_phdr {
	u32 type;
	u64 offset, paddr, filesz, memsz;
};

static inline size_t core_ehsize(int elf_class)
{
	return elf_class == 64 ? sizeof(struct elf64_ehdr) : sizeof(struct elf32_ehdr);
}

static inline size_t core_phentsize(int elf_class)
{
	return elf_class == 64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);
}

/* Writes an ELF header (class 32 or 64, ET_CORE, little-endian) at buf[0]. */
static inline void core_write_ehdr(u8 *buf, int elf_class, u16 machine, u64 phoff, u16 phnum)
{
	memset(buf, 0, core_ehsize(elf_class));
	memcpy(buf, ELF_MAG, 4);
	buf[EI_CLASS] = elf_class == 64 ? ELFCLASS64 : ELFCLASS32;
	buf[EI_DATA] = ELFDATA2LSB;
	buf[EI_VERSION] = 1;
	put16(buf + EH_TYPE, ET_CORE);
	put16(buf + EH_MACHINE, machine);
	put32(buf + 20, 1); /* e_version */
	if (elf_class == 64) {
		put64(buf + EH64_PHOFF, phoff);
		put16(buf + 52, (u16)core_ehsize(64));
		put16(buf + EH64_PHENTSIZE, (u16)core_phentsize(64));
		put16(buf + EH64_PHNUM, phnum);
	} else {
		put32(buf + EH32_PHOFF, (u32)phoff);
		put16(buf + 40, (u16)core_ehsize(32));
		put16(buf + EH32_PHENTSIZE, (u16)core_phentsize(32));
		put16(buf + EH32_PHNUM, phnum);
	}
}

/* Writes program header `index` of a table at phoff. ELF32 stores the low 32 bits. */
static inline void core_write_phdr(u8 *buf, int elf_class, u64 phoff, u32 index,
				   const struct core_phdr *ph)
{
	u8 *p = buf + phoff + (u64)index * core_phentsize(elf_class);

	memset(p, 0, core_phentsize(elf_class));
	if (elf_class == 64) {
		put32(p, ph->type);
		put32(p + 4, 7); /* p_flags RWX, as Linux writes them */
		put64(p + 8, ph->offset);
		put64(p + 16, ph->paddr + 0xffff880000000000ull); /* p_vaddr: ignored */
		put64(p + 24, ph->paddr);
		put64(p + 32, ph->filesz);
		put64(p + 40, ph->memsz);
	} else {
		put32(p, ph->type);
		put32(p + 4, (u32)ph->offset);
		put32(p + 8, (u32)ph->paddr + 0xc0000000u);
		put32(p + 12, (u32)ph->paddr);
		put32(p + 16, (u32)ph->filesz);
		put32(p + 20, (u32)ph->memsz);
		put32(p + 24, 7);
	}
}

/*
 * Writes an ELF header with the program headers right behind it. Returns the header length
 * (e_phoff + n * e_phentsize); buf must hold that many bytes.
 */
static inline size_t core_write(u8 *buf, int elf_class, u16 machine, const struct core_phdr *ph,
				u32 n)
{
	size_t phoff = core_ehsize(elf_class);

	core_write_ehdr(buf, elf_class, machine, phoff, (u16)n);
	for (u32 i = 0; i < n; i++)
		core_write_phdr(buf, elf_class, phoff, i, &ph[i]);
	return phoff + n * core_phentsize(elf_class);
}

#endif
