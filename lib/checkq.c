/* The check queue (include/checkq.h). */
#include "checkq.h"

#include "errors.h"

#define FOUR_GIB (1ull << 32)

void checkq_init(struct checkq *q, const struct checkq_ops *ops, bool helper)
{
	*q = (struct checkq){ .ops = ops, .helper = helper, .open = -1, .helping = -1 };
}

/* Compares a finished chunk with its table entry and frees its entry. */
static int finish(struct checkq *q, struct checkq_entry *e, u64 got, bool by_helper)
{
	e->state = CHECKQ_FREE;
	q->st.chunks++;
	if (got == e->want)
		return 0;
	q->bad = e->id;
	q->bad_want = e->want;
	q->bad_got = got;
	q->bad_by_helper = by_helper;
	return -JB_EMISMATCH;
}

/* Hashes up to budget bytes of e's noted extents, in order. */
static void hash_some(struct checkq *q, struct checkq_entry *e, u32 budget)
{
	while (e->done < e->n && budget) {
		struct checkq_extent *x = &e->ext[e->done];
		u32 k = x->len < budget ? x->len : budget;

		q->ops->hash(&e->h, x->addr, k);
		x->addr += k;
		x->len -= k;
		budget -= k;
		if (x->len == 0)
			e->done++;
	}
}

/* The oldest entry in state (or, with any_data, open or closed with bytes left to hash). */
static struct checkq_entry *oldest(struct checkq *q, u8 state, bool any_data)
{
	struct checkq_entry *best = NULL;

	for (u32 i = 0; i < CHECKQ_DEPTH; i++) {
		struct checkq_entry *e = &q->e[i];
		bool match = any_data ? (e->state == CHECKQ_OPEN || e->state == CHECKQ_CLOSED) &&
						e->done < e->n
				      : e->state == state;

		if (match && (!best || (s32)(e->seq - best->seq) < 0))
			best = e;
	}
	return best;
}

/* The helper's chunk, if it is done (with wait: once it is). */
static int collect(struct checkq *q, bool wait)
{
	u64 got;

	if (q->helping < 0 || (!wait && !q->ops->helper_idle()))
		return 0;
	struct checkq_entry *e = &q->e[q->helping];

	if (!q->ops->helper_wait(&got, q->ops->helper_timeout_ms)) {
		q->bad = e->id;
		q->bad_by_helper = true;
		return -JB_ETIMEDOUT;
	}
	q->helping = -1;
	q->st.helper_chunks++;
	return finish(q, e, got, true);
}

/* Gives an idle helper the oldest closed chunk: its hash so far and its bytes left. */
static bool dispatch(struct checkq *q)
{
	if (!q->helper || q->helping >= 0 || !q->ops->helper_idle())
		return false;
	struct checkq_entry *e = oldest(q, CHECKQ_CLOSED, false);

	if (!e)
		return false;
	q->ops->helper_post(&e->h, &e->ext[e->done], e->n - e->done);
	e->state = CHECKQ_HELPER;
	q->helping = (int)(e - q->e);
	bool high = false;

	for (u32 i = e->done; i < e->n; i++) {
		q->st.helper_bytes += e->ext[i].len;
		high = high || e->ext[i].addr + e->ext[i].len > FOUR_GIB;
	}
	q->st.helper_high += high;
	return true;
}

int checkq_step(struct checkq *q)
{
	int rc = collect(q, false);

	if (rc)
		return rc;
	bool did = dispatch(q);
	struct checkq_entry *e = oldest(q, 0, true);

	if (!e)
		return did;
	hash_some(q, e, CHECKQ_SLICE);
	if (e->state == CHECKQ_CLOSED && e->done == e->n)
		return finish(q, e, xxh64_final(&e->h), false) ?: 1;
	return 1;
}

/* Opens an entry for the next chunk, working the queue down first if it is full. */
static int open_entry(struct checkq *q)
{
	for (;;) {
		for (u32 i = 0; i < CHECKQ_DEPTH; i++)
			if (q->e[i].state == CHECKQ_FREE) {
				q->e[i] = (struct checkq_entry){ .state = CHECKQ_OPEN, .seq = q->seq++ };
				xxh64_init(&q->e[i].h, 0);
				q->open = (int)i;
				return 0;
			}
		/* A full queue holds closed chunks with bytes left (a closed chunk with none is
		   finished at once), and the helper has at most one of them, so each step hashes a
		   slice or finishes a chunk, until an entry is free. */
		int rc = checkq_step(q);

		if (rc < 0)
			return rc;
		if (rc == 0)
			return -JB_EINVAL; /* cannot happen */
	}
}

int checkq_add(struct checkq *q, u64 addr, u32 len, bool stable)
{
	int rc;

	if (len == 0)
		return 0;
	q->st.bytes += len;
	if (q->open < 0 && (rc = open_entry(q)))
		return rc;
	struct checkq_entry *e = &q->e[q->open];

	if (!stable || e->n == CHECKQ_EXTENTS) {
		hash_some(q, e, UINT32_MAX);
		e->n = e->done = 0;
	}
	if (stable)
		e->ext[e->n++] = (struct checkq_extent){ addr, len };
	else
		q->ops->hash(&e->h, addr, len);
	return 0;
}

int checkq_close(struct checkq *q, const struct checkq_chunk *c, u64 want)
{
	int rc;

	if (q->open < 0 && (rc = open_entry(q)))
		return rc;
	struct checkq_entry *e = &q->e[q->open];

	q->open = -1;
	e->id = *c;
	e->want = want;
	e->state = CHECKQ_CLOSED;
	if (e->done == e->n)
		return finish(q, e, xxh64_final(&e->h), false);
	rc = collect(q, false);
	dispatch(q);
	return rc;
}

int checkq_drain(struct checkq *q)
{
	if (q->open >= 0)
		return -JB_EINVAL; /* the caller closes every chunk it opened */
	for (;;) {
		int rc = checkq_step(q);

		if (rc < 0)
			return rc;
		if (rc)
			continue;
		if (q->helping < 0)
			return 0;
		rc = collect(q, true);
		if (rc)
			return rc;
	}
}
