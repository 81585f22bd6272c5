/*
 * Unit tests for lib/virtio_pci.c (the capability walk) and lib/virtq.c (split virtqueue and
 * virtio-blk requests). A small device model reads the rings through the spec's offsets
 * (virtio v1.0 §2.4), not through the driver's structure, completes requests in any order
 * and checks every chain it is given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "le.h"
#include "unit_helpers.h"
#include "virtio.h"

/* ---- capability list ---- */

struct cap_spec {
	u8 at, id, len, type, bar;
	u32 offset, length, extra; /* extra: notify multiplier or PCI access data */
};

/* Room past the 256 bytes for a capability placed to run off the end; never parsed. */
#define CFG_BUF (256 + 32)

/* A configuration space with the given capabilities chained in order. */
static void cfg_build(u8 *cfg, const struct cap_spec *caps, u32 n, bool cap_list)
{
	memset(cfg, 0, CFG_BUF);
	put16(cfg + 0, VIRTIO_PCI_VENDOR);
	put16(cfg + 2, VIRTIO_PCI_DEVICE_BLK_MODERN);
	put16(cfg + PCI_CFG_STATUS, cap_list ? PCI_CFG_STATUS_CAP_LIST : 0);
	cfg[PCI_CFG_CAP_PTR] = n ? caps[0].at : 0;
	for (u32 i = 0; i < n; i++) {
		u8 *c = cfg + caps[i].at;

		c[0] = caps[i].id;
		c[1] = i + 1 < n ? caps[i + 1].at : 0;
		if (caps[i].id != PCI_CAP_ID_VENDOR)
			continue;
		c[VIRTIO_CAP_LEN] = caps[i].len;
		c[VIRTIO_CAP_CFG_TYPE] = caps[i].type;
		c[VIRTIO_CAP_BAR] = caps[i].bar;
		put32(c + VIRTIO_CAP_OFFSET, caps[i].offset);
		put32(c + VIRTIO_CAP_LENGTH, caps[i].length);
		if (caps[i].len >= 20)
			put32(c + 16, caps[i].extra);
	}
}

/* What QEMU 7.2's virtio-blk-pci shows: MSI-X, then the five virtio capabilities on BAR4. */
static const struct cap_spec qemu_caps[] = {
	{ 0x98, 0x11, 0, 0, 0, 0, 0, 0 }, /* MSI-X */
	{ 0x84, PCI_CAP_ID_VENDOR, 20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, 0 },
	{ 0x70, PCI_CAP_ID_VENDOR, 20, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000, 0x1000, 4 },
	{ 0x60, PCI_CAP_ID_VENDOR, 16, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000, 0x1000, 0 },
	{ 0x50, PCI_CAP_ID_VENDOR, 16, VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 0x1000, 0 },
	{ 0x40, PCI_CAP_ID_VENDOR, 16, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x0000, 0x1000, 0 },
};

static void test_caps_qemu_layout(void **state)
{
	u8 cfg[CFG_BUF];
	struct virtio_pci_caps caps;
	struct jb_diag d = { "" };

	(void)state;
	cfg_build(cfg, qemu_caps, JB_ARRAY_LEN(qemu_caps), true);
	assert_int_equal(virtio_pci_caps_parse(cfg, 256, &caps, &d), 0);
	const struct virtio_region *common = &caps.cfg[VIRTIO_PCI_CAP_COMMON_CFG];

	assert_true(common->present);
	assert_int_equal(common->bar, 4);
	assert_int_equal(common->offset, 0);
	assert_int_equal(common->length, 0x1000);
	assert_int_equal(common->cap_at, 0x40);
	assert_int_equal(caps.cfg[VIRTIO_PCI_CAP_DEVICE_CFG].offset, 0x2000);
	assert_int_equal(caps.cfg[VIRTIO_PCI_CAP_NOTIFY_CFG].offset, 0x3000);
	assert_int_equal(caps.notify_off_multiplier, 4);
	assert_true(caps.cfg[VIRTIO_PCI_CAP_ISR_CFG].present);
	assert_true(caps.cfg[VIRTIO_PCI_CAP_PCI_CFG].present);
	assert_int_equal(caps.cfg[VIRTIO_PCI_CAP_PCI_CFG].cap_at, 0x84);
}

static const struct {
	const char *name;
	struct cap_spec caps[6];
	u32 n;
	bool cap_list;
	int rc;
	const char *text; /* in the message */
	u32 common_offset; /* when rc == 0 */
} cap_cases[] = {
	{ "no capability list bit", { { 0x40, PCI_CAP_ID_VENDOR, 16, 1, 4, 0, 0x38, 0 } }, 1, false,
	  -JB_ENODEV, "legacy-only", 0 },
	{ "notify missing",
	  { { 0x40, PCI_CAP_ID_VENDOR, 16, 1, 4, 0, 0x38, 0 },
	    { 0x50, PCI_CAP_ID_VENDOR, 16, 4, 4, 0x2000, 8, 0 } },
	  2, true, -JB_ENODEV, "notification", 0 },
	{ "device missing",
	  { { 0x40, PCI_CAP_ID_VENDOR, 16, 1, 4, 0, 0x38, 0 },
	    { 0x50, PCI_CAP_ID_VENDOR, 20, 2, 4, 0x3000, 4, 4 } },
	  2, true, -JB_ENODEV, "device configuration", 0 },
	{ "notify capability too short to hold its multiplier",
	  { { 0x40, PCI_CAP_ID_VENDOR, 16, 1, 4, 0, 0x38, 0 },
	    { 0x50, PCI_CAP_ID_VENDOR, 16, 2, 4, 0x3000, 4, 0 },
	    { 0x60, PCI_CAP_ID_VENDOR, 16, 4, 4, 0x2000, 8, 0 } },
	  3, true, -JB_ENODEV, "notification", 0 },
	{ "reserved BAR skipped, the next common one taken",
	  { { 0x40, PCI_CAP_ID_VENDOR, 16, 1, 6, 0x100, 0x38, 0 },
	    { 0x50, PCI_CAP_ID_VENDOR, 16, 1, 2, 0x200, 0x38, 0 },
	    { 0x60, PCI_CAP_ID_VENDOR, 16, 1, 2, 0x300, 0x38, 0 },
	    { 0x70, PCI_CAP_ID_VENDOR, 20, 2, 2, 0x3000, 4, 4 },
	    { 0x84, PCI_CAP_ID_VENDOR, 16, 4, 2, 0x2000, 8, 0 } },
	  5, true, 0, "", 0x200 },
	{ "unknown type and other vendors' capabilities skipped",
	  { { 0x40, 0x05, 0, 0, 0, 0, 0, 0 },
	    { 0x48, PCI_CAP_ID_VENDOR, 16, 9, 4, 0, 0, 0 },
	    { 0x58, PCI_CAP_ID_VENDOR, 16, 1, 4, 0x40, 0x38, 0 },
	    { 0x68, PCI_CAP_ID_VENDOR, 20, 2, 4, 0x3000, 4, 4 },
	    { 0x7c, PCI_CAP_ID_VENDOR, 16, 4, 4, 0x2000, 8, 0 } },
	  5, true, 0, "", 0x40 },
	{ "pointer into the standard header",
	  { { 0x20, PCI_CAP_ID_VENDOR, 16, 1, 4, 0, 0x38, 0 } }, 1, true, -JB_ENODEV,
	  "broken PCI capability list", 0 },
	{ "capability running off the end",
	  { { 0x40, PCI_CAP_ID_VENDOR, 16, 1, 4, 0, 0x38, 0 },
	    { 0x50, PCI_CAP_ID_VENDOR, 20, 2, 4, 0x3000, 4, 4 },
	    { 0xf8, PCI_CAP_ID_VENDOR, 16, 4, 4, 0x2000, 8, 0 } },
	  3, true, -JB_ENODEV, "device configuration", 0 },
};

static void test_caps_cases(void **state)
{
	(void)state;
	for (u32 i = 0; i < JB_ARRAY_LEN(cap_cases); i++) {
		u8 cfg[CFG_BUF];
		struct virtio_pci_caps caps;
		struct jb_diag d = { "" };

		cfg_build(cfg, cap_cases[i].caps, cap_cases[i].n, cap_cases[i].cap_list);
		int rc = virtio_pci_caps_parse(cfg, 256, &caps, &d);

		if (rc != cap_cases[i].rc || !strstr(d.text, cap_cases[i].text))
			fail_msg("case '%s': rc %d, message '%s'", cap_cases[i].name, rc, d.text);
		if (rc == 0)
			assert_int_equal(caps.cfg[VIRTIO_PCI_CAP_COMMON_CFG].offset,
					 cap_cases[i].common_offset);
	}
}

static void test_caps_loop(void **state)
{
	u8 cfg[CFG_BUF];
	struct virtio_pci_caps caps;
	struct jb_diag d = { "" };

	(void)state;
	cfg_build(cfg, qemu_caps, JB_ARRAY_LEN(qemu_caps), true);
	cfg[0x40 + 1] = 0x98; /* the last capability points back to the first */
	assert_int_equal(virtio_pci_caps_parse(cfg, 256, &caps, &d), -JB_ENODEV);
	assert_non_null(strstr(d.text, "broken PCI capability list"));
	assert_int_equal(virtio_pci_caps_parse(cfg, 128, &caps, &d), -JB_EINVAL);
}

/* Random bytes never crash the walk, and a success always names the three regions. */
static void test_caps_random(void **state)
{
	struct test_rng rng = { test_seed(0x76697274) };

	(void)state;
	for (u32 round = 0; round < 20000; round++) {
		u8 cfg[CFG_BUF];
		struct virtio_pci_caps caps;
		struct jb_diag d = { "" };

		cfg_build(cfg, qemu_caps, JB_ARRAY_LEN(qemu_caps), true);
		for (u32 k = rng_range(&rng, 1, 6); k; k--)
			cfg[rng_range(&rng, 0x34, 0xff)] = (u8)rng_next(&rng);
		if (virtio_pci_caps_parse(cfg, 256, &caps, &d) == 0) {
			assert_true(caps.cfg[VIRTIO_PCI_CAP_COMMON_CFG].present);
			assert_true(caps.cfg[VIRTIO_PCI_CAP_NOTIFY_CFG].present);
			assert_true(caps.cfg[VIRTIO_PCI_CAP_DEVICE_CFG].present);
			for (u32 t = 1; t < VIRTIO_PCI_CAP_TYPES; t++)
				assert_true(!caps.cfg[t].present || caps.cfg[t].bar <= 5);
		} else {
			assert_true(d.text[0] != '\0');
		}
	}
}

/* ---- the virtqueue and a device model ---- */

static void test_layout(void **state)
{
	(void)state;
	for (u32 size = 1; size <= VIRTQ_MAX_SIZE; size *= 2) {
		struct virtq_layout l;

		virtq_layout((u16)size, &l);
		/* §2.4: descriptors 16*N; avail 6+2*N after them; used 6+8*N, 4-aligned. */
		assert_int_equal(l.avail_off, 16 * size);
		assert_true(l.used_off >= l.avail_off + 6 + 2 * size);
		assert_true(l.used_off < l.avail_off + 6 + 2 * size + 4);
		assert_int_equal(l.used_off % 4, 0);
		assert_true(l.chains_off >= l.used_off + 6 + 8 * size);
		assert_int_equal(l.bytes, l.chains_off + 2 * size);
	}
}

#define DISK_BYTES (1u << 20)
#define QSIZE_MAX 256u

struct model {
	u8 *mem;
	u16 size;
	struct virtq_layout l;
	u16 last_avail;
	u16 used_idx;
	u8 disk[DISK_BYTES];
	u64 bad_sector; /* a request touching it fails with IOERR; UINT64_MAX: none */
	u32 flushes;
	bool desc_busy[QSIZE_MAX];
};

static u16 model_avail_idx(const struct model *m)
{
	return le16(m->mem + m->l.avail_off + 2);
}

static u16 model_avail_ring(const struct model *m, u16 i)
{
	return le16(m->mem + m->l.avail_off + 4 + 2u * (i % m->size));
}

static const u8 *model_desc(const struct model *m, u16 i)
{
	assert_true(i < m->size);
	return m->mem + 16u * i;
}

/* Handles the chain at head as a virtio-blk device would (§5.2.6); returns bytes written. */
static u32 model_run(struct model *m, u16 head)
{
	u16 chain[VIRTIO_BLK_MAX_DESCS + 1];
	u32 n = 0, written = 0;

	for (u16 at = head;;) {
		const u8 *dsc = model_desc(m, at);

		assert_true(n < VIRTIO_BLK_MAX_DESCS);
		assert_false(m->desc_busy[at]); /* no descriptor in two chains at once */
		m->desc_busy[at] = true;
		chain[n++] = at;
		if (!(le16(dsc + 12) & VIRTQ_DESC_F_NEXT))
			break;
		at = le16(dsc + 14);
	}
	assert_true(n >= 2);
	const u8 *hd = model_desc(m, chain[0]), *st = model_desc(m, chain[n - 1]);

	assert_int_equal(le32(hd + 8), 16);
	assert_false(le16(hd + 12) & VIRTQ_DESC_F_WRITE);
	assert_int_equal(le32(st + 8), 1);
	assert_true(le16(st + 12) & VIRTQ_DESC_F_WRITE);
	const u8 *hdr = (const u8 *)(uintptr_t)le64(hd);
	u32 type = le32(hdr);
	u64 pos = le64(hdr + 8) * VIRTIO_BLK_SECTOR;
	u8 status = VIRTIO_BLK_S_OK;

	if (type == VIRTIO_BLK_T_FLUSH) {
		assert_int_equal(n, 2);
		m->flushes++;
	}
	for (u32 i = 1; i + 1 < n; i++) {
		const u8 *dsc = model_desc(m, chain[i]);
		u8 *buf = (u8 *)(uintptr_t)le64(dsc);
		u32 len = le32(dsc + 8);

		assert_true(len > 0 && len % VIRTIO_BLK_SECTOR == 0);
		assert_true(pos + len <= DISK_BYTES);
		assert_int_equal(!!(le16(dsc + 12) & VIRTQ_DESC_F_WRITE), type == VIRTIO_BLK_T_IN);
		if (m->bad_sector != UINT64_MAX && m->bad_sector * VIRTIO_BLK_SECTOR >= pos &&
		    m->bad_sector * VIRTIO_BLK_SECTOR < pos + len)
			status = VIRTIO_BLK_S_IOERR;
		if (type == VIRTIO_BLK_T_IN) {
			memcpy(buf, m->disk + pos, len);
			written += len;
		} else {
			memcpy(m->disk + pos, buf, len);
		}
		pos += len;
	}
	*(u8 *)(uintptr_t)le64(st) = status;
	for (u32 i = 0; i < n; i++)
		m->desc_busy[chain[i]] = false;
	return written + 1;
}

/* Takes every published chain; returns how many (heads in order of the avail ring). */
static u32 model_take(struct model *m, u16 *heads)
{
	u32 n = 0;

	while (m->last_avail != model_avail_idx(m))
		heads[n++] = model_avail_ring(m, m->last_avail++);
	return n;
}

static void model_complete(struct model *m, u32 id, u32 len)
{
	u8 *elem = m->mem + m->l.used_off + 4 + 8u * (m->used_idx % m->size);

	put32(elem, id);
	put32(elem + 4, len);
	m->used_idx++;
	put16(m->mem + m->l.used_off + 2, m->used_idx);
}

static struct model model;
static u8 ring_mem[65536] __attribute__((aligned(4096)));
static u8 buffers[DISK_BYTES];

static void model_init(struct virtq *q, u16 size)
{
	memset(&model, 0, sizeof(model));
	model.mem = ring_mem;
	model.size = size;
	model.bad_sector = UINT64_MAX;
	virtq_layout(size, &model.l);
	for (u32 i = 0; i < DISK_BYTES; i++)
		model.disk[i] = (u8)(i * 7 + (i >> 9));
	virtq_init(q, ring_mem, size);
	assert_int_equal(le16(ring_mem + model.l.avail_off), VIRTQ_AVAIL_F_NO_INTERRUPT);
}

static void test_request_shape(void **state)
{
	struct virtq q;
	struct virtio_blk_req_hdr hdr[4];
	u8 status[4];
	u16 heads[8];
	int head;
	u32 written;

	(void)state;
	model_init(&q, 16);
	assert_int_equal(virtio_blk_request_descs(4096, 4096), 3);
	assert_int_equal(virtio_blk_request_descs(4097 + 511, 4096), 4);
	assert_int_equal(virtio_blk_request_descs(0, 4096), 2);
	/* 8 KiB in 4 KiB segments: 4 descriptors; nothing visible before publish. */
	int h = virtio_blk_add_request(&q, &hdr[0], VIRTIO_BLK_T_IN, 3, (uintptr_t)buffers, 8192,
				       4096, &status[0]);

	assert_true(h >= 0);
	assert_int_equal(status[0], 0xFF);
	assert_int_equal(q.num_free, 12);
	assert_int_equal(model_take(&model, heads), 0);
	assert_false(virtq_next_used(&q, &head, &written));
	virtq_publish(&q);
	assert_int_equal(model_take(&model, heads), 1);
	assert_int_equal(heads[0], h);
	assert_int_equal(model_run(&model, heads[0]), 8193);
	assert_memory_equal(buffers, model.disk + 3 * 512, 8192);
	assert_int_equal(virtq_in_flight(&q), 1);
	model_complete(&model, (u32)h, 8193);
	assert_true(virtq_next_used(&q, &head, &written));
	assert_int_equal(head, h);
	assert_int_equal(written, 8193);
	assert_int_equal(status[0], VIRTIO_BLK_S_OK);
	assert_int_equal(q.num_free, 16);
	assert_int_equal(virtq_in_flight(&q), 0);
	/* Too many segments for one request, or not enough descriptors free: -1, nothing used. */
	assert_int_equal(virtio_blk_add_request(&q, &hdr[1], VIRTIO_BLK_T_IN, 0, 0, 17 * 512, 512,
						&status[1]),
			 -1);
	assert_int_equal(virtio_blk_add_request(&q, &hdr[1], VIRTIO_BLK_T_IN, 0, 0, 4096, 0,
						&status[1]),
			 -1);
	assert_true(virtio_blk_add_request(&q, &hdr[1], VIRTIO_BLK_T_IN, 0, (uintptr_t)buffers,
					   14 * 512, 512, &status[1]) >= 0);
	assert_int_equal(q.num_free, 0);
	assert_int_equal(virtio_blk_add_request(&q, &hdr[2], VIRTIO_BLK_T_FLUSH, 0, 0, 0, 512,
						&status[2]),
			 -1);
	assert_int_equal(q.num_free, 0);
	/* A used entry naming no chain in flight is reported as -1 and frees nothing. */
	model_complete(&model, 9999, 0);
	assert_true(virtq_next_used(&q, &head, &written));
	assert_int_equal(head, -1);
	assert_int_equal(q.num_free, 0);
}

static void test_write_flush_and_errors(void **state)
{
	struct virtq q;
	struct virtio_blk_req_hdr hdr[3];
	u8 status[3];
	u16 heads[8];
	int head;
	u32 written;

	(void)state;
	model_init(&q, 16);
	memset(buffers, 0xA5, 1024);
	int w = virtio_blk_add_request(&q, &hdr[0], VIRTIO_BLK_T_OUT, 100, (uintptr_t)buffers, 1024,
				       4096, &status[0]);
	int f = virtio_blk_add_request(&q, &hdr[1], VIRTIO_BLK_T_FLUSH, 0, 0, 0, 4096, &status[1]);

	model.bad_sector = 300;
	int r = virtio_blk_add_request(&q, &hdr[2], VIRTIO_BLK_T_IN, 296, (uintptr_t)buffers + 4096,
				       8 * 512, 1024, &status[2]);

	assert_true(w >= 0 && f >= 0 && r >= 0);
	virtq_publish(&q);
	assert_int_equal(model_take(&model, heads), 3);
	/* Completed in reverse order. */
	for (int i = 2; i >= 0; i--)
		model_complete(&model, heads[i], model_run(&model, heads[i]));
	assert_int_equal(model.flushes, 1);
	assert_memory_equal(model.disk + 100 * 512, buffers, 1024);
	int order[3];

	for (int i = 0; i < 3; i++) {
		assert_true(virtq_next_used(&q, &head, &written));
		order[i] = head;
	}
	assert_false(virtq_next_used(&q, &head, &written));
	assert_int_equal(order[0], r);
	assert_int_equal(order[1], f);
	assert_int_equal(order[2], w);
	assert_int_equal(status[0], VIRTIO_BLK_S_OK);
	assert_int_equal(status[1], VIRTIO_BLK_S_OK);
	assert_int_equal(status[2], VIRTIO_BLK_S_IOERR);
	assert_string_equal(virtio_blk_status_text(VIRTIO_BLK_S_IOERR),
			    "I/O error (VIRTIO_BLK_S_IOERR)");
	assert_string_equal(virtio_blk_status_text(VIRTIO_BLK_S_UNSUPP),
			    "request not supported (VIRTIO_BLK_S_UNSUPP)");
	assert_string_equal(virtio_blk_status_text(0xFF), "no status written by the device");
	assert_int_equal(q.num_free, 16);
}

/*
 * Seeded random batches of reads, completed in random order, over enough rounds that the
 * 16-bit ring indexes wrap: every byte arrives, every head comes back once, no descriptor is
 * lost or shared.
 */
static void test_random_batches(void **state)
{
	static const u16 sizes[] = { 4, 8, 64, 256 };
	const u64 wrap = 70000; /* requests through the small queues: past 2^16, the index wraps */
	struct test_rng rng = { test_seed(0x7669727471) };

	(void)state;
	for (u32 s = 0; s < JB_ARRAY_LEN(sizes); s++) {
		struct virtq q;
		u64 total = 0;

		model_init(&q, sizes[s]);
		for (u32 round = 0; sizes[s] <= 8 ? total < wrap : round < 600; round++) {
			struct virtio_blk_req_hdr hdr[QSIZE_MAX / 2];
			u8 status[QSIZE_MAX / 2];
			u64 sector[QSIZE_MAX / 2];
			u32 bytes[QSIZE_MAX / 2], off[QSIZE_MAX / 2];
			int head_of[QSIZE_MAX / 2];
			u16 heads[QSIZE_MAX];
			u32 n = 0, used = 0;
			u32 seg = 512u << rng_below(&rng, 4);
			u32 fit = (u32)(sizes[s] - 2) * (seg / 512); /* sectors one request can hold */

			while (n < QSIZE_MAX / 2 && rng_chance(&rng, 90)) {
				u32 sectors = (u32)rng_range(&rng, 1, fit < 8 ? fit : 8);

				sector[n] = rng_below(&rng, DISK_BYTES / 512 - sectors + 1);
				bytes[n] = sectors * 512;
				/* Requests must not share buffers: each has its own slice. */
				off[n] = (u32)(n * (DISK_BYTES / (QSIZE_MAX / 2)));
				head_of[n] = virtio_blk_add_request(&q, &hdr[n], VIRTIO_BLK_T_IN,
								    sector[n],
								    (uintptr_t)buffers + off[n],
								    bytes[n], seg, &status[n]);
				if (head_of[n] < 0) {
					assert_true(q.num_free <
						    virtio_blk_request_descs(bytes[n], seg));
					break;
				}
				used += virtio_blk_request_descs(bytes[n], seg);
				n++;
			}
			assert_int_equal(q.num_free, sizes[s] - used);
			virtq_publish(&q);
			u32 taken = model_take(&model, heads);

			assert_int_equal(taken, n);
			for (u32 i = taken; i > 1; i--) { /* shuffle: any completion order */
				u32 j = (u32)rng_below(&rng, i);
				u16 t = heads[i - 1];

				heads[i - 1] = heads[j];
				heads[j] = t;
			}
			for (u32 i = 0; i < taken; i++)
				model_complete(&model, heads[i], model_run(&model, heads[i]));
			bool seen[QSIZE_MAX / 2] = { false };
			int head;
			u32 written;

			for (u32 i = 0; i < taken; i++) {
				assert_true(virtq_next_used(&q, &head, &written));
				u32 k = 0;

				while (k < n && head_of[k] != head)
					k++;
				assert_true(k < n);
				assert_false(seen[k]);
				seen[k] = true;
				assert_int_equal(written, bytes[k] + 1);
				assert_int_equal(status[k], VIRTIO_BLK_S_OK);
				assert_memory_equal(buffers + off[k], model.disk + sector[k] * 512,
						    bytes[k]);
			}
			assert_false(virtq_next_used(&q, &head, &written));
			assert_int_equal(q.num_free, sizes[s]);
			assert_int_equal(virtq_in_flight(&q), 0);
			total += n;
		}
		assert_true(total >= (sizes[s] <= 8 ? wrap : 600));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps_qemu_layout),
		cmocka_unit_test(test_caps_cases),
		cmocka_unit_test(test_caps_loop),
		cmocka_unit_test(test_caps_random),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_write_flush_and_errors),
		cmocka_unit_test(test_random_batches),
	};

	return cmocka_run_group_tests_name("virtio", tests, NULL, NULL);
}
