/*
 * The check queue: image data that has landed and waits for its XXH64 check, one entry per
 * 16 MiB chunk of a segment's file data (docs/image-format.md). The restore notes each piece
 * as it lands; the boot CPU works through the queue a slice at a time whenever the disk is
 * busy (checkq_step), so the disk never waits for the hashing; a helper CPU, when there is
 * one, takes whole closed chunks. Chunks are checked in any order, each against its own
 * table entry, and checkq_drain returns 0 only once every closed chunk matched.
 *
 * Pure: the hash loop and the helper CPU are reached through checkq_ops, so the host tests
 * the queue with fakes (test/unit/test_checkq.c).
 */
#ifndef JB_CHECKQ_H
#define JB_CHECKQ_H

#include "types.h"
#include "xxh64.h"

#define CHECKQ_DEPTH 32u          /* chunks landed and not checked yet: 512 MiB of backlog */
#define CHECKQ_EXTENTS 8u         /* pieces of one chunk noted before they must be hashed */
#define CHECKQ_SLICE (256u << 10) /* bytes the boot CPU hashes between looks at the disk */

/* Landed bytes at a physical address (above 4 GiB too: the hash callbacks map them). */
struct checkq_extent {
	u64 addr;
	u32 len;
};

/* Which chunk an entry is, in the restore's terms, for its messages. */
struct checkq_chunk {
	u32 seg, k, entry; /* segment, chunk in the segment, hash table entry */
	u64 start, end;    /* the chunk's bytes in the segment's file data */
};

struct checkq_ops {
	/* Feeds physical [addr, +len) to h, on the boot CPU. */
	void (*hash)(struct xxh64 *h, u64 addr, u32 len);
	/* The helper CPU (include/smp.h); unused when checkq_init was told there is none. */
	bool (*helper_idle)(void);
	void (*helper_post)(const struct xxh64 *h, const struct checkq_extent *ext, u32 n);
	bool (*helper_wait)(u64 *hash, u32 timeout_ms);
	u32 helper_timeout_ms;
};

/* What the queue did, for the restore line (stub/main.c). */
struct checkq_stats {
	u32 chunks;        /* chunks checked */
	u32 helper_chunks; /* of which finished by the helper */
	u32 helper_high;   /* of those, with bytes above 4 GiB (the helper's own window) */
	u64 bytes;         /* bytes noted */
	u64 helper_bytes;  /* of which hashed by the helper (the rest of a chunk it was given) */
};

enum checkq_state { CHECKQ_FREE, CHECKQ_OPEN, CHECKQ_CLOSED, CHECKQ_HELPER };

struct checkq_entry {
	struct checkq_chunk id;
	u64 want;
	struct xxh64 h; /* over the chunk's bytes before ext[done] */
	struct checkq_extent ext[CHECKQ_EXTENTS];
	u32 n, done; /* extents noted, extents hashed (ext[done] advances as it is hashed) */
	u32 seq;     /* order of opening: the oldest is worked on first */
	u8 state;    /* enum checkq_state */
};

struct checkq {
	const struct checkq_ops *ops;
	bool helper;  /* hand chunks to the helper CPU */
	int open;     /* the entry receiving bytes, or -1 */
	int helping;  /* the entry with the helper, or -1 */
	u32 seq;
	struct checkq_entry e[CHECKQ_DEPTH];
	/* After -JB_EMISMATCH: the chunk, its table entry and what its bytes hashed to. After
	 * -JB_ETIMEDOUT: the chunk the helper did not finish. */
	struct checkq_chunk bad;
	u64 bad_want, bad_got;
	bool bad_by_helper;
	struct checkq_stats st;
};

void checkq_init(struct checkq *q, const struct checkq_ops *ops, bool helper);

/*
 * Notes len landed bytes at addr, the open chunk's next ones. stable: they stay where they
 * are until the queue is drained, so hashing them may wait; otherwise (a reused buffer) they
 * are hashed before this returns. 0 or -JB_E* (a check finished on the way failed).
 */
int checkq_add(struct checkq *q, u64 addr, u32 len, bool stable);

/* The open chunk is complete: it is c, and must hash to want. 0 or -JB_E*. */
int checkq_close(struct checkq *q, const struct checkq_chunk *c, u64 want);

/*
 * One slice of the boot CPU's share: takes the helper's result, gives it the oldest closed
 * chunk, hashes up to CHECKQ_SLICE bytes of the oldest chunk left. 1 if it did anything, 0
 * if nothing is left for the boot CPU, -JB_E* if a check failed.
 */
int checkq_step(struct checkq *q);

/* Checks everything still queued (the open chunk must be closed). 0 or -JB_E*. */
int checkq_drain(struct checkq *q);

#endif
