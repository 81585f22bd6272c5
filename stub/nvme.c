/*
 * Native NVMe driver (NVM Express base specification 1.4): every controller of PCI class
 * 01:08:02 taken from the firmware (§7.6.1: CC.EN=0, CSTS.RDY=0 within CAP.TO), admin queues,
 * Identify (§5.15), one I/O queue pair (§5.3, §5.4), Read, Write and Flush (NVM command set
 * §6) with PRP lists (§4.3), several commands in flight, polled; a normal shutdown (§7.6.2)
 * and bus mastering off before the hand-off. The controllers share one set of queues in the
 * stub's memory, so one controller at a time is enabled; the others stay disabled.
 */
#include "nvme.h"

#include "console.h"
#include "cpu.h"
#include "fmt.h"
#include "nvme_spec.h"
#include "pci.h"
#include "physmem.h"
#include "timer.h"

#define NVME_CLASS 0x01
#define NVME_SUBCLASS 0x08
#define NVME_PROGIF 0x02
#define PCI_BAR0 0x10
#define PCI_BAR1 0x14

#define NVME_MAX_CTRLS 4
#define NVME_MAX_DISKS 16
#define NVME_ADMIN_DEPTH 4    /* one admin command at a time */
#define NVME_IO_DEPTH 16      /* entries of the I/O queues, at most CAP.MQES + 1 */
#define NVME_MAX_INFLIGHT 8   /* commands of one request in flight together */
#define NVME_PRP_ENTRIES 512  /* one 4 KiB list page per command ... */
#define NVME_MAX_CMD_BYTES (2u << 20) /* ... which covers 2 MiB (513 pages when unaligned) */
#define NVME_MAX_REQ_BYTES (16u << 20)
#define NVME_CMD_TIMEOUT_MS 15000
#define NVME_SHUTDOWN_DEFAULT_MS 5000 /* when RTD3E is not reported */
#define NVME_SHUTDOWN_MAX_MS 30000
#define NVME_READY_UNIT_MS 500 /* CAP.TO counts 500 ms units */
#define NVME_VS_1_1 0x00010100u   /* the active namespace list (CNS 02h) exists from 1.1 */
#define NVME_NS_LIST_MAX 1024     /* NSIDs in one CNS 02h page */

struct nvme_ctrl {
	struct pci_dev pci;
	u64 regs; /* BAR0/1: firmware may place it above 4 GiB (physmem's window reaches it) */
	u64 cap;
	u32 vs;
	u32 db_stride;   /* bytes from one doorbell to the next (CAP.DSTRD) */
	u32 ready_ms;    /* CAP.TO */
	u32 shutdown_ms; /* RTD3E, bounded */
	u32 max_bytes;   /* per command: MDTS, at most NVME_MAX_CMD_BYTES */
	u32 io_depth;
	struct nvme_ctrl_info info;
	char name[20];   /* "nvme 00:04.0" */
};

struct nvme_ns {
	u32 ctrl;
	u32 nsid;
	bool announced;
};

/* One queue of the pair: a ring of entries in the stub, its doorbell index and position. */
struct nvme_queue {
	u32 qid;
	u32 depth;
	u32 pos;   /* SQ: next tail; CQ: next head */
	u16 phase; /* CQ: the phase tag of new entries */
};

/* A command of the request in flight. */
struct nvme_cmd {
	u64 lba;
	u32 count;
	bool done;
	u16 sf; /* status field of its completion */
};

static struct nvme_ctrl ctrls[NVME_MAX_CTRLS];
static u32 nctrl;
static struct nvme_ns nss[NVME_MAX_DISKS];
static u32 nns;
static bool enumerated;
static char enum_note[120];
static int active = -1;  /* the enabled controller (its queues are ours), or -1 */
static bool io_ready;    /* the I/O queue pair exists on it */
static struct nvme_queue asq, acq, iosq, iocq;
static u32 open_ns;      /* index in nss of the open disk */
static u32 block_size;   /* of the open namespace */
static u32 inflight_max; /* commands of one request: io_depth - 1, at most NVME_MAX_INFLIGHT */
static struct nvme_cmd cmds[NVME_MAX_INFLIGHT];
static u32 ncmds;
static u8 req_op;
static int submit_error;         /* read_submit could not start the request: why */
static struct jb_diag submit_diag;
static char disk_name[16];

static struct nvme_sqe admin_sq[NVME_ADMIN_DEPTH] __attribute__((aligned(4096)));
static struct nvme_cqe admin_cq[NVME_ADMIN_DEPTH] __attribute__((aligned(4096)));
static struct nvme_sqe io_sq[NVME_IO_DEPTH] __attribute__((aligned(4096)));
static struct nvme_cqe io_cq[NVME_IO_DEPTH] __attribute__((aligned(4096)));
static u64 prp_lists[NVME_MAX_INFLIGHT][NVME_PRP_ENTRIES] __attribute__((aligned(4096)));
static u8 id_buf[4096] __attribute__((aligned(4096)));

static u32 reg_read(const struct nvme_ctrl *c, u32 reg)
{
	return phys_mmio_read32(c->regs + reg);
}

static void reg_write(const struct nvme_ctrl *c, u32 reg, u32 v)
{
	phys_mmio_write32(c->regs + reg, v);
}

static void reg_write64(const struct nvme_ctrl *c, u32 reg, u64 v)
{
	reg_write(c, reg, (u32)v);
	reg_write(c, reg + 4, (u32)(v >> 32));
}

/* §3.1.24/25: SQ y tail doorbell at 0x1000 + 2y * stride, CQ y head doorbell after it. */
static void doorbell(const struct nvme_ctrl *c, u32 qid, bool cq, u32 value)
{
	__asm__ volatile("" : : : "memory"); /* the entries are written before the doorbell */
	reg_write(c, NVME_REG_DOORBELL + (2 * qid + (cq ? 1 : 0)) * c->db_stride, value);
}

static void pci_master(struct pci_dev p, bool on)
{
	u16 cmd = pci_read16(p, PCI_COMMAND);

	pci_write16(p, PCI_COMMAND, (u16)(on ? cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER
					     : cmd & ~PCI_COMMAND_MASTER));
}

/* Waits until (CSTS & mask) == want; 0 or -JB_ETIMEDOUT. */
static int csts_wait(const struct nvme_ctrl *c, u32 mask, u32 want, u32 ms)
{
	struct deadline dl = deadline_in_ms(ms);

	while ((reg_read(c, NVME_REG_CSTS) & mask) != want) {
		if (deadline_passed(dl))
			return -JB_ETIMEDOUT;
		cpu_relax();
	}
	return 0;
}

/* §7.6.1 step 1 (also a controller reset): CC.EN=0, then CSTS.RDY=0 within CAP.TO. */
static int ctrl_disable(struct nvme_ctrl *c, struct jb_diag *d)
{
	u32 cc = reg_read(c, NVME_REG_CC);

	if (cc & NVME_CC_EN)
		reg_write(c, NVME_REG_CC, cc & ~NVME_CC_EN);
	if (csts_wait(c, NVME_CSTS_RDY, 0, c->ready_ms))
		return diag_fail(d, -JB_ETIMEDOUT,
				 "%s: still ready %u ms after it was disabled (CC=0x%x CSTS=0x%x)",
				 c->name, c->ready_ms, reg_read(c, NVME_REG_CC),
				 reg_read(c, NVME_REG_CSTS));
	if (active == (int)(c - ctrls)) {
		active = -1;
		io_ready = false;
	}
	return 0;
}

/* Disables the active controller (a reset: nothing of it stays queued) and stops its DMA. */
static void ctrl_release(void)
{
	struct jb_diag d;

	if (active < 0)
		return;
	struct nvme_ctrl *c = &ctrls[active];

	if (ctrl_disable(c, &d))
		kprintf("warning: %s\n", d.text);
	pci_master(c->pci, false);
	active = -1;
	io_ready = false;
}

static void queue_reset(struct nvme_queue *q, u32 qid, u32 depth)
{
	*q = (struct nvme_queue){ .qid = qid, .depth = depth, .pos = 0, .phase = 1 };
}

/* §7.6.1: admin queues in the stub, CC with 64-byte SQ and 16-byte CQ entries, EN=1, RDY. */
static int ctrl_enable(struct nvme_ctrl *c, struct jb_diag *d)
{
	if (active >= 0 && &ctrls[active] != c)
		ctrl_release();
	pci_master(c->pci, true);
	int rc = ctrl_disable(c, d);

	if (rc)
		return rc;
	zero_bytes(admin_sq, sizeof(admin_sq));
	zero_bytes(admin_cq, sizeof(admin_cq));
	queue_reset(&asq, 0, NVME_ADMIN_DEPTH);
	queue_reset(&acq, 0, NVME_ADMIN_DEPTH);
	reg_write(c, NVME_REG_INTMS, 0xFFFFFFFFu); /* polled: no pin interrupts */
	reg_write(c, NVME_REG_AQA, (NVME_ADMIN_DEPTH - 1) << 16 | (NVME_ADMIN_DEPTH - 1));
	reg_write64(c, NVME_REG_ASQ, (uintptr_t)admin_sq);
	reg_write64(c, NVME_REG_ACQ, (uintptr_t)admin_cq);
	/* CSS=0 (NVM command set), MPS=0 (4 KiB pages), AMS=0 (round robin) */
	reg_write(c, NVME_REG_CC, NVME_CC_IOSQES_64 | NVME_CC_IOCQES_16 | NVME_CC_EN);
	if (csts_wait(c, NVME_CSTS_RDY | NVME_CSTS_CFS, NVME_CSTS_RDY, c->ready_ms))
		return diag_fail(d, -JB_ETIMEDOUT,
				 "%s: not ready within %u ms of being enabled (CSTS=0x%x%s)", c->name,
				 c->ready_ms, reg_read(c, NVME_REG_CSTS),
				 reg_read(c, NVME_REG_CSTS) & NVME_CSTS_CFS ? ", controller fatal status"
									 : "");
	active = (int)(c - ctrls);
	io_ready = false;
	return 0;
}

static volatile struct nvme_cqe *cq_entry(const struct nvme_queue *q)
{
	return q->qid == 0 ? &admin_cq[q->pos] : &io_cq[q->pos];
}

/* The next completion of q if the controller has posted one (its phase tag is current). */
static bool cq_take(const struct nvme_ctrl *c, struct nvme_queue *q, struct nvme_cqe *out)
{
	volatile struct nvme_cqe *e = cq_entry(q);

	if ((e->status & 1) != q->phase)
		return false;
	__asm__ volatile("" : : : "memory");
	out->dw0 = e->dw0;
	out->sq_head = e->sq_head;
	out->cid = e->cid;
	out->status = e->status;
	if (++q->pos == q->depth) {
		q->pos = 0;
		q->phase ^= 1;
	}
	doorbell(c, q->qid, true, q->pos);
	return true;
}

/* One admin command, waited for: 0, -JB_EIO with its status decoded, or -JB_ETIMEDOUT. */
static int admin_run(struct nvme_ctrl *c, struct nvme_sqe *cmd, const char *what,
		     struct jb_diag *d)
{
	static u16 cid;
	struct nvme_cqe done;
	struct deadline dl = deadline_in_ms(NVME_CMD_TIMEOUT_MS);

	cmd->cdw0 |= (u32)++cid << 16;
	admin_sq[asq.pos] = *cmd;
	asq.pos = (asq.pos + 1) % asq.depth;
	doorbell(c, 0, false, asq.pos);
	while (!cq_take(c, &acq, &done)) {
		if (deadline_passed(dl) || (reg_read(c, NVME_REG_CSTS) & NVME_CSTS_CFS)) {
			u32 csts = reg_read(c, NVME_REG_CSTS);

			ctrl_release(); /* a reset: the command cannot complete into our memory later */
			return diag_fail(d, -JB_ETIMEDOUT,
					 "%s: %s did not complete within %u ms (CSTS=0x%x)", c->name,
					 what, NVME_CMD_TIMEOUT_MS, csts);
		}
		cpu_relax();
	}
	u16 sf = done.status >> 1;

	if (sf)
		return diag_fail(d, -JB_EIO, "%s: %s failed: %s (status 0x%03x)", c->name, what,
				 nvme_status_text(sf), sf & 0x7FF);
	return 0;
}

/* Identify (§5.15) into id_buf: one page, so PRP1 alone describes it. */
static int identify(struct nvme_ctrl *c, u32 cns, u32 nsid, const char *what, struct jb_diag *d)
{
	struct nvme_sqe cmd = {
		.cdw0 = NVME_ADMIN_IDENTIFY,
		.nsid = nsid,
		.prp1 = (uintptr_t)id_buf,
		.cdw10 = cns,
	};

	return admin_run(c, &cmd, what, d);
}

/* §5.3, §5.4: one I/O completion queue and one submission queue, both id 1, polled. */
static int io_setup(struct nvme_ctrl *c, struct jb_diag *d)
{
	u32 depth = c->io_depth;
	struct nvme_sqe feat = {
		.cdw0 = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES,
		.cdw11 = 0, /* one submission and one completion queue (0's based) */
	};
	struct nvme_sqe cq = {
		.cdw0 = NVME_ADMIN_CREATE_CQ,
		.prp1 = (uintptr_t)io_cq,
		.cdw10 = (depth - 1) << 16 | 1,
		.cdw11 = 1, /* physically contiguous, interrupts off */
	};
	struct nvme_sqe sq = {
		.cdw0 = NVME_ADMIN_CREATE_SQ,
		.prp1 = (uintptr_t)io_sq,
		.cdw10 = (depth - 1) << 16 | 1,
		.cdw11 = 1u << 16 | 1, /* completions to CQ 1, physically contiguous */
	};

	if (io_ready)
		return 0;
	zero_bytes(io_sq, sizeof(io_sq));
	zero_bytes(io_cq, sizeof(io_cq));
	queue_reset(&iosq, 1, depth);
	queue_reset(&iocq, 1, depth);
	int rc = admin_run(c, &feat, "Set Features (number of queues)", d);

	if (rc == 0)
		rc = admin_run(c, &cq, "Create I/O Completion Queue", d);
	if (rc == 0)
		rc = admin_run(c, &sq, "Create I/O Submission Queue", d);
	if (rc)
		return rc;
	io_ready = true;
	return 0;
}

/* Enables controller c (if it is not the enabled one) and gives it the I/O queue pair. */
static int ctrl_activate(struct nvme_ctrl *c, struct jb_diag *d)
{
	int rc = 0;

	if (active != (int)(c - ctrls))
		rc = ctrl_enable(c, d);
	return rc ? rc : io_setup(c, d);
}

/* Records the active namespaces of c in NSID order (the list, or each NSID before 1.1). */
static void ctrl_add_namespaces(struct nvme_ctrl *c)
{
	static u32 list[NVME_NS_LIST_MAX];
	struct jb_diag d;
	u32 n = 0;

	if (c->vs >= NVME_VS_1_1) {
		if (identify(c, NVME_CNS_ACTIVE_NS_LIST, 0, "Identify (active namespace list)", &d)) {
			kprintf("warning: %s\n", d.text);
			return;
		}
		copy_bytes(list, id_buf, sizeof(list));
		while (n < NVME_NS_LIST_MAX && list[n])
			n++;
	} else {
		for (u32 nsid = 1; nsid <= c->info.nn && n < NVME_NS_LIST_MAX; nsid++) {
			struct nvme_ns_info info;

			if (identify(c, NVME_CNS_NAMESPACE, nsid, "Identify Namespace", &d) == 0 &&
			    nvme_parse_id_ns(id_buf, c->name, &info, &d) != -JB_ENODEV)
				list[n++] = nsid;
		}
	}
	for (u32 i = 0; i < n; i++) {
		if (nns == NVME_MAX_DISKS) {
			kprintf("warning: %s: namespaces past the first %u NVMe disks are not used\n",
				c->name, NVME_MAX_DISKS);
			return;
		}
		nss[nns++] = (struct nvme_ns){ .ctrl = (u32)(c - ctrls), .nsid = list[i] };
	}
}

/* Reads a controller's BARs and capabilities: false (with a warning) when it is unusable. */
static bool ctrl_setup(struct nvme_ctrl *c, struct pci_dev p)
{
	u32 bar0 = pci_read32(p, PCI_BAR0);
	u32 bar1 = (bar0 & 0x6) == 0x4 ? pci_read32(p, PCI_BAR1) : 0; /* 64-bit BAR */

	*c = (struct nvme_ctrl){ .pci = p };
	fmt_buf(c->name, sizeof(c->name), "nvme %02x:%02x.%u", p.bus, p.dev, p.fn);
	c->regs = (u64)bar1 << 32 | (bar0 & ~0xFu);
	if ((bar0 & 1) || c->regs == 0) {
		kprintf("warning: %s: BAR0 0x%x is not a memory BAR; skipped\n", c->name, bar0);
		return false;
	}
	pci_write16(p, PCI_COMMAND, (u16)(pci_read16(p, PCI_COMMAND) | PCI_COMMAND_MEMORY));
	c->cap = (u64)reg_read(c, NVME_REG_CAP) | (u64)reg_read(c, NVME_REG_CAP + 4) << 32;
	c->vs = reg_read(c, NVME_REG_VS);
	if (!NVME_CAP_CSS_NVM(c->cap) || NVME_CAP_MPSMIN(c->cap) != 0) {
		kprintf("warning: %s: CAP=0x%llx: %s; skipped\n", c->name, (unsigned long long)c->cap,
			!NVME_CAP_CSS_NVM(c->cap) ? "no NVM command set"
						   : "memory pages of 4 KiB not supported");
		return false;
	}
	c->db_stride = 4u << NVME_CAP_DSTRD(c->cap);
	c->ready_ms = NVME_CAP_TO(c->cap) ? NVME_CAP_TO(c->cap) * NVME_READY_UNIT_MS
					  : NVME_READY_UNIT_MS;
	c->io_depth = NVME_CAP_MQES(c->cap) + 1 < NVME_IO_DEPTH ? NVME_CAP_MQES(c->cap) + 1
								 : NVME_IO_DEPTH;
	return true;
}

/* Takes controller c from the firmware, identifies it and its namespaces. */
static void ctrl_probe(struct nvme_ctrl *c)
{
	struct jb_diag d;

	if (ctrl_enable(c, &d) || identify(c, NVME_CNS_CONTROLLER, 0, "Identify Controller", &d)) {
		kprintf("warning: %s; its disks are not used\n", d.text);
		ctrl_release();
		return;
	}
	nvme_parse_id_ctrl(id_buf, NVME_CAP_MPSMIN(c->cap), &c->info);
	c->max_bytes = c->info.mdts_bytes && c->info.mdts_bytes < NVME_MAX_CMD_BYTES
			       ? c->info.mdts_bytes
			       : NVME_MAX_CMD_BYTES;
	u32 ms = c->info.rtd3e_us / 1000;

	c->shutdown_ms = ms == 0 ? NVME_SHUTDOWN_DEFAULT_MS
		       : ms > NVME_SHUTDOWN_MAX_MS ? NVME_SHUTDOWN_MAX_MS
						   : ms;
	ctrl_add_namespaces(c);
}

/* Finds every NVMe controller in PCI order and its namespaces in NSID order; once per boot. */
static void nvme_enumerate(void)
{
	struct pci_dev p;
	u32 found = 0;

	if (enumerated)
		return;
	enumerated = true;
	for (u32 i = 0; nctrl < NVME_MAX_CTRLS &&
			   pci_find_class(NVME_CLASS, NVME_SUBCLASS, NVME_PROGIF, i, &p);
	     i++) {
		found++;
		if (!ctrl_setup(&ctrls[nctrl], p))
			continue;
		u32 before = nns;

		ctrl_probe(&ctrls[nctrl]);
		nctrl++;
		if (nns == before)
			ctrl_release(); /* nothing to read on it: leave it disabled */
	}
	if (found == 0)
		fmt_buf(enum_note, sizeof(enum_note), "no NVMe controller (PCI class 01:08:02)");
	else
		fmt_buf(enum_note, sizeof(enum_note), "%u NVMe controller%s, no usable namespace",
			found, found == 1 ? "" : "s");
}

u32 nvme_count(struct jb_diag *why)
{
	nvme_enumerate();
	if (nns == 0)
		diag_fail(why, -JB_ENODEV, "%s", enum_note);
	return nns;
}

/* Submits the commands of one transfer (split at max_bytes), then rings the doorbell once. */
static void io_submit(u8 op, u64 lba, u32 count, u64 phys)
{
	const struct nvme_ns *ns = &nss[open_ns];
	const struct nvme_ctrl *c = &ctrls[ns->ctrl];
	u32 per_cmd = c->max_bytes / block_size;

	req_op = op;
	ncmds = 0;
	while (count && ncmds < inflight_max) {
		u32 n = count < per_cmd ? count : per_cmd;
		u32 bytes = n * block_size;
		struct nvme_sqe *e = &io_sq[iosq.pos];
		u64 prp1 = 0, prp2 = 0;

		/* The disk layer keeps phys dword aligned and count within max_sectors, and a
		 * command of max_bytes fits one list page: this cannot fail. */
		if (op != NVME_CMD_FLUSH)
			nvme_prp_build(phys, bytes, prp_lists[ncmds], NVME_PRP_ENTRIES,
				       (uintptr_t)prp_lists[ncmds], &prp1, &prp2);
		*e = (struct nvme_sqe){
			.cdw0 = op | ncmds << 16,
			.nsid = ns->nsid,
			.prp1 = prp1,
			.prp2 = prp2,
			.cdw10 = (u32)lba,
			.cdw11 = (u32)(lba >> 32),
			.cdw12 = op == NVME_CMD_FLUSH ? 0 : n - 1, /* 0's based block count */
		};
		cmds[ncmds++] = (struct nvme_cmd){ .lba = lba, .count = n };
		iosq.pos = (iosq.pos + 1) % iosq.depth;
		lba += n;
		phys += bytes;
		count -= n;
	}
	doorbell(c, 1, false, iosq.pos);
}

static const char *op_name(u8 op)
{
	return op == NVME_CMD_READ ? "read" : op == NVME_CMD_WRITE ? "write" : "flush";
}

/* Waits for every command of the request; the first failure is reported with its LBA. */
/* Takes every completion posted so far; whether the request's commands are all done. */
static bool io_collect(struct nvme_ctrl *c)
{
	struct nvme_cqe done;
	bool all = true;

	while (cq_take(c, &iocq, &done))
		if (done.cid < ncmds && !cmds[done.cid].done) {
			cmds[done.cid].done = true;
			cmds[done.cid].sf = done.status >> 1;
		}
	for (u32 i = 0; i < ncmds; i++)
		all = all && cmds[i].done;
	return all;
}

static int io_wait(struct jb_diag *d)
{
	struct nvme_ctrl *c = &ctrls[nss[open_ns].ctrl];
	struct deadline dl = deadline_in_ms(NVME_CMD_TIMEOUT_MS);

	while (!io_collect(c)) {
		if (deadline_passed(dl) || (reg_read(c, NVME_REG_CSTS) & NVME_CSTS_CFS)) {
			u32 csts = reg_read(c, NVME_REG_CSTS);
			const struct nvme_cmd *late = cmds;

			while (late->done)
				late++;
			/* A reset, so no late completion writes into memory after we give up; the
			 * next command enables the controller again. */
			ctrl_release();
			return diag_fail(d, -JB_ETIMEDOUT,
					 "%s: %s at LBA %llu (+%u sectors) did not complete within %u ms"
					 " (CSTS=0x%x%s)",
					 disk_name, op_name(req_op), (unsigned long long)late->lba,
					 late->count, NVME_CMD_TIMEOUT_MS, csts,
					 csts & NVME_CSTS_CFS ? ", controller fatal status" : "");
		}
		cpu_relax();
	}
	for (u32 i = 0; i < ncmds; i++)
		if (cmds[i].sf)
			return diag_fail(d, -JB_EIO,
					 "%s: %s at LBA %llu (+%u sectors) failed: %s (status 0x%03x%s)",
					 disk_name, op_name(req_op), (unsigned long long)cmds[i].lba,
					 cmds[i].count, nvme_status_text(cmds[i].sf), cmds[i].sf & 0x7FF,
					 NVME_STATUS_DNR(cmds[i].sf) ? ", do not retry" : "");
	return 0;
}

/* The open namespace's controller enabled with its I/O queues (after a reset, again). */
static int io_ready_check(struct jb_diag *d)
{
	return ctrl_activate(&ctrls[nss[open_ns].ctrl], d);
}

static int io_run(u8 op, u64 lba, u32 count, u64 phys, struct jb_diag *d)
{
	int rc = io_ready_check(d);

	if (rc)
		return rc;
	io_submit(op, lba, count, phys);
	return io_wait(d);
}

static int nvme_read(struct disk *dk, u64 lba, u32 count, u64 phys, struct jb_diag *d)
{
	if (count == 0 || count > dk->max_sectors)
		return diag_fail(d, -JB_EINVAL, "%s: bad sector count %u", dk->name, count);
	return io_run(NVME_CMD_READ, lba, count, phys, d);
}

/* Writes the blocks, then flushes the volatile write cache (§6.8) so the mark is durable. */
static int nvme_write(struct disk *dk, u64 lba, u32 count, const void *buf, struct jb_diag *d)
{
	if (count == 0 || count > dk->max_sectors)
		return diag_fail(d, -JB_EINVAL, "%s: bad sector count %u", dk->name, count);
	int rc = io_run(NVME_CMD_WRITE, lba, count, (uintptr_t)buf, d);

	return rc ? rc : io_run(NVME_CMD_FLUSH, lba, 1, 0, d);
}

/* Starts a read and returns; nvme_read_wait finishes it. A controller that cannot take it
 * leaves no command queued, and read_wait reports why. */
static void nvme_read_submit(struct disk *dk, u64 lba, u32 count, u64 phys)
{
	(void)dk;
	ncmds = 0;
	submit_error = io_ready_check(&submit_diag);
	if (submit_error == 0)
		io_submit(NVME_CMD_READ, lba, count, phys);
}

static bool nvme_read_ready(struct disk *dk)
{
	(void)dk;
	return submit_error || io_collect(&ctrls[nss[open_ns].ctrl]);
}

static int nvme_read_wait(struct disk *dk, struct jb_diag *d)
{
	(void)dk;
	if (submit_error) {
		*d = submit_diag;
		return submit_error;
	}
	return io_wait(d);
}

/*
 * §7.6.2: delete the I/O queues, CC.SHN=01b, wait for CSTS.SHST=10b, then disable; bus
 * mastering off. Every other controller is disabled already.
 */
static void nvme_quiesce(struct disk *dk)
{
	struct jb_diag d;

	(void)dk;
	if (active < 0)
		return;
	struct nvme_ctrl *c = &ctrls[active];

	if (io_ready) {
		struct nvme_sqe del_sq = { .cdw0 = NVME_ADMIN_DELETE_SQ, .cdw10 = 1 };
		struct nvme_sqe del_cq = { .cdw0 = NVME_ADMIN_DELETE_CQ, .cdw10 = 1 };

		if (admin_run(c, &del_sq, "Delete I/O Submission Queue", &d) ||
		    admin_run(c, &del_cq, "Delete I/O Completion Queue", &d))
			kprintf("warning: %s\n", d.text);
		io_ready = false;
	}
	if (active < 0) /* a failed admin command reset it already */
		return;
	reg_write(c, NVME_REG_CC, (reg_read(c, NVME_REG_CC) & ~NVME_CC_SHN_MASK) | NVME_CC_SHN_NORMAL);
	if (csts_wait(c, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_DONE, c->shutdown_ms))
		kprintf("warning: %s: shutdown not complete within %u ms (CSTS=0x%x); disabling it\n",
			c->name, c->shutdown_ms, reg_read(c, NVME_REG_CSTS));
	ctrl_release();
}

static const struct disk_ops nvme_ops = {
	.read = nvme_read,
	.write = nvme_write,
	.read_submit = nvme_read_submit,
	.read_wait = nvme_read_wait,
	.read_ready = nvme_read_ready,
	.quiesce = nvme_quiesce,
};

int nvme_open(u32 index, struct disk *out, struct jb_diag *d)
{
	nvme_enumerate();
	if (index >= nns) {
		if (nns == 0)
			return diag_fail(d, -JB_ENODEV, "no NVMe disk %u: %s", index, enum_note);
		return diag_fail(d, -JB_ENODEV,
				 "no NVMe disk %u: the machine has %u (nvme:0 to nvme:%u, namespaces"
				 " of the controllers in PCI order)",
				 index, nns, nns - 1);
	}
	struct nvme_ns *ns = &nss[index];
	struct nvme_ctrl *c = &ctrls[ns->ctrl];
	struct nvme_ns_info info;
	char what[48];

	fmt_buf(disk_name, sizeof(disk_name), "nvme:%u", index);
	fmt_buf(what, sizeof(what), "%s (namespace %u of %s)", disk_name, ns->nsid, c->name);
	int rc = ctrl_activate(c, d);

	if (rc == 0)
		rc = identify(c, NVME_CNS_NAMESPACE, ns->nsid, "Identify Namespace", d);
	if (rc == 0)
		rc = nvme_parse_id_ns(id_buf, what, &info, d);
	if (rc)
		return rc;
	open_ns = index;
	block_size = info.block_size;
	inflight_max = c->io_depth - 1 < NVME_MAX_INFLIGHT ? c->io_depth - 1 : NVME_MAX_INFLIGHT;
	u32 max_bytes = c->max_bytes * inflight_max;

	if (max_bytes > NVME_MAX_REQ_BYTES)
		max_bytes = NVME_MAX_REQ_BYTES;
	*out = (struct disk){
		.sectors = info.blocks,
		.sector_size = info.block_size,
		.max_sectors = max_bytes / info.block_size,
		.dma_align = 4, /* §4.3: PRP1 is dword aligned; the pages after it follow from it */
		.dma_limit = UINT64_MAX,
		.ops = &nvme_ops,
		.priv = ns,
	};
	fmt_buf(out->name, sizeof(out->name), "%s", disk_name);
	if (ns->announced)
		return 0;
	ns->announced = true; /* a scan and the final open both come here */
	kprintf("%s: %s (serial %s), %llu MiB, %llu sectors of %u bytes, namespace %u of NVMe"
		" %u.%u controller %02x:%02x.%u, %u KiB per command\n",
		disk_name, c->info.model, c->info.serial,
		(unsigned long long)(info.blocks * info.block_size >> 20),
		(unsigned long long)info.blocks, info.block_size, ns->nsid, c->vs >> 16,
		(c->vs >> 8) & 0xFF, c->pci.bus, c->pci.dev, c->pci.fn, c->max_bytes >> 10);
	return 0;
}
