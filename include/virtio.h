/*
 * Virtio 1.0 (OASIS virtio v1.0 cs04) pieces that need no hardware: the PCI capability list
 * of a modern device (§4.1.4), the split virtqueue (§2.4) and virtio-blk requests (§5.2.6).
 * Pure: lib/virtio_pci.c and lib/virtq.c build into the stub and the unit tests.
 */
#ifndef JB_VIRTIO_H
#define JB_VIRTIO_H

#include "diag.h"
#include "types.h"

#define VIRTIO_PCI_VENDOR 0x1AF4
#define VIRTIO_PCI_DEVICE_BLK_MODERN 0x1042 /* 0x1040 + device type 2, §4.1.2 */
#define VIRTIO_PCI_DEVICE_BLK_TRANSITIONAL 0x1001

/* ---- §4.1.4 capabilities: struct virtio_pci_cap in PCI configuration space ---- */
#define PCI_CFG_STATUS 0x06
#define PCI_CFG_STATUS_CAP_LIST (1u << 4)
#define PCI_CFG_CAP_PTR 0x34
#define PCI_CAP_ID_VENDOR 0x09

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5
#define VIRTIO_PCI_CAP_TYPES 6 /* index 0 unused */

/* Offsets inside one capability. */
#define VIRTIO_CAP_LEN 2
#define VIRTIO_CAP_CFG_TYPE 3
#define VIRTIO_CAP_BAR 4
#define VIRTIO_CAP_OFFSET 8
#define VIRTIO_CAP_LENGTH 12
#define VIRTIO_CAP_NOTIFY_MULT 16 /* notify capability only, §4.1.4.4 */
#define VIRTIO_CAP_PCI_CFG_DATA 16 /* PCI configuration access capability only, §4.1.4.7 */
#define VIRTIO_CAP_MIN_LEN 16

/* One region of a device's registers: `length` bytes at `offset` inside BAR `bar`. */
struct virtio_region {
	bool present;
	u8 bar;
	u8 cap_at; /* the capability's own offset in configuration space */
	u32 offset;
	u32 length;
};

struct virtio_pci_caps {
	struct virtio_region cfg[VIRTIO_PCI_CAP_TYPES]; /* by VIRTIO_PCI_CAP_* */
	u32 notify_off_multiplier;
};

/*
 * Walks the capability list of a 256-byte configuration space image and records the first
 * capability of each virtio type whose BAR is valid (§4.1.4: a driver uses the first one it
 * understands). 0, or -JB_ENODEV when the common, notify or device region is missing, with
 * d saying which; a list that loops or leaves the space is -JB_ENODEV too.
 */
int virtio_pci_caps_parse(const u8 *cfg, size_t len, struct virtio_pci_caps *out,
			  struct jb_diag *d);

/* ---- §4.1.4.3 common configuration structure: register offsets ---- */
#define VIRTIO_COMMON_DFSELECT 0x00
#define VIRTIO_COMMON_DF 0x04
#define VIRTIO_COMMON_GFSELECT 0x08
#define VIRTIO_COMMON_GF 0x0C
#define VIRTIO_COMMON_MSIX 0x10
#define VIRTIO_COMMON_NUMQ 0x12
#define VIRTIO_COMMON_STATUS 0x14
#define VIRTIO_COMMON_CFGGEN 0x15
#define VIRTIO_COMMON_Q_SELECT 0x16
#define VIRTIO_COMMON_Q_SIZE 0x18
#define VIRTIO_COMMON_Q_MSIX 0x1A
#define VIRTIO_COMMON_Q_ENABLE 0x1C
#define VIRTIO_COMMON_Q_NOFF 0x1E
#define VIRTIO_COMMON_Q_DESCLO 0x20
#define VIRTIO_COMMON_Q_DESCHI 0x24
#define VIRTIO_COMMON_Q_AVAILLO 0x28
#define VIRTIO_COMMON_Q_AVAILHI 0x2C
#define VIRTIO_COMMON_Q_USEDLO 0x30
#define VIRTIO_COMMON_Q_USEDHI 0x34
#define VIRTIO_COMMON_SIZE 0x38
#define VIRTIO_MSI_NO_VECTOR 0xFFFF

/* §2.1 device status bits */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED 0x80u

/* §6 reserved feature bits, §5.2.3 virtio-blk feature bits */
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33 /* "IOMMU_PLATFORM": DMA addresses go through the platform */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

/* §5.2.4 virtio-blk device configuration layout */
#define VIRTIO_BLK_CFG_CAPACITY 0x00 /* le64, in 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 0x08
#define VIRTIO_BLK_CFG_SEG_MAX 0x0C
#define VIRTIO_BLK_CFG_BLK_SIZE 0x14

/* ---- §2.4 split virtqueue ---- */
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_MAX_SIZE 32768u

/* Read by the device by DMA (§2.4.5). */
struct virtq_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct virtq_used_elem {
	u32 id;
	u32 len;
};

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq descriptor, §2.4.5");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq used element, §2.4.8");

/* Where the three rings of a queue of `size` entries lie in one block of memory. */
struct virtq_layout {
	u32 avail_off; /* flags, idx, ring[size], used_event: 2-byte aligned */
	u32 used_off;  /* flags, idx, ring[size], avail_event: 4-byte aligned */
	u32 chains_off; /* the driver's own u16 per descriptor: chain length of a head in flight */
	u32 bytes;     /* the whole block; the descriptor table at 0 wants 16-byte alignment */
};

void virtq_layout(u16 size, struct virtq_layout *out);

/* The driver's view of one split virtqueue in memory it owns (identity-mapped). */
struct virtq {
	u16 size;          /* a power of two, at most VIRTQ_MAX_SIZE */
	u16 free_head;     /* first descriptor of the free chain */
	u16 num_free;
	u16 avail_idx;     /* next avail ring slot (free-running, wraps at 2^16) */
	u16 last_used;     /* next used ring slot to consume */
	struct virtq_desc *desc;
	volatile u16 *avail; /* [0] flags, [1] idx, [2..] ring */
	volatile u8 *used;   /* flags, idx, then struct virtq_used_elem ring[size] */
	u16 *chain_len;      /* by head index; 0: not a head in flight */
};

/* Sets q up over mem (virtq_layout(size).bytes, zeroed here); interrupts suppressed. */
void virtq_init(struct virtq *q, void *mem, u16 size);

/* One buffer of a descriptor chain. */
struct virtq_buf {
	u64 addr;
	u32 len;
	bool device_writes; /* VIRTQ_DESC_F_WRITE: the device fills it */
};

/*
 * Chains n buffers and places the chain in the next avail slot, unpublished. Returns the
 * head descriptor's index, or -1 when fewer than n descriptors are free (or n is 0).
 */
int virtq_add(struct virtq *q, const struct virtq_buf *bufs, u32 n);

/* Makes every chain added so far visible to the device (§2.4.7.2: ring first, then idx). */
void virtq_publish(struct virtq *q);

/*
 * Takes the next completed chain from the used ring: true with its head and the bytes the
 * device wrote, its descriptors freed; false when the device has nothing new. A used entry
 * that names no chain in flight (a device bug) is -1 in *head, and frees nothing.
 */
bool virtq_next_used(struct virtq *q, int *head, u32 *written);

/* Chains added and not yet returned by virtq_next_used. */
u16 virtq_in_flight(const struct virtq *q);

/* ---- §5.2.6 virtio-blk requests ---- */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8 /* the serial (20 bytes); in Linux and QEMU, not in the 1.0 text */
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_SECTOR 512u /* request sectors are 512 bytes whatever blk_size says */
#define VIRTIO_BLK_MAX_DESCS 18u /* per request: header, up to 16 data segments, status */

/* The device-readable header of every request, read by DMA. */
struct virtio_blk_req_hdr {
	u32 type;
	u32 reserved;
	u64 sector;
};

_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "virtio-blk request header, §5.2.6");

/*
 * Adds one request: the header *hdr (filled here), the data [data, data + bytes) cut into
 * segments of at most seg_bytes, and the status byte *status (set to 0xFF, which no device
 * writes, so an untouched one reads as failure). Returns the head index, or -1 when the
 * queue lacks descriptors.
 */
int virtio_blk_add_request(struct virtq *q, struct virtio_blk_req_hdr *hdr, u32 type, u64 sector,
			   u64 data, u32 bytes, u32 seg_bytes, volatile u8 *status);

/* Descriptors a request of `bytes` needs with segments of seg_bytes (header and status too). */
u32 virtio_blk_request_descs(u32 bytes, u32 seg_bytes);

/* Text for a request's status byte. */
const char *virtio_blk_status_text(u8 status);

#endif
