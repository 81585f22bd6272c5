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

/* A range the stub uses until its last disk access (its image, stack, DMA buffers, ...). */
struct live_range {
	u64 start, end;
	const char *name;
};

enum plan_op_kind {
	PLAN_READ,       /* image bytes [file_off, +len) -> RAM [target, +len) */
	PLAN_ZERO,       /* RAM [target, +len) = 0 */
	PLAN_CHECK,      /* image bytes must equal RAM already written at target by an earlier op */
	PLAN_CHECK_ZERO, /* RAM already written at target must be zero (zero-fill over earlier data) */
};

struct plan_op {
	enum plan_op_kind kind;
	u32 seg;      /* index into elf_core.seg */
	u64 dest;     /* final destination */
	u64 target;   /* where the bytes go now: dest, or the staging copy of a live range */
	u64 file_off; /* READ and CHECK */
	u64 len;
};

/* Destinations [start, end) inside live range `live` are written to `at` and copied home last. */
struct plan_stage {
	u64 start, end;
	u64 at;
	u32 live;
};

/* One copy of the final stage, after the last disk access: staged bytes to their home. */
struct plan_copy {
	u64 src, dst, len;
};

struct plan_input {
	const struct elf_core *core;
	const struct ram_map *ram;
	const struct live_range *live;
	u32 nlive;
	u64 addr_limit;  /* destinations must end at or below this */
	u64 stage_limit; /* staging areas and the final stage must end at or below this */
	u64 final_size;  /* bytes the final stage (copier, GDT, stack, page tables) needs */
};

#define PLAN_MAX_COPIES 256
#define PLAN_HOLE_ALIGN 4096u

struct plan {
	u32 nops;
	u32 nstages;
	u32 ncopies;
	u64 final_at;      /* the hole that holds the final stage */
	u64 bytes_read;    /* PLAN_READ + PLAN_CHECK bytes */
	u64 bytes_zero;    /* PLAN_ZERO bytes */
	u64 bytes_checked; /* PLAN_CHECK + PLAN_CHECK_ZERO bytes */
	u64 bytes_staged;  /* bytes the final stage copies home */
	struct plan_stage stage[PLAN_MAX_LIVE];
	struct plan_copy copy[PLAN_MAX_COPIES];
	struct plan_op op[PLAN_MAX_OPS];
	/* Union of every segment's destination: sorted, merged. */
	u32 ncovered;
	struct mem_range covered[ELFCORE_MAX_SEGS + 1];
};

/*
 * Checks every segment against RAM and the address limit, and lays out the operations in
 * segment order. Where a segment overlaps one before it, the overlap becomes a check (exact
 * duplicates are legal, different data is not). Destinations inside a live range are staged
 * in a hole (usable RAM no segment and no live range covers) and copied home by the final
 * stage, which gets a hole of its own. Fails only when a segment is outside RAM or over the
 * limit (-JB_ENOTRAM, -JB_EUNSUPPORTED), when no hole is large enough (-JB_ELIVE), or when
 * the plan outgrows its tables (-JB_ETOOBIG: more than PLAN_MAX_LIVE staged live ranges,
 * PLAN_MAX_COPIES final copies or PLAN_MAX_OPS operations).
 */
int plan_build(const struct plan_input *in, struct plan *out, struct jb_diag *d);

/*
 * A free hole of size bytes for a built plan (usable RAM below stage_limit that no segment,
 * live range or staging area covers; the final stage's hole is not excluded), first fit as
 * for staging. For a dry run's reads, which never reach the final stage. False: none.
 */
bool plan_hole(const struct plan_input *in, const struct plan *p, u64 size, u64 *at);

#endif
