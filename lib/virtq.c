/*
 * The split virtqueue (virtio v1.0 §2.4) from the driver's side: descriptor chains from a
 * free list, the available ring, the used ring. Polled: the device is asked for no
 * interrupts (§2.4.7). Pure; the ring memory is the caller's.
 */
#include "virtio.h"


#define VIRTQ_USED_RING 4 /* flags, idx */

static u32 align_up(u32 v, u32 a)
{
	return (v + a - 1) & ~(a - 1);
}

void virtq_layout(u16 size, struct virtq_layout *out)
{
	out->avail_off = 16u * size;
	out->used_off = align_up(out->avail_off + 6u + 2u * size, 4);
	out->chains_off = align_up(out->used_off + 6u + 8u * size, 2);
	out->bytes = out->chains_off + 2u * size;
}

void virtq_init(struct virtq *q, void *mem, u16 size)
{
	struct virtq_layout l;

	virtq_layout(size, &l);
	__builtin_memset(mem, 0, l.bytes);
	*q = (struct virtq){
		.size = size,
		.num_free = size,
		.desc = mem,
		.avail = (volatile u16 *)((u8 *)mem + l.avail_off),
		.used = (volatile u8 *)mem + l.used_off,
		.chain_len = (u16 *)((u8 *)mem + l.chains_off),
	};
	for (u16 i = 0; i + 1 < size; i++)
		q->desc[i].next = (u16)(i + 1);
	q->avail[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
}

int virtq_add(struct virtq *q, const struct virtq_buf *bufs, u32 n)
{
	if (n == 0 || n > q->num_free)
		return -1;
	u16 head = q->free_head, at = head;

	for (u32 i = 0; i < n; i++) {
		struct virtq_desc *dsc = &q->desc[at];

		dsc->addr = bufs[i].addr;
		dsc->len = bufs[i].len;
		dsc->flags = (u16)((bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
				   (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		if (i + 1 < n)
			at = dsc->next; /* the free list's next entry continues the chain */
	}
	q->free_head = q->desc[at].next;
	q->num_free = (u16)(q->num_free - n);
	q->chain_len[head] = (u16)n;
	q->avail[2 + (q->avail_idx & (q->size - 1))] = head;
	q->avail_idx++;
	return head;
}

void virtq_publish(struct virtq *q)
{
	/* §2.4.7.2: the ring entries must be visible before the index that covers them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail[1] = q->avail_idx;
}

bool virtq_next_used(struct virtq *q, int *head, u32 *written)
{
	u16 idx = *(volatile u16 *)(q->used + 2);

	if (idx == q->last_used)
		return false;
	/* The entry is read only after the index that says it is there. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	const volatile u8 *elem = q->used + VIRTQ_USED_RING + 8u * (q->last_used & (q->size - 1));
	u32 id = *(const volatile u32 *)elem;

	*written = *(const volatile u32 *)(elem + 4);
	q->last_used++;
	if (id >= q->size || q->chain_len[id] == 0) {
		*head = -1;
		return true;
	}
	u16 n = q->chain_len[id], last = (u16)id;

	for (u16 i = 1; i < n; i++)
		last = q->desc[last].next;
	q->desc[last].next = q->free_head;
	q->free_head = (u16)id;
	q->num_free = (u16)(q->num_free + n);
	q->chain_len[id] = 0;
	*head = (int)id;
	return true;
}

u16 virtq_in_flight(const struct virtq *q)
{
	return (u16)(q->avail_idx - q->last_used);
}

u32 virtio_blk_request_descs(u32 bytes, u32 seg_bytes)
{
	return 2u + (bytes + seg_bytes - 1) / seg_bytes;
}

int virtio_blk_add_request(struct virtq *q, struct virtio_blk_req_hdr *hdr, u32 type, u64 sector,
			   u64 data, u32 bytes, u32 seg_bytes, volatile u8 *status)
{
	struct virtq_buf bufs[VIRTIO_BLK_MAX_DESCS];
	u32 n = 0;

	if (seg_bytes == 0 || virtio_blk_request_descs(bytes, seg_bytes) > VIRTIO_BLK_MAX_DESCS)
		return -1;
	*hdr = (struct virtio_blk_req_hdr){ .type = type, .sector = sector };
	*status = 0xFF;
	bufs[n++] = (struct virtq_buf){ (uintptr_t)hdr, sizeof(*hdr), false };
	while (bytes) {
		u32 seg = bytes < seg_bytes ? bytes : seg_bytes;

		/* §5.2.6: the device writes what it reads from the disk (IN) */
		bufs[n++] = (struct virtq_buf){ data, seg, type == VIRTIO_BLK_T_IN };
		data += seg;
		bytes -= seg;
	}
	bufs[n++] = (struct virtq_buf){ (uintptr_t)status, 1, true };
	return virtq_add(q, bufs, n);
}

const char *virtio_blk_status_text(u8 status)
{
	switch (status) {
	case VIRTIO_BLK_S_OK:
		return "success";
	case VIRTIO_BLK_S_IOERR:
		return "I/O error (VIRTIO_BLK_S_IOERR)";
	case VIRTIO_BLK_S_UNSUPP:
		return "request not supported (VIRTIO_BLK_S_UNSUPP)";
	case 0xFF:
		return "no status written by the device";
	default:
		return "unknown status";
	}
}
