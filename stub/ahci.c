/*
 * Native AHCI driver (Serial ATA AHCI 1.3.1): BIOS/OS hand-off (§10.6), port bring-up
 * (§10.1.2, §10.3), IDENTIFY and READ DMA EXT through slot 0 with a multi-entry PRDT,
 * error recovery (§6.2.2) and quiescing before the hand-off. Polled; every wait has a timeout.
 * A command is a submit (set PxCI, §5.3.2) and a wait for that bit: between the two the HBA
 * moves the data while the CPU checks the previous command's (the disk layer's queued reads).
 */
#include "ahci.h"

#include "ata_identify.h"
#include "console.h"
#include "cpu.h"
#include "fmt.h"
#include "pci.h"
#include "timer.h"

#define AHCI_CLASS 0x01
#define AHCI_SUBCLASS 0x06
#define AHCI_PROGIF 0x01

#define AHCI_BOHC_WAIT_MS 25        /* §10.6.3: BIOS gets 25 ms to set BB */
#define AHCI_BIOS_BUSY_WAIT_MS 2000 /* §10.6.3: then up to 2 s while BB is set */
#define AHCI_PORT_STOP_MS 500       /* §10.1.2: CR and FR clear within 500 ms */
#define AHCI_LINK_WAIT_MS 1000
#define AHCI_DEVICE_READY_MS 5000
#define AHCI_COMRESET_HOLD_MS 2     /* §10.4.2: keep DET=1 at least 1 ms */
#define AHCI_CMD_TIMEOUT_MS 15000
#define AHCI_MAX_SECTORS_PER_CMD 32768u /* 16 MiB: 4 PRDT entries of 4 MiB */

#define AHCI_MAX_CONTROLLERS 8

/* One HBA on the PCI bus, taken from the firmware with every port stopped. */
struct ahci_ctrl {
	uintptr_t abar;
	struct pci_dev pci;
	u32 pi;
	u32 cap;
	u32 disks;     /* ports with an ATA disk attached */
	u32 announced; /* ports whose IDENTIFY line was printed */
};

/* The selected controller (its registers are what hba_read/port_read reach) and open port. */
struct ahci_host {
	uintptr_t abar;
	struct pci_dev pci;
	u32 pi;
	u32 cap;
	struct ahci_ctrl *ctrl;
	u32 port;
	bool port_open; /* `port` of `ctrl` runs with our command list */
	u8 command;     /* the command in slot 0, for its messages */
	u64 lba;
	u32 count;
	char name[16];
};

static struct ahci_host host;
static struct ahci_ctrl ctrls[AHCI_MAX_CONTROLLERS];
static u32 nctrl;
static bool enumerated;
static char enum_note[80]; /* why there is no disk, for ahci_count's caller */
static struct ahci_cmd_header cmd_list[32] __attribute__((aligned(1024)));
static u8 rx_fis[256] __attribute__((aligned(256)));
static struct ahci_cmd_table cmd_table __attribute__((aligned(128)));
static u16 identify_data[ATA_ID_WORDS] __attribute__((aligned(512)));

static u32 hba_read(u32 reg)
{
	return mmio_read32(host.abar + reg);
}

static void hba_write(u32 reg, u32 v)
{
	mmio_write32(host.abar + reg, v);
}

static u32 port_read(u32 port, u32 reg)
{
	return mmio_read32(host.abar + AHCI_PORT_BASE(port) + reg);
}

static void port_write(u32 port, u32 reg, u32 v)
{
	mmio_write32(host.abar + AHCI_PORT_BASE(port) + reg, v);
}

/* Waits until (register & mask) == want; 0 or -JB_ETIMEDOUT. */
static int port_wait(u32 port, u32 reg, u32 mask, u32 want, u32 ms)
{
	struct deadline dl = deadline_in_ms(ms);

	while ((port_read(port, reg) & mask) != want) {
		if (deadline_passed(dl))
			return -JB_ETIMEDOUT;
		cpu_relax();
	}
	return 0;
}

static void ahci_bios_handoff(void)
{
	if (!(hba_read(AHCI_CAP2) & AHCI_CAP2_BOH))
		return;
	hba_write(AHCI_BOHC, hba_read(AHCI_BOHC) | AHCI_BOHC_OOS);
	struct deadline dl = deadline_in_ms(AHCI_BOHC_WAIT_MS);

	while ((hba_read(AHCI_BOHC) & AHCI_BOHC_BOS) && !deadline_passed(dl))
		cpu_relax();
	if (hba_read(AHCI_BOHC) & AHCI_BOHC_BB) {
		dl = deadline_in_ms(AHCI_BIOS_BUSY_WAIT_MS);
		while ((hba_read(AHCI_BOHC) & AHCI_BOHC_BOS) && !deadline_passed(dl))
			cpu_relax();
	}
	if (hba_read(AHCI_BOHC) & AHCI_BOHC_BOS)
		kprintf("warning: %s: firmware did not release the HBA (BOHC=0x%x); taking it anyway\n",
			host.name, hba_read(AHCI_BOHC));
}

/* §10.1.2: clear ST, wait for CR; clear FRE, wait for FR. */
static int ahci_port_stop(u32 port)
{
	u32 cmd = port_read(port, PX_CMD);

	if (cmd & PX_CMD_ST)
		port_write(port, PX_CMD, cmd & ~PX_CMD_ST);
	if (port_wait(port, PX_CMD, PX_CMD_CR, 0, AHCI_PORT_STOP_MS))
		return -JB_ETIMEDOUT;
	cmd = port_read(port, PX_CMD);
	if (cmd & PX_CMD_FRE)
		port_write(port, PX_CMD, cmd & ~PX_CMD_FRE);
	return port_wait(port, PX_CMD, PX_CMD_FR, 0, AHCI_PORT_STOP_MS);
}

static void ahci_stop_all_ports(void)
{
	for (u32 p = 0; p < AHCI_MAX_PORTS; p++)
		if ((host.pi & (1u << p)) && ahci_port_stop(p))
			kprintf("warning: %s: port %u did not stop (PxCMD=0x%x)\n", host.name, p,
				port_read(p, PX_CMD));
}

/* §10.4.2 COMRESET: DET=1 for at least 1 ms, then DET=0 and wait for the link. */
static int ahci_port_comreset(u32 port)
{
	u32 sctl = port_read(port, PX_SCTL) & ~0xFu;
	struct deadline hold = deadline_in_ms(AHCI_COMRESET_HOLD_MS);

	port_write(port, PX_SCTL, sctl | 1u);
	while (!deadline_passed(hold))
		cpu_relax();
	port_write(port, PX_SCTL, sctl);
	return port_wait(port, PX_SSTS, PX_SSTS_DET_MASK, PX_SSTS_DET_PRESENT, AHCI_LINK_WAIT_MS);
}

/* Brings the stopped port up: our command list and FIS area, FRE, device ready, ST. */
static int ahci_port_start(u32 port)
{
	port_write(port, PX_CLB, (u32)(uintptr_t)cmd_list);
	port_write(port, PX_CLBU, 0);
	port_write(port, PX_FB, (u32)(uintptr_t)rx_fis);
	port_write(port, PX_FBU, 0);
	port_write(port, PX_SERR, 0xFFFFFFFFu);
	port_write(port, PX_IS, 0xFFFFFFFFu);
	port_write(port, PX_IE, 0);
	port_write(port, PX_CMD, port_read(port, PX_CMD) | PX_CMD_FRE | PX_CMD_SUD | PX_CMD_POD);
	if (port_wait(port, PX_TFD, PX_TFD_BSY | PX_TFD_DRQ, 0, AHCI_DEVICE_READY_MS)) {
		/* A device stuck busy (e.g. after a failed command) needs a COMRESET. */
		if (ahci_port_comreset(port) ||
		    port_wait(port, PX_TFD, PX_TFD_BSY | PX_TFD_DRQ, 0, AHCI_DEVICE_READY_MS))
			return -JB_ETIMEDOUT;
	}
	port_write(port, PX_SERR, 0xFFFFFFFFu);
	port_write(port, PX_CMD, port_read(port, PX_CMD) | PX_CMD_ST);
	return 0;
}

static const char *ata_error_text(u8 err)
{
	if (err & ATA_ERR_UNC)
		return "uncorrectable data error";
	if (err & ATA_ERR_IDNF)
		return "sector not found";
	if (err & ATA_ERR_ICRC)
		return "interface CRC error";
	if (err & ATA_ERR_ABRT)
		return "command aborted";
	return "device reported an error";
}

/* Fills slot 0 with a 48-bit LBA command whose data goes to [phys, phys + bytes). */
static void ahci_build_command(u8 command, bool write, u64 lba, u32 count, u64 phys, u32 bytes)
{
	u8 *fis = cmd_table.cfis;
	u32 nprd = 0;

	for (u32 i = 0; i < sizeof(cmd_table.cfis); i++)
		fis[i] = 0;
	fis[0] = FIS_TYPE_REG_H2D;
	fis[1] = 0x80; /* C: this FIS carries a command */
	fis[2] = command;
	fis[4] = (u8)lba;
	fis[5] = (u8)(lba >> 8);
	fis[6] = (u8)(lba >> 16);
	fis[7] = 0x40; /* device: LBA mode */
	fis[8] = (u8)(lba >> 24);
	fis[9] = (u8)(lba >> 32);
	fis[10] = (u8)(lba >> 40);
	fis[12] = (u8)count;
	fis[13] = (u8)(count >> 8);

	while (bytes) {
		u32 chunk = bytes < AHCI_PRD_MAX_BYTES ? bytes : AHCI_PRD_MAX_BYTES;

		cmd_table.prdt[nprd] = (struct ahci_prd){
			.dba = (u32)phys,
			.dbau = (u32)(phys >> 32),
			.dbc = chunk - 1,
		};
		nprd++;
		phys += chunk;
		bytes -= chunk;
	}
	cmd_list[0] = (struct ahci_cmd_header){
		/* CFL: the H2D FIS is 5 dwords; W (bit 6): host to device */
		.flags = (u16)(5 | (write ? AHCI_CMD_WRITE : 0)),
		.prdtl = (u16)nprd,
		.ctba = (u32)(uintptr_t)&cmd_table,
	};
}

/* §6.2.2.1: stop the port, clear errors, and start it again (COMRESET if still busy). */
static void ahci_port_recover(u32 port)
{
	if (ahci_port_stop(port))
		kprintf("warning: %s: port did not stop during error recovery\n", host.name);
	if (ahci_port_start(port))
		kprintf("warning: %s: device not ready after error recovery (PxTFD=0x%x)\n",
			host.name, port_read(port, PX_TFD));
}

/* Issues a command in slot 0 (§5.3.2: its PxCI bit) and returns; ahci_wait finishes it. */
static void ahci_submit(u8 command, bool write, u64 lba, u32 count, u64 phys, u32 bytes)
{
	u32 port = host.port;

	host.command = command;
	host.lba = lba;
	host.count = count;
	ahci_build_command(command, write, lba, count, phys, bytes);
	port_write(port, PX_IS, 0xFFFFFFFFu);
	__asm__ volatile("" : : : "memory"); /* command table is written before CI */
	port_write(port, PX_CI, 1u);
}

/* Whether the submitted command finished or failed (§5.3.2: its PxCI bit clear, or PxIS errors). */
static bool ahci_settled(u32 port, u32 *is)
{
	*is = port_read(port, PX_IS);
	return (*is & PX_IS_ERRORS) || !(port_read(port, PX_CI) & 1u);
}

/* Waits for the submitted command: 0, or -JB_E* after recovering the port. */
static int ahci_wait(struct jb_diag *d)
{
	u32 port = host.port;
	struct deadline dl = deadline_in_ms(AHCI_CMD_TIMEOUT_MS);
	u32 is;

	while (!ahci_settled(port, &is)) {
		if (deadline_passed(dl)) {
			ahci_port_recover(port);
			return diag_fail(d, -JB_ETIMEDOUT,
					 "%s: command 0x%02x at LBA %llu (+%u sectors) did not complete"
					 " within %u ms",
					 host.name, host.command, (unsigned long long)host.lba,
					 host.count, AHCI_CMD_TIMEOUT_MS);
		}
		cpu_relax();
	}
	u32 tfd = port_read(port, PX_TFD);

	if (!(is & PX_IS_ERRORS) && !(tfd & PX_TFD_ERR))
		return 0;
	u32 serr = port_read(port, PX_SERR);

	ahci_port_recover(port);
	return diag_fail(d, -JB_EIO,
			 "%s: command 0x%02x at LBA %llu (+%u sectors) failed: %s (status 0x%02x,"
			 " error 0x%02x, PxIS 0x%x, PxSERR 0x%x)",
			 host.name, host.command, (unsigned long long)host.lba, host.count,
			 (is & PX_IS_TFES) || (tfd & PX_TFD_ERR) ? ata_error_text((u8)(tfd >> 8))
								 : "host bus or interface error",
			 tfd & 0xFF, (tfd >> 8) & 0xFF, is, serr);
}

static int ahci_issue(u8 command, bool write, u64 lba, u32 count, u64 phys, u32 bytes,
		      struct jb_diag *d)
{
	ahci_submit(command, write, lba, count, phys, bytes);
	return ahci_wait(d);
}

static int ahci_read(struct disk *dk, u64 lba, u32 count, u64 phys, struct jb_diag *d)
{
	(void)dk;
	if (count == 0 || count > AHCI_MAX_SECTORS_PER_CMD)
		return diag_fail(d, -JB_EINVAL, "%s: bad sector count %u", host.name, count);
	return ahci_issue(ATA_CMD_READ_DMA_EXT, false, lba, count, phys, count * DISK_SECTOR_SIZE,
			  d);
}

static int ahci_write(struct disk *dk, u64 lba, u32 count, const void *buf, struct jb_diag *d)
{
	(void)dk;
	if (count == 0 || count > AHCI_MAX_SECTORS_PER_CMD)
		return diag_fail(d, -JB_EINVAL, "%s: bad sector count %u", host.name, count);
	return ahci_issue(ATA_CMD_WRITE_DMA_EXT, true, lba, count, (uintptr_t)buf,
			  count * DISK_SECTOR_SIZE, d);
}

static void ahci_read_submit(struct disk *dk, u64 lba, u32 count, u64 phys)
{
	(void)dk;
	ahci_submit(ATA_CMD_READ_DMA_EXT, false, lba, count, phys, count * DISK_SECTOR_SIZE);
}

static int ahci_read_wait(struct disk *dk, struct jb_diag *d)
{
	(void)dk;
	return ahci_wait(d);
}

static bool ahci_read_ready(struct disk *dk)
{
	u32 is;

	(void)dk;
	return ahci_settled(host.port, &is);
}

static void ahci_select(struct ahci_ctrl *c)
{
	host.ctrl = c;
	host.abar = c->abar;
	host.pci = c->pci;
	host.pi = c->pi;
	host.cap = c->cap;
}

static void pci_master(struct pci_dev p, bool on)
{
	u16 cmd = pci_read16(p, PCI_COMMAND);

	pci_write16(p, PCI_COMMAND, (u16)(on ? cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER
					     : cmd & ~PCI_COMMAND_MASTER));
}

/* Every port of every controller stopped, bus mastering off: no HBA DMA after this. */
static void ahci_quiesce(struct disk *dk)
{
	(void)dk;
	for (u32 i = 0; i < nctrl; i++) {
		ahci_select(&ctrls[i]);
		ahci_stop_all_ports();
		hba_write(AHCI_GHC, hba_read(AHCI_GHC) & ~AHCI_GHC_IE);
		pci_master(host.pci, false);
	}
	host.port_open = false;
}

static const struct disk_ops ahci_ops = {
	.read = ahci_read,
	.write = ahci_write,
	.read_submit = ahci_read_submit,
	.read_wait = ahci_read_wait,
	.read_ready = ahci_read_ready,
	.quiesce = ahci_quiesce,
};

/* Takes one controller from the firmware and stops every port; notes its ATA disks. */
static void ahci_ctrl_init(struct ahci_ctrl *c)
{
	ahci_select(c);
	fmt_buf(host.name, sizeof(host.name), "ahci %02x:%02x.%u", c->pci.bus, c->pci.dev,
		c->pci.fn);
	ahci_bios_handoff();
	hba_write(AHCI_GHC, hba_read(AHCI_GHC) | AHCI_GHC_AE);
	hba_write(AHCI_GHC, hba_read(AHCI_GHC) & ~AHCI_GHC_IE);
	c->cap = host.cap = hba_read(AHCI_CAP);
	c->pi = host.pi = hba_read(AHCI_PI);
	/* No firmware command list may stay live in memory we are about to overwrite. */
	ahci_stop_all_ports();
	c->disks = 0;
	for (u32 p = 0; p < AHCI_MAX_PORTS; p++)
		if ((c->pi & (1u << p)) &&
		    (port_read(p, PX_SSTS) & PX_SSTS_DET_MASK) == PX_SSTS_DET_PRESENT &&
		    port_read(p, PX_SIG) == SATA_SIG_ATA)
			c->disks |= 1u << p;
}

/* Finds every AHCI controller in PCI order and takes each from the firmware; once per boot. */
static void ahci_enumerate(void)
{
	struct pci_dev p;
	u32 skipped = 0;

	if (enumerated)
		return;
	enumerated = true;
	for (u32 i = 0; nctrl < AHCI_MAX_CONTROLLERS &&
			   pci_find_class(AHCI_CLASS, AHCI_SUBCLASS, AHCI_PROGIF, i, &p);
	     i++) {
		struct ahci_ctrl *c = &ctrls[nctrl];

		pci_write16(p, PCI_COMMAND, (u16)(pci_read16(p, PCI_COMMAND) | PCI_COMMAND_MEMORY));
		c->pci = p;
		c->abar = pci_read32(p, PCI_BAR5) & ~0xFu;
		if (c->abar == 0) {
			kprintf("warning: AHCI controller %02x:%02x.%u has no ABAR (BAR5); skipped\n",
				p.bus, p.dev, p.fn);
			skipped++;
			continue;
		}
		ahci_ctrl_init(c);
		nctrl++;
	}
	if (nctrl == 0)
		fmt_buf(enum_note, sizeof(enum_note), "%s",
			skipped ? "the AHCI controller has no ABAR"
				: "no AHCI controller (PCI class 01:06:01)");
	else
		fmt_buf(enum_note, sizeof(enum_note), "%u AHCI controller%s, no port with an ATA disk",
			nctrl, nctrl == 1 ? "" : "s");
}

static u32 ahci_total(void)
{
	u32 n = 0;

	for (u32 i = 0; i < nctrl; i++)
		n += (u32)__builtin_popcount(ctrls[i].disks);
	return n;
}

u32 ahci_count(struct jb_diag *why)
{
	ahci_enumerate();
	u32 n = ahci_total();

	if (n == 0)
		diag_fail(why, -JB_ENODEV, "%s", enum_note);
	return n;
}

/* The controller and port of the index-th disk: controllers in PCI order, ports in order. */
static bool ahci_disk_at(u32 index, struct ahci_ctrl **c, u32 *port)
{
	for (u32 i = 0; i < nctrl; i++)
		for (u32 p = 0; p < AHCI_MAX_PORTS; p++)
			if ((ctrls[i].disks & (1u << p)) && index-- == 0) {
				*c = &ctrls[i];
				*port = p;
				return true;
			}
	return false;
}

int ahci_open(u32 index, struct disk *out, struct jb_diag *d)
{
	struct ahci_ctrl *c;
	u32 port;

	ahci_enumerate();
	if (!ahci_disk_at(index, &c, &port)) {
		u32 n = ahci_total();

		if (n == 0)
			return diag_fail(d, -JB_ENODEV, "no AHCI disk %u: %s", index, enum_note);
		return diag_fail(d, -JB_ENODEV,
				 "no AHCI disk %u: the machine has %u (ahci:0 to ahci:%u, counted"
				 " across controllers in PCI order)",
				 index, n, n - 1);
	}
	if (host.port_open) {
		ahci_select(host.ctrl);
		ahci_port_stop(host.port);
	}
	ahci_select(c);
	pci_master(c->pci, true);
	host.port = port;
	host.port_open = false;
	fmt_buf(host.name, sizeof(host.name), "ahci:%u", index);
	if (port_wait(port, PX_SSTS, PX_SSTS_DET_MASK, PX_SSTS_DET_PRESENT, AHCI_LINK_WAIT_MS))
		return diag_fail(d, -JB_ENODEV, "%s: no disk on port %u any more (PxSSTS=0x%x)",
				 host.name, port, port_read(port, PX_SSTS));
	int rc = ahci_port_start(port);

	if (rc)
		return diag_fail(d, rc, "%s: device stays busy (PxTFD=0x%x)", host.name,
				 port_read(port, PX_TFD));
	host.port_open = true;
	rc = ahci_issue(ATA_CMD_IDENTIFY, false, 0, 0, (uintptr_t)identify_data,
			sizeof(identify_data), d);
	if (rc)
		return rc;

	char model[41];
	u32 sector_size = ata_id_logical_sector_size(identify_data);

	ata_id_model(identify_data, model, sizeof(model));
	if (sector_size != DISK_SECTOR_SIZE)
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "%s: %s has logical sectors of %u bytes (IDENTIFY words 106, 117-118);"
				 " jumpback's AHCI driver reads 512-byte sectors only: use"
				 " resume=bios:0xDRIVE (driver=bios) on a BIOS machine",
				 host.name, model, sector_size);
	*out = (struct disk){
		.sectors = ata_id_sectors(identify_data),
		.sector_size = DISK_SECTOR_SIZE,
		.max_sectors = AHCI_MAX_SECTORS_PER_CMD,
		.dma_align = 2, /* §4.2.3.3: DBA is word aligned */
		.dma_limit = host.cap & AHCI_CAP_S64A ? UINT64_MAX : 1ull << 32,
		.ops = &ahci_ops,
		.priv = &host,
	};
	fmt_buf(out->name, sizeof(out->name), "%s", host.name);
	if (c->announced & (1u << port))
		return 0;
	c->announced |= 1u << port; /* a scan and the final open both come here */
	kprintf("%s: %s, %llu MiB, %llu sectors of %u bytes, port %u of AHCI %x.%x controller"
		" %02x:%02x.%u\n",
		host.name, model, (unsigned long long)(out->sectors * out->sector_size >> 20),
		(unsigned long long)out->sectors, out->sector_size, port, hba_read(AHCI_VS) >> 16,
		(hba_read(AHCI_VS) >> 8) & 0xFF, c->pci.bus, c->pci.dev, c->pci.fn);
	return 0;
}
