/*
 * The restore plan (DESIGN.md §4): from the machine's usable RAM, the stub's live ranges and
 * the PT_LOAD list, an ordered list of reads, zero-fills and checks. Pure.
 */
#ifndef JB_PLAN_H
#define JB_PLAN_H

#include "diag.h"
#include "elfcore.h"
#include "types.h"

#define RAM_MAX_RANGES 128
#define PLAN_MAX_LIVE 8
#define PLAN_MAX_OPS 2048

struct mem_range {
	u64 start; /* inclusive */
	u64 end;   /* exclusive */
};

/* Usable RAM: sorted, non-overlapping, adjacent ranges merged. */
struct ram_map {
	u32 n;
	struct mem_range r[RAM_MAX_RANGES];
};

/* One entry of a firmware memory map (Multiboot mmap / e820). */
struct mem_entry {
	u64 start;
	u64 len;
	u32 type; /* 1: usable RAM; anything else is not */
};

#define MEM_TYPE_USABLE 1

/*
 * Builds the usable map: the union of usable entries minus every non-usable entry
 * (firmware maps may overlap). Returns 0, or -JB_ETOOBIG / -JB_EMEMMAP.
 */
int ram_map_build(const struct mem_entry *e, u32 n, struct ram_map *out, struct jb_diag *d);

/* True when [start, end) lies inside one usable range. */
bool ram_map_contains(const struct ram_map *ram, u64 start, u64 end);

struct live_range {
	u64 start, end;
	const char *name;
};

enum plan_op_kind {
	PLAN_READ,       /* image bytes [file_off, +len) -> RAM [dest, +len) */
	PLAN_ZERO,       /* RAM [dest, +len) = 0 */
	PLAN_CHECK,      /* image bytes must equal RAM already written by an earlier op */
	PLAN_CHECK_ZERO, /* RAM already written must be zero (zero-fill over earlier data) */
};

struct plan_op {
	enum plan_op_kind kind;
	u32 seg; /* index into elf_core.seg */
	u64 dest;
	u64 file_off;
	u64 len;
};

struct plan_input {
	const struct elf_core *core;
	const struct ram_map *ram;
	const struct live_range *live;
	u32 nlive;
	u64 addr_limit; /* destinations must end at or below this (exclusive bound) */
};

struct plan {
	u32 nops;
	u64 bytes_read;    /* PLAN_READ + PLAN_CHECK bytes */
	u64 bytes_zero;    /* PLAN_ZERO bytes */
	u64 bytes_checked; /* PLAN_CHECK + PLAN_CHECK_ZERO bytes */
	struct plan_op op[PLAN_MAX_OPS];
};

/*
 * Checks every segment against RAM, the live ranges and the address limit, and lays out
 * the operations in segment order. Where a segment overlaps one before it, the overlap
 * becomes a check (exact duplicates are legal, different data is not).
 */
int plan_build(const struct plan_input *in, struct plan *out, struct jb_diag *d);

#endif
