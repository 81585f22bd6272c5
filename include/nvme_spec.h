/*
 * NVM Express base specification 1.4: controller registers (§3.1), queue entries (§4.2,
 * §4.6), the admin and NVM commands the driver uses, and the pure helpers the driver
 * (stub/nvme.c) shares with host tests: PRP lists (§4.3), status codes (§4.6.1.2), Identify
 * data (§5.15.2). Pure.
 */
#ifndef JB_NVME_SPEC_H
#define JB_NVME_SPEC_H

#include "diag.h"
#include "types.h"

/* Controller registers, §3.1 (BAR0/BAR1, 64-bit memory). */
#define NVME_REG_CAP 0x00  /* 64-bit */
#define NVME_CAP_MQES(cap) ((u32)((cap) & 0xFFFF))       /* max queue entries - 1 */
#define NVME_CAP_TO(cap) ((u32)(((cap) >> 24) & 0xFF))    /* ready timeout, 500 ms units */
#define NVME_CAP_DSTRD(cap) ((u32)(((cap) >> 32) & 0xF))  /* doorbell stride: 4 << DSTRD */
#define NVME_CAP_CSS_NVM(cap) (((cap) >> 37) & 1)         /* NVM command set supported */
#define NVME_CAP_MPSMIN(cap) ((u32)(((cap) >> 48) & 0xF)) /* min page 2^(12 + MPSMIN) */
#define NVME_REG_VS 0x08
#define NVME_REG_INTMS 0x0C
#define NVME_REG_CC 0x14
#define NVME_CC_EN (1u << 0)
#define NVME_CC_IOSQES_64 (6u << 16) /* I/O submission queue entries of 2^6 bytes */
#define NVME_CC_IOCQES_16 (4u << 20) /* I/O completion queue entries of 2^4 bytes */
#define NVME_CC_SHN_MASK (3u << 14)
#define NVME_CC_SHN_NORMAL (1u << 14)
#define NVME_REG_CSTS 0x1C
#define NVME_CSTS_RDY (1u << 0)
#define NVME_CSTS_CFS (1u << 1) /* controller fatal status */
#define NVME_CSTS_SHST_MASK (3u << 2)
#define NVME_CSTS_SHST_DONE (2u << 2)
#define NVME_REG_AQA 0x24
#define NVME_REG_ASQ 0x28 /* 64-bit */
#define NVME_REG_ACQ 0x30 /* 64-bit */
#define NVME_REG_DOORBELL 0x1000

#define NVME_PAGE_SIZE 4096u /* CC.MPS = 0: every controller supports 4 KiB pages */

/* Admin commands, §5 */
#define NVME_ADMIN_DELETE_SQ 0x00
#define NVME_ADMIN_CREATE_SQ 0x01
#define NVME_ADMIN_DELETE_CQ 0x04
#define NVME_ADMIN_CREATE_CQ 0x05
#define NVME_ADMIN_IDENTIFY 0x06
#define NVME_ADMIN_SET_FEATURES 0x09
#define NVME_FEAT_NUM_QUEUES 0x07
#define NVME_CNS_NAMESPACE 0x00
#define NVME_CNS_CONTROLLER 0x01
#define NVME_CNS_ACTIVE_NS_LIST 0x02

/* NVM command set, §6 (NVM command set 1.0 in later revisions) */
#define NVME_CMD_FLUSH 0x00
#define NVME_CMD_WRITE 0x01
#define NVME_CMD_READ 0x02

/* Submission queue entry, §4.2. Read by the controller by DMA. */
struct nvme_sqe {
	u32 cdw0; /* opcode 7:0, command identifier 31:16 */
	u32 nsid;
	u32 cdw2, cdw3;
	u64 mptr;
	u64 prp1;
	u64 prp2;
	u32 cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

/* Completion queue entry, §4.6. Written by the controller by DMA. */
struct nvme_cqe {
	u32 dw0;
	u32 dw1;
	u16 sq_head;
	u16 sq_id;
	u16 cid;
	u16 status; /* phase tag bit 0, status field 15:1 */
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "NVMe submission queue entry");
_Static_assert(sizeof(struct nvme_cqe) == 16, "NVMe completion queue entry");

/* The status field of a completion (cqe.status >> 1): code type 10:8, code 7:0, DNR bit 14. */
#define NVME_STATUS_SCT(sf) (((sf) >> 8) & 0x7u)
#define NVME_STATUS_SC(sf) ((sf) & 0xFFu)
#define NVME_STATUS_DNR(sf) (((sf) >> 14) & 1u)

/* What a status field means ("unrecovered read error", "LBA out of range"); never NULL. */
const char *nvme_status_text(u16 sf);

/* Identify Controller (CNS 01h), §5.15.2.1: the fields the driver uses. */
struct nvme_ctrl_info {
	char model[41];  /* MN, trailing spaces cut */
	char serial[21]; /* SN */
	u32 mdts_bytes;  /* largest transfer (MDTS with the minimum page size); 0: no limit */
	u32 nn;          /* number of namespaces */
	u32 rtd3e_us;    /* RTD3 entry latency: how long a shutdown may take; 0: not reported */
};

/* Parses a 4096-byte Identify Controller structure; mpsmin is CAP.MPSMIN. */
void nvme_parse_id_ctrl(const u8 *id, u32 mpsmin, struct nvme_ctrl_info *out);

/* Identify Namespace (CNS 00h), §5.15.2.2: size and the LBA format in use. */
struct nvme_ns_info {
	u64 blocks;     /* NSZE, in logical blocks */
	u32 block_size; /* bytes per logical block of the current format (FLBAS) */
	u32 meta_size;  /* metadata bytes per block of that format */
};

/*
 * Parses a 4096-byte Identify Namespace structure. 0, or -JB_ENODEV for an inactive
 * namespace (NSZE 0), -JB_EUNSUPPORTED for a format jumpback cannot read (a block size other
 * than 512 or 4096, or metadata), with d saying which; name (e.g. "nvme 00:04.0 namespace 1")
 * starts the message.
 */
int nvme_parse_id_ns(const u8 *id, const char *name, struct nvme_ns_info *out,
		     struct jb_diag *d);

/*
 * Data pointers for a transfer of bytes (> 0) at physical address phys, in 4 KiB memory pages
 * (§4.3): prp1 is phys itself (dword aligned); a transfer that ends in the next page has that
 * page in prp2; a longer one has a PRP list there: list (at physical address list_phys, page
 * aligned) receives one entry per further page. 0, or -JB_EINVAL when phys is not dword
 * aligned or the list would need more than list_cap entries (a list never chains here).
 */
int nvme_prp_build(u64 phys, u32 bytes, u64 *list, u32 list_cap, u64 list_phys, u64 *prp1,
		   u64 *prp2);

/* Pages a transfer of bytes at phys touches: 1 + the entries a PRP list of it would need. */
u32 nvme_prp_pages(u64 phys, u32 bytes);

#endif
