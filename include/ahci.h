/*
 * AHCI 1.3.1 register map and DMA structures (Serial ATA AHCI 1.3.1 spec §3 and §4), and the
 * native driver's entry point (stub/ahci.c).
 */
#ifndef JB_AHCI_H
#define JB_AHCI_H

#include "diag.h"
#include "disk.h"
#include "types.h"

/* Generic host control, §3.1 */
#define AHCI_CAP 0x00
#define AHCI_CAP_S64A (1u << 31) /* 64-bit addressing */
#define AHCI_CAP_NCS_SHIFT 8     /* number of command slots - 1, 5 bits */
#define AHCI_GHC 0x04
#define AHCI_GHC_HR (1u << 0)
#define AHCI_GHC_IE (1u << 1)
#define AHCI_GHC_AE (1u << 31)
#define AHCI_IS 0x08
#define AHCI_PI 0x0C
#define AHCI_VS 0x10
#define AHCI_CAP2 0x24
#define AHCI_CAP2_BOH (1u << 0)
#define AHCI_BOHC 0x28
#define AHCI_BOHC_BOS (1u << 0) /* BIOS owned semaphore */
#define AHCI_BOHC_OOS (1u << 1) /* OS owned semaphore */
#define AHCI_BOHC_BB (1u << 4)  /* BIOS busy */

/* Port registers, §3.3: port p at 0x100 + p * 0x80 */
#define AHCI_PORT_BASE(p) (0x100u + (u32)(p) * 0x80u)
#define AHCI_MAX_PORTS 32
#define PX_CLB 0x00
#define PX_CLBU 0x04
#define PX_FB 0x08
#define PX_FBU 0x0C
#define PX_IS 0x10
#define PX_IS_TFES (1u << 30) /* task file error */
#define PX_IS_HBFS (1u << 29) /* host bus fatal error */
#define PX_IS_HBDS (1u << 28) /* host bus data error */
#define PX_IS_IFS (1u << 27)  /* interface fatal error */
#define PX_IS_ERRORS (PX_IS_TFES | PX_IS_HBFS | PX_IS_HBDS | PX_IS_IFS)
#define PX_IE 0x14
#define PX_CMD 0x18
#define PX_CMD_ST (1u << 0)
#define PX_CMD_SUD (1u << 1)
#define PX_CMD_POD (1u << 2)
#define PX_CMD_CLO (1u << 3)
#define PX_CMD_FRE (1u << 4)
#define PX_CMD_FR (1u << 14)
#define PX_CMD_CR (1u << 15)
#define PX_TFD 0x20
#define PX_TFD_ERR (1u << 0)
#define PX_TFD_DRQ (1u << 3)
#define PX_TFD_BSY (1u << 7)
#define PX_SIG 0x24
#define PX_SSTS 0x28
#define PX_SSTS_DET_MASK 0xFu
#define PX_SSTS_DET_PRESENT 3u /* device present, PHY communication established */
#define PX_SCTL 0x2C
#define PX_SERR 0x30
#define PX_SACT 0x34
#define PX_CI 0x38

#define SATA_SIG_ATA 0x00000101u

/* ATA commands (ACS-3) */
#define ATA_CMD_READ_DMA_EXT 0x25
#define ATA_CMD_WRITE_DMA_EXT 0x35
#define ATA_CMD_IDENTIFY 0xEC
#define ATA_ERR_ABRT (1u << 2)
#define ATA_ERR_IDNF (1u << 4)
#define ATA_ERR_UNC (1u << 6)
#define ATA_ERR_ICRC (1u << 7)

#define FIS_TYPE_REG_H2D 0x27

/* Command header, §4.2.2. Read by the HBA by DMA. */
struct ahci_cmd_header {
	u16 flags; /* CFL in bits 4:0 (FIS length in dwords), W bit 6, C bit 10 */
	u16 prdtl; /* PRDT entries */
	u32 prdbc; /* bytes transferred, written by the HBA */
	u32 ctba;  /* command table base, 128-byte aligned */
	u32 ctbau;
	u32 reserved[4];
};

/* Physical region descriptor, §4.2.3.3. */
struct ahci_prd {
	u32 dba;
	u32 dbau;
	u32 reserved;
	u32 dbc; /* byte count - 1 (bit 0 always 1: even counts), bit 31: interrupt */
};

#define AHCI_CMD_WRITE (1u << 6) /* command header W bit: data goes to the device */
#define AHCI_PRD_MAX_BYTES (4u << 20) /* DBC is 22 bits */
#define AHCI_PRDT_ENTRIES 8

/* Command table, §4.2.3: the command FIS, ATAPI command, then the PRDT. */
struct ahci_cmd_table {
	u8 cfis[64];
	u8 acmd[16];
	u8 reserved[48];
	struct ahci_prd prdt[AHCI_PRDT_ENTRIES];
};

_Static_assert(sizeof(struct ahci_cmd_header) == 32, "AHCI command header");
_Static_assert(sizeof(struct ahci_prd) == 16, "AHCI PRD");
_Static_assert(__builtin_offsetof(struct ahci_cmd_table, prdt) == 0x80, "AHCI command table");

/*
 * How many ATA disks hang off the machine's AHCI controllers: every controller in PCI order,
 * its ports in port order, is taken from the firmware the first time; 0 with why saying what
 * was found instead.
 */
u32 ahci_count(struct jb_diag *why);

/* Opens the index-th AHCI disk (in ahci_count's order). One disk is open at a time: opening
 * another stops the previous one. */
int ahci_open(u32 index, struct disk *out, struct jb_diag *d);

#endif
