/*
 * Native virtio-blk driver (virtio v1.0 cs04): modern PCI transport (§4.1), device
 * initialisation (§3.1.1), one split virtqueue (§2.4) polled, virtio-blk requests (§5.2.6).
 * Transitional devices (0x1001) are driven through their modern capabilities. A read is cut
 * into requests that are all in flight together; a write is followed by a flush. At the
 * hand-off the device is reset and bus mastering turned off.
 */
#include "virtio_blk.h"

#include "console.h"
#include "cpu.h"
#include "fmt.h"
#include "pci.h"
#include "timer.h"
#include "virtio.h"

#define VBLK_QUEUE_SIZE 128u        /* at most; the device may offer fewer */
#define VBLK_SLOTS 8u               /* requests in flight */
#define VBLK_REQ_BYTES (2u << 20)   /* per request */
#define VBLK_SEG_BYTES (2u << 20)   /* per descriptor, unless SIZE_MAX says less */
#define VBLK_MAX_SEGS 16u           /* data descriptors per request, unless SEG_MAX says less */
#define VBLK_RESET_MS 1000          /* §4.1.4.3.2: the driver waits for status to read 0 */
#define VBLK_CMD_TIMEOUT_MS 15000
#define VBLK_CFG_TRIES 100          /* reads of the device configuration until it holds still */
#define VBLK_ID_BYTES 20            /* VIRTIO_BLK_T_GET_ID: the serial, not NUL-terminated */
#define FOUR_GIB (1ull << 32)

/* How one register region is reached: MMIO below 4 GiB, I/O ports, or (for a BAR above
 * 4 GiB, where the stub's flat 32-bit space cannot reach) the PCI configuration access
 * capability, §4.1.4.7. */
enum vio_access { VIO_MMIO, VIO_PORT, VIO_PCICFG };

struct vio_regs {
	enum vio_access how;
	uintptr_t base; /* MMIO address or I/O port of the region */
	u8 bar;         /* VIO_PCICFG: the BAR and the offset of the region in it */
	u32 bar_offset;
};

struct vblk_slot {
	u64 lba;
	u32 count;
	u64 phys;
	int head;    /* its descriptor chain in the queue */
	bool issued; /* the slot carries a request of the batch */
	bool done;
};

struct vblk_dev {
	struct pci_dev pci;
	u32 index;
	bool transitional;
	bool live; /* DRIVER_OK with our queue */
	struct vio_regs common, device;
	struct vio_regs notify_base, notify; /* the notification region; queue 0's doorbell */
	u32 notify_mult;
	u32 notify_len; /* bytes of the notification region */
	u8 pcicfg_cap; /* offset of the PCI configuration access capability, or 0 */
	u64 features;  /* negotiated */
	u16 qsize;
	u32 seg_bytes;
	u32 req_blocks; /* logical blocks per request */
	u32 slots;
	u32 blk_size;   /* logical block: 512 or 4096 bytes; requests address 512-byte sectors */
	u64 capacity;   /* in 512-byte sectors, §5.2.4 */
	struct virtq vq;
	u32 type; /* of the batch in flight */
	u32 announced;
	char name[16];
};

static struct vblk_dev dev;
static u8 vq_mem[4096] __attribute__((aligned(4096)));
static struct virtio_blk_req_hdr req_hdr[VBLK_SLOTS] __attribute__((aligned(16)));
static volatile u8 req_status[VBLK_SLOTS];
static struct vblk_slot slot[VBLK_SLOTS];
static char id_buf[VBLK_ID_BYTES + 1] __attribute__((aligned(16)));

_Static_assert(16u * VBLK_QUEUE_SIZE + 8u + 2u * VBLK_QUEUE_SIZE + 8u + 8u * VBLK_QUEUE_SIZE +
			       2u * VBLK_QUEUE_SIZE <=
		       sizeof(vq_mem),
	       "virtqueue memory");

/* ---- register access ---- */

static void vio_pcicfg_select(const struct vio_regs *r, u32 off, u32 width)
{
	pci_write32(dev.pci, (u8)(dev.pcicfg_cap + VIRTIO_CAP_BAR), r->bar);
	pci_write32(dev.pci, (u8)(dev.pcicfg_cap + VIRTIO_CAP_OFFSET), r->bar_offset + off);
	pci_write32(dev.pci, (u8)(dev.pcicfg_cap + VIRTIO_CAP_LENGTH), width);
}

static u32 vio_read(const struct vio_regs *r, u32 off, u32 width)
{
	switch (r->how) {
	case VIO_PORT:
		return width == 1 ? inb((u16)(r->base + off))
		       : width == 2 ? inw((u16)(r->base + off))
				    : inl((u16)(r->base + off));
	case VIO_PCICFG: {
		vio_pcicfg_select(r, off, width);
		u32 v = pci_read32(dev.pci, (u8)(dev.pcicfg_cap + VIRTIO_CAP_PCI_CFG_DATA));

		return width == 4 ? v : v & ((1u << (8 * width)) - 1);
	}
	case VIO_MMIO:
	default:
		return width == 1 ? mmio_read8(r->base + off)
		       : width == 2 ? mmio_read16(r->base + off)
				    : mmio_read32(r->base + off);
	}
}

static void vio_write(const struct vio_regs *r, u32 off, u32 width, u32 v)
{
	switch (r->how) {
	case VIO_PORT:
		if (width == 1)
			outb((u16)(r->base + off), (u8)v);
		else if (width == 2)
			outw((u16)(r->base + off), (u16)v);
		else
			outl((u16)(r->base + off), v);
		return;
	case VIO_PCICFG:
		vio_pcicfg_select(r, off, width);
		pci_write32(dev.pci, (u8)(dev.pcicfg_cap + VIRTIO_CAP_PCI_CFG_DATA), v);
		return;
	case VIO_MMIO:
	default:
		if (width == 1)
			mmio_write8(r->base + off, (u8)v);
		else if (width == 2)
			mmio_write16(r->base + off, (u16)v);
		else
			mmio_write32(r->base + off, v);
	}
}

static u8 common_read8(u32 off)
{
	return (u8)vio_read(&dev.common, off, 1);
}

static u16 common_read16(u32 off)
{
	return (u16)vio_read(&dev.common, off, 2);
}

static u32 common_read32(u32 off)
{
	return vio_read(&dev.common, off, 4);
}

static void common_write8(u32 off, u8 v)
{
	vio_write(&dev.common, off, 1, v);
}

static void common_write16(u32 off, u16 v)
{
	vio_write(&dev.common, off, 2, v);
}

static void common_write32(u32 off, u32 v)
{
	vio_write(&dev.common, off, 4, v);
}

static void common_write64(u32 off, u64 v)
{
	common_write32(off, (u32)v);
	common_write32(off + 4, (u32)(v >> 32));
}

/* ---- finding the device ---- */

static bool vblk_is_blk(struct pci_dev p)
{
	u32 id = pci_read32(p, PCI_VENDOR_ID);

	if ((id & 0xFFFF) != VIRTIO_PCI_VENDOR)
		return false;
	/* §4.1.2.1: a transitional block device is 0x1001 (subsystem device ID 2). */
	return id >> 16 == VIRTIO_PCI_DEVICE_BLK_MODERN ||
	       id >> 16 == VIRTIO_PCI_DEVICE_BLK_TRANSITIONAL;
}

/* Reads p's configuration space and finds its virtio 1.0 capabilities; 0 or -JB_E*. */
static int vblk_caps(struct pci_dev p, struct virtio_pci_caps *caps, struct jb_diag *why)
{
	static u8 cfg[256];

	for (u32 off = 0; off < sizeof(cfg); off += 4) {
		u32 v = pci_read32(p, (u8)off);

		cfg[off] = (u8)v;
		cfg[off + 1] = (u8)(v >> 8);
		cfg[off + 2] = (u8)(v >> 16);
		cfg[off + 3] = (u8)(v >> 24);
	}
	return virtio_pci_caps_parse(cfg, sizeof(cfg), caps, why);
}

static const bool vblk_modern = true, vblk_legacy = false;

/* A virtio-blk function with the virtio 1.0 interface (*ctx true: the ones this driver runs)
 * or without it (*ctx false: legacy-only devices, left to the BIOS). */
static bool vblk_matches(struct pci_dev p, const void *ctx)
{
	struct virtio_pci_caps caps;
	struct jb_diag ignored;

	return vblk_is_blk(p) && (vblk_caps(p, &caps, &ignored) == 0) == *(const bool *)ctx;
}

u32 virtio_blk_count(struct jb_diag *why)
{
	struct pci_dev p;
	u32 n = 0, legacy = 0;

	while (pci_find(vblk_matches, &vblk_modern, n, &p))
		n++;
	if (n)
		return n;
	while (pci_find(vblk_matches, &vblk_legacy, legacy, &p))
		legacy++;
	if (legacy)
		diag_fail(why, -JB_ENODEV,
			  "%u legacy-only virtio-blk device%s (no virtio 1.0 interface; the BIOS"
			  " reads %s)",
			  legacy, legacy > 1 ? "s" : "", legacy > 1 ? "them" : "it");
	else
		diag_fail(why, -JB_ENODEV, "no virtio-blk device (PCI 1af4:1042 or 1af4:1001)");
	return 0;
}

/*
 * Resolves one capability's region to an access method. A BAR the firmware left unassigned
 * is refused; one above 4 GiB is reached through the PCI configuration access capability.
 */
static int vblk_region(const struct virtio_region *reg, struct vio_regs *out, const char *what,
		       struct jb_diag *d)
{
	u8 bar_reg = (u8)(PCI_BAR0 + 4 * reg->bar);
	u32 lo = pci_read32(dev.pci, bar_reg);
	u64 base;

	if (lo & 1u) { /* I/O space */
		*out = (struct vio_regs){ .how = VIO_PORT, .base = (lo & ~3u) + reg->offset };
		if ((lo & ~3u) == 0)
			goto unassigned;
		return 0;
	}
	base = lo & ~0xFull;
	if (((lo >> 1) & 3u) == 2u) { /* 64-bit memory BAR: the next BAR holds the high half */
		if (reg->bar == 5)
			return diag_fail(d, -JB_ENODEV, "%s: 64-bit BAR5 has no upper half", dev.name);
		base |= (u64)pci_read32(dev.pci, (u8)(bar_reg + 4)) << 32;
	}
	if (base == 0)
		goto unassigned;
	if (base + reg->offset + reg->length <= FOUR_GIB) {
		*out = (struct vio_regs){ .how = VIO_MMIO, .base = (uintptr_t)(base + reg->offset) };
		return 0;
	}
	if (!dev.pcicfg_cap)
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "%s: the %s registers are at 0x%llx (BAR%u), above 4 GiB, and the"
				 " device has no PCI configuration access capability",
				 dev.name, what, (unsigned long long)base, reg->bar);
	*out = (struct vio_regs){ .how = VIO_PCICFG, .bar = reg->bar, .bar_offset = reg->offset };
	return 0;
unassigned:
	return diag_fail(d, -JB_ENODEV,
			 "%s: BAR%u (the %s registers) was left unassigned by the firmware",
			 dev.name, reg->bar, what);
}

static int vblk_find(u32 index, struct jb_diag *d)
{
	struct virtio_pci_caps caps;
	struct jb_diag why;

	if (!pci_find(vblk_matches, &vblk_modern, index, &dev.pci)) {
		u32 n = virtio_blk_count(&why);

		if (n == 0)
			return diag_fail(d, -JB_ENODEV, "no virtio-blk disk %u: %s", index, why.text);
		return diag_fail(d, -JB_ENODEV,
				 "no virtio-blk disk %u: the machine has %u (virtio:0 to virtio:%u,"
				 " in PCI order)",
				 index, n, n - 1);
	}
	dev.index = index;
	dev.transitional = pci_read32(dev.pci, PCI_VENDOR_ID) >> 16 ==
			   VIRTIO_PCI_DEVICE_BLK_TRANSITIONAL;
	fmt_buf(dev.name, sizeof(dev.name), "virtio:%u", index);
	int rc = vblk_caps(dev.pci, &caps, &why);

	if (rc)
		return diag_fail(d, rc, "%s (PCI %02x:%02x.%u): %s; only virtio 1.0 devices are driven",
				 dev.name, dev.pci.bus, dev.pci.dev, dev.pci.fn, why.text);
	dev.pcicfg_cap = caps.cfg[VIRTIO_PCI_CAP_PCI_CFG].present
				 ? caps.cfg[VIRTIO_PCI_CAP_PCI_CFG].cap_at
				 : 0;
	/* Memory and I/O decoding for the registers, bus mastering for the queue. */
	pci_write16(dev.pci, PCI_COMMAND,
		    (u16)(pci_read16(dev.pci, PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_IO |
			  PCI_COMMAND_MASTER));
	rc = vblk_region(&caps.cfg[VIRTIO_PCI_CAP_COMMON_CFG], &dev.common, "common", d);
	if (rc == 0)
		rc = vblk_region(&caps.cfg[VIRTIO_PCI_CAP_DEVICE_CFG], &dev.device, "device", d);
	if (rc)
		return rc;
	if (caps.cfg[VIRTIO_PCI_CAP_COMMON_CFG].length < VIRTIO_COMMON_SIZE)
		return diag_fail(d, -JB_ENODEV, "%s: common configuration of %u bytes (want %u)",
				 dev.name, caps.cfg[VIRTIO_PCI_CAP_COMMON_CFG].length,
				 VIRTIO_COMMON_SIZE);
	/* Queue 0's doorbell inside this region is known once the queue is selected. */
	dev.notify_mult = caps.notify_off_multiplier;
	dev.notify_len = caps.cfg[VIRTIO_PCI_CAP_NOTIFY_CFG].length;
	return vblk_region(&caps.cfg[VIRTIO_PCI_CAP_NOTIFY_CFG], &dev.notify_base, "notification",
			   d);
}

/* ---- initialisation, §3.1.1 ---- */

/* Writes 0 to device_status and waits for it to read 0 (§4.1.4.3.2): no more DMA after. */
static int vblk_reset(void)
{
	struct deadline dl = deadline_in_ms(VBLK_RESET_MS);

	dev.live = false;
	common_write8(VIRTIO_COMMON_STATUS, 0);
	while (common_read8(VIRTIO_COMMON_STATUS) != 0) {
		if (deadline_passed(dl))
			return -JB_ETIMEDOUT;
		cpu_relax();
	}
	return 0;
}

static u64 vblk_device_features(void)
{
	common_write32(VIRTIO_COMMON_DFSELECT, 0);
	u64 f = common_read32(VIRTIO_COMMON_DF);

	common_write32(VIRTIO_COMMON_DFSELECT, 1);
	return f | (u64)common_read32(VIRTIO_COMMON_DF) << 32;
}

static bool has_feature(u32 bit)
{
	return (dev.features >> bit) & 1u;
}

/* §4.1.4.3: device configuration read consistently under config_generation. */
static int vblk_read_config(void)
{
	u8 gen;
	u32 tries = 0;

	do {
		if (tries++ == VBLK_CFG_TRIES)
			return -JB_ETIMEDOUT;
		gen = common_read8(VIRTIO_COMMON_CFGGEN);
		dev.capacity = vio_read(&dev.device, VIRTIO_BLK_CFG_CAPACITY, 4) |
			       (u64)vio_read(&dev.device, VIRTIO_BLK_CFG_CAPACITY + 4, 4) << 32;
		dev.blk_size = has_feature(VIRTIO_BLK_F_BLK_SIZE)
				       ? vio_read(&dev.device, VIRTIO_BLK_CFG_BLK_SIZE, 4)
				       : VIRTIO_BLK_SECTOR;
		u32 size_max = has_feature(VIRTIO_BLK_F_SIZE_MAX)
				       ? vio_read(&dev.device, VIRTIO_BLK_CFG_SIZE_MAX, 4)
				       : VBLK_SEG_BYTES;
		u32 seg_max = has_feature(VIRTIO_BLK_F_SEG_MAX)
				      ? vio_read(&dev.device, VIRTIO_BLK_CFG_SEG_MAX, 4)
				      : VBLK_MAX_SEGS;

		/* Segments hold whole blocks; blk_size is a power of two (checked by the caller). */
		dev.seg_bytes = (size_max < VBLK_SEG_BYTES ? size_max : VBLK_SEG_BYTES) &
				~(dev.blk_size - 1);
		u32 segs = seg_max == 0 || seg_max > VBLK_MAX_SEGS ? VBLK_MAX_SEGS : seg_max;
		u64 req = (u64)segs * dev.seg_bytes;

		dev.req_blocks = (u32)((req < VBLK_REQ_BYTES ? req : VBLK_REQ_BYTES) / dev.blk_size);
	} while (common_read8(VIRTIO_COMMON_CFGGEN) != gen);
	return 0;
}

static int vblk_fail_status(const char *step, struct jb_diag *d)
{
	u8 status = common_read8(VIRTIO_COMMON_STATUS);

	common_write8(VIRTIO_COMMON_STATUS, (u8)(status | VIRTIO_STATUS_FAILED));
	return diag_fail(d, -JB_ENODEV, "%s: %s (device status 0x%02x)", dev.name, step, status);
}

/* Sets up queue 0 over vq_mem (§4.1.5.1.3) and enables it. */
static int vblk_queue_setup(struct jb_diag *d)
{
	common_write16(VIRTIO_COMMON_Q_SELECT, 0);
	u16 offered = common_read16(VIRTIO_COMMON_Q_SIZE);
	u16 size = 1;

	if (common_read16(VIRTIO_COMMON_NUMQ) == 0 || offered == 0)
		return vblk_fail_status("the device has no request queue", d);
	while (size * 2u <= offered && size * 2u <= VBLK_QUEUE_SIZE)
		size = (u16)(size * 2u);
	if (size < 4)
		return vblk_fail_status("the request queue has fewer than 4 entries", d);
	struct virtq_layout l;

	virtq_layout(size, &l);
	virtq_init(&dev.vq, vq_mem, size);
	dev.qsize = size;
	common_write16(VIRTIO_COMMON_Q_SIZE, size);
	common_write16(VIRTIO_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
	common_write64(VIRTIO_COMMON_Q_DESCLO, (uintptr_t)vq_mem);
	common_write64(VIRTIO_COMMON_Q_AVAILLO, (uintptr_t)vq_mem + l.avail_off);
	common_write64(VIRTIO_COMMON_Q_USEDLO, (uintptr_t)vq_mem + l.used_off);
	common_write16(VIRTIO_COMMON_Q_ENABLE, 1);
	return 0;
}

/* §3.1.1 steps 1-8: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queue, DRIVER_OK. */
static int vblk_init(struct jb_diag *d)
{
	static const u32 wanted[] = { VIRTIO_F_VERSION_1, VIRTIO_F_ACCESS_PLATFORM,
				      VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_SEG_MAX,
				      VIRTIO_BLK_F_RO, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH };

	if (vblk_reset())
		return diag_fail(d, -JB_ETIMEDOUT, "%s: device did not reset within %u ms", dev.name,
				 VBLK_RESET_MS);
	common_write8(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	common_write8(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	u64 offered = vblk_device_features();

	if (!((offered >> VIRTIO_F_VERSION_1) & 1u))
		return vblk_fail_status("the device does not offer VIRTIO_F_VERSION_1", d);
	dev.features = 0;
	for (u32 i = 0; i < JB_ARRAY_LEN(wanted); i++)
		dev.features |= offered & (1ull << wanted[i]);
	common_write32(VIRTIO_COMMON_GFSELECT, 0);
	common_write32(VIRTIO_COMMON_GF, (u32)dev.features);
	common_write32(VIRTIO_COMMON_GFSELECT, 1);
	common_write32(VIRTIO_COMMON_GF, (u32)(dev.features >> 32));
	common_write8(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						    VIRTIO_STATUS_FEATURES_OK);
	if (!(common_read8(VIRTIO_COMMON_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return vblk_fail_status("the device refused features (FEATURES_OK not kept)", d);
	if (vblk_read_config())
		return vblk_fail_status("the device configuration kept changing while read", d);
	if (dev.blk_size != 512 && dev.blk_size != 4096)
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "%s: logical blocks of %u bytes (blk_size); only 512 and 4096 are"
				 " supported",
				 dev.name, dev.blk_size);
	if (dev.seg_bytes == 0)
		return vblk_fail_status("size_max is below one block", d);
	int rc = vblk_queue_setup(d);

	if (rc)
		return rc;
	common_write16(VIRTIO_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR);
	/* §4.1.4.4: queue 0's doorbell is at queue_notify_off * notify_off_multiplier. */
	dev.notify = dev.notify_base;
	u32 noff = common_read16(VIRTIO_COMMON_Q_NOFF) * dev.notify_mult;

	if (noff > dev.notify_len || dev.notify_len - noff < 2)
		return vblk_fail_status("queue 0's doorbell lies outside the notification region", d);
	if (dev.notify.how == VIO_PCICFG)
		dev.notify.bar_offset += noff;
	else
		dev.notify.base += noff;
	u32 per_req = virtio_blk_request_descs(dev.req_blocks * dev.blk_size, dev.seg_bytes);

	dev.slots = dev.qsize / per_req < VBLK_SLOTS ? dev.qsize / per_req : VBLK_SLOTS;
	if (dev.slots == 0) {
		dev.req_blocks = (dev.qsize - 2u) * dev.seg_bytes / dev.blk_size;
		dev.slots = 1;
	}
	common_write8(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						    VIRTIO_STATUS_FEATURES_OK |
						    VIRTIO_STATUS_DRIVER_OK);
	u8 status = common_read8(VIRTIO_COMMON_STATUS);

	if (status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED) ||
	    !(status & VIRTIO_STATUS_DRIVER_OK))
		return vblk_fail_status("the device did not accept DRIVER_OK", d);
	dev.live = true;
	return 0;
}

/* ---- requests ---- */

static void vblk_notify(void)
{
	vio_write(&dev.notify, 0, 2, 0); /* queue index 0 */
}

/*
 * Queues a batch: logical blocks [lba, +count) cut into requests of req_blocks, one per
 * slot, all in flight together. count must fit slots * req_blocks.
 */
static void vblk_submit(u32 type, u64 lba, u32 count, u64 phys)
{
	dev.type = type;
	for (u32 i = 0; i < dev.slots; i++) {
		u32 n = count < dev.req_blocks ? count : dev.req_blocks;
		bool issued = n > 0 || (i == 0 && type == VIRTIO_BLK_T_FLUSH);

		slot[i] = (struct vblk_slot){ lba, n, phys, -1, issued, !issued };
		if (!issued)
			continue;
		/* §5.2.6: the request's sector is in 512-byte units whatever the block size. */
		slot[i].head = virtio_blk_add_request(
			&dev.vq, &req_hdr[i], type, lba * (dev.blk_size / VIRTIO_BLK_SECTOR), phys,
			n * dev.blk_size, dev.seg_bytes, &req_status[i]);
		if (slot[i].head < 0) /* cannot happen: slots are sized to the queue */
			slot[i].done = true; /* its status stays 0xFF: "no status written" */
		lba += n;
		count -= n;
		phys += (u64)n * dev.blk_size;
	}
	virtq_publish(&dev.vq);
	vblk_notify();
}

static const char *vblk_type_name(u32 type)
{
	return type == VIRTIO_BLK_T_IN	  ? "read"
	       : type == VIRTIO_BLK_T_OUT ? "write"
	       : type == VIRTIO_BLK_T_FLUSH ? "flush"
					    : "identify";
}

/* After a timeout: reset the device (it stops all DMA) and set it up again for retries. */
static void vblk_restart(void)
{
	struct jb_diag why;

	if (vblk_init(&why))
		kprintf("warning: %s\n", why.text);
}

/* Waits until every request of the batch is back; 0 or -JB_ETIMEDOUT (device reset). */
/* Takes every used buffer returned so far; the first slot still pending, or dev.slots. */
static u32 vblk_collect(void)
{
	int head;
	u32 written, first_pending = dev.slots;

	while (virtq_next_used(&dev.vq, &head, &written))
		for (u32 i = 0; i < dev.slots; i++)
			if (slot[i].issued && slot[i].head == head)
				slot[i].done = true;
	for (u32 i = dev.slots; i-- > 0;)
		if (!slot[i].done)
			first_pending = i;
	return first_pending;
}

static int vblk_wait_all(struct jb_diag *d)
{
	struct deadline dl = deadline_in_ms(VBLK_CMD_TIMEOUT_MS);

	for (;;) {
		u32 first_pending = vblk_collect();

		if (first_pending == dev.slots)
			return 0;
		if (deadline_passed(dl)) {
			const struct vblk_slot *late = &slot[first_pending];

			/* The device still owns the queue: a reset takes it back. */
			vblk_restart();
			return diag_fail(d, -JB_ETIMEDOUT,
					 "%s: %s at LBA %llu (+%u sectors) did not complete within %u"
					 " ms",
					 dev.name, vblk_type_name(dev.type),
					 (unsigned long long)late->lba, late->count,
					 VBLK_CMD_TIMEOUT_MS);
		}
		cpu_relax();
	}
}

static int vblk_slot_error(u32 i, struct jb_diag *d)
{
	return diag_fail(d, -JB_EIO, "%s: %s at LBA %llu (+%u sectors) failed: %s", dev.name,
			 vblk_type_name(dev.type), (unsigned long long)slot[i].lba, slot[i].count,
			 virtio_blk_status_text(req_status[i]));
}

/*
 * Waits for the batch; 0, or -JB_E* naming the request that failed. QEMU merges adjacent
 * requests of a batch into one disk access, so one bad sector fails all of them: then each
 * failed request is issued again alone, which names the one that holds the bad sector.
 */
static int vblk_wait(struct jb_diag *d)
{
	struct vblk_slot failed[VBLK_SLOTS];
	u32 nfailed = 0, last = 0, type = dev.type;
	int rc = vblk_wait_all(d);

	if (rc)
		return rc;
	for (u32 i = 0; i < dev.slots; i++)
		if (slot[i].issued && req_status[i] != VIRTIO_BLK_S_OK) {
			failed[nfailed++] = slot[i];
			last = i;
		}
	if (nfailed <= 1)
		return nfailed ? vblk_slot_error(last, d) : 0;
	for (u32 k = 0; k < nfailed; k++) {
		vblk_submit(type, failed[k].lba, failed[k].count, failed[k].phys);
		rc = vblk_wait_all(d);
		if (rc)
			return rc;
		if (req_status[0] != VIRTIO_BLK_S_OK)
			return vblk_slot_error(0, d);
	}
	kprintf("warning: %s: %s at LBA %llu (+%u sectors) failed: %s; its %u requests"
		" succeeded when issued alone\n",
		dev.name, vblk_type_name(type), (unsigned long long)failed[0].lba,
		(u32)(failed[nfailed - 1].lba + failed[nfailed - 1].count - failed[0].lba),
		virtio_blk_status_text(VIRTIO_BLK_S_IOERR), nfailed);
	return 0;
}

static int vblk_check(struct jb_diag *d, u32 count)
{
	if (!dev.live)
		return diag_fail(d, -JB_ENODEV, "%s: the device is not running", dev.name);
	if (count == 0 || count > dev.slots * dev.req_blocks)
		return diag_fail(d, -JB_EINVAL, "%s: bad sector count %u", dev.name, count);
	return 0;
}

static int vblk_read(struct disk *dk, u64 lba, u32 count, u64 phys, struct jb_diag *d)
{
	int rc = vblk_check(d, count);

	(void)dk;
	if (rc)
		return rc;
	vblk_submit(VIRTIO_BLK_T_IN, lba, count, phys);
	return vblk_wait(d);
}

static int vblk_write(struct disk *dk, u64 lba, u32 count, const void *buf, struct jb_diag *d)
{
	int rc = vblk_check(d, count);

	(void)dk;
	if (rc)
		return rc;
	if (has_feature(VIRTIO_BLK_F_RO))
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "%s: the disk is read-only (VIRTIO_BLK_F_RO); cannot mark the image"
				 " used (use keep, or make the disk writable)",
				 dev.name);
	vblk_submit(VIRTIO_BLK_T_OUT, lba, count, (uintptr_t)buf);
	rc = vblk_wait(d);
	if (rc || !has_feature(VIRTIO_BLK_F_FLUSH))
		return rc;
	/* §5.2.6.2: with FLUSH negotiated the write may sit in a cache until flushed. */
	vblk_submit(VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	return vblk_wait(d);
}

static void vblk_read_submit(struct disk *dk, u64 lba, u32 count, u64 phys)
{
	(void)dk;
	vblk_submit(VIRTIO_BLK_T_IN, lba, count, phys);
}

static int vblk_read_wait(struct disk *dk, struct jb_diag *d)
{
	(void)dk;
	return vblk_wait(d);
}

static bool vblk_read_ready(struct disk *dk)
{
	(void)dk;
	return vblk_collect() == dev.slots;
}

static void vblk_quiesce(struct disk *dk)
{
	(void)dk;
	if (vblk_reset())
		kprintf("warning: %s: device did not reset within %u ms\n", dev.name,
			VBLK_RESET_MS);
	pci_write16(dev.pci, PCI_COMMAND,
		    (u16)(pci_read16(dev.pci, PCI_COMMAND) & ~PCI_COMMAND_MASTER));
}

static const struct disk_ops vblk_ops = {
	.read = vblk_read,
	.write = vblk_write,
	.read_submit = vblk_read_submit,
	.read_wait = vblk_read_wait,
	.read_ready = vblk_read_ready,
	.quiesce = vblk_quiesce,
};

/* The serial number (VIRTIO_BLK_T_GET_ID, a request outside the 1.0 text that QEMU and
 * Linux use); empty when the device does not answer it. */
static void vblk_get_id(void)
{
	struct jb_diag ignored;

	for (u32 i = 0; i < sizeof(id_buf); i++)
		id_buf[i] = '\0';
	dev.type = VIRTIO_BLK_T_GET_ID;
	for (u32 i = 0; i < dev.slots; i++)
		slot[i] = (struct vblk_slot){ .head = -1, .issued = i == 0, .done = i != 0 };
	slot[0].head = virtio_blk_add_request(&dev.vq, &req_hdr[0], VIRTIO_BLK_T_GET_ID, 0,
					      (uintptr_t)id_buf, VBLK_ID_BYTES, dev.seg_bytes,
					      &req_status[0]);
	slot[0].done = slot[0].head < 0;
	virtq_publish(&dev.vq);
	vblk_notify();
	if (vblk_wait(&ignored))
		id_buf[0] = '\0';
	id_buf[VBLK_ID_BYTES] = '\0';
}

int virtio_blk_open(u32 index, struct disk *out, struct jb_diag *d)
{
	if (dev.live && dev.index != index)
		vblk_quiesce(NULL);
	int rc = vblk_find(index, d);

	if (rc)
		return rc;
	rc = vblk_init(d);
	if (rc)
		return rc;
	*out = (struct disk){
		.sectors = dev.capacity / (dev.blk_size / VIRTIO_BLK_SECTOR),
		.sector_size = dev.blk_size,
		.max_sectors = dev.slots * dev.req_blocks,
		.dma_align = 1, /* descriptors take any byte address */
		.dma_limit = UINT64_MAX,
		.ops = &vblk_ops,
		.priv = &dev,
	};
	fmt_buf(out->name, sizeof(out->name), "%s", dev.name);
	if (dev.announced & (1u << (index & 31)))
		return 0;
	dev.announced |= 1u << (index & 31); /* a scan and the final open both come here */
	vblk_get_id();
	kprintf("%s: virtio-blk%s%s, %llu MiB, %llu sectors of %u bytes, virtio 1.0 %s device"
		" %02x:%02x.%u, registers %s, %u requests of %u KiB in flight\n",
		dev.name, id_buf[0] ? " " : "", id_buf, (unsigned long long)(dev.capacity >> 11),
		(unsigned long long)out->sectors, out->sector_size,
		dev.transitional ? "transitional" : "modern", dev.pci.bus, dev.pci.dev, dev.pci.fn,
		dev.common.how == VIO_MMIO ? "by MMIO"
		: dev.common.how == VIO_PORT ? "by I/O ports"
					     : "through PCI configuration space (BAR above 4 GiB)",
		dev.slots, dev.req_blocks * dev.blk_size / 1024);
	return 0;
}
