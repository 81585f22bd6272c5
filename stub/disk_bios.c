/*
 * BIOS disk driver: int 13h extensions (EDD 3.0: AH=41h check, AH=48h parameters, AH=42h
 * extended read) through the real-mode door. Reads land in the low bounce buffer and are
 * copied to their destination with the rep movsd copier (through the PAE window above 4 GiB).
 */
#include "disk_bios.h"

#include "bios.h"
#include "console.h"
#include "cpu.h"
#include "fmt.h"
#include "physmem.h"

#define INT13 0x13
#define EDD_CHECK 0x41
#define EDD_READ 0x42
#define EDD_WRITE 0x43 /* AL=0: write without verify */
#define EDD_PARAMS 0x48
#define EDD_MAGIC_IN 0x55AA
#define EDD_MAGIC_OUT 0xAA55
#define EDD_API_PACKET 0x1 /* CX bit 0 of AH=41h: the extended read/write functions */
#define BDA_HARD_DISKS 0x475 /* BIOS data area: number of hard disks the BIOS set up */
/* Per-call sector counts to try, largest first (at most a bounce buffer full): the per-call
 * cost dominates under a BIOS. */
static const u32 bios_probe_counts[] = { BIOS_BOUNCE_SIZE / DISK_SECTOR_SIZE, 127, 64, 32, 16, 8 };

struct edd_dap {
	u8 size; /* 16 */
	u8 reserved;
	u16 count;
	u16 buf_off, buf_seg;
	u64 lba;
} __attribute__((packed));

struct edd_params {
	u16 size;
	u16 flags;
	u32 cylinders, heads, sectors_per_track;
	u64 sectors;
	u16 bytes_per_sector;
} __attribute__((packed));

_Static_assert(sizeof(struct edd_dap) == 16, "EDD disk address packet");

struct bios_disk {
	u8 drive;
	char name[16];
};

static struct bios_disk bdisk;

static bool bios_failed(const struct rm_regs *r)
{
	return (r->eflags & EFLAGS_CF) != 0;
}

/* One AH=42h or 43h call of count sectors, from or to the low bounce buffer; returns the
 * BIOS status, 0 when every sector was transferred. */
static int bios_transfer(u8 function, u8 drive, u64 lba, u32 count, u32 *got)
{
	struct edd_dap *dap = (struct edd_dap *)(uintptr_t)BIOS_REQUEST;
	struct rm_regs r = { 0 };

	*dap = (struct edd_dap){
		.size = sizeof(*dap),
		.count = (u16)count,
		.buf_off = BIOS_BOUNCE & 0xF,
		.buf_seg = (u16)(BIOS_BOUNCE >> 4),
		.lba = lba,
	};
	r.eax = (u32)function << 8;
	r.edx = drive;
	r.ds = (u16)(BIOS_REQUEST >> 4);
	r.esi = BIOS_REQUEST & 0xF;
	rm_int(INT13, &r);
	*got = dap->count; /* EDD: the BIOS sets the count of sectors actually transferred */
	if (bios_failed(&r))
		return (int)((r.eax >> 8) & 0xFF) | 0x100; /* never 0, even if AH reads 0 */
	return *got == count ? 0 : 0x200;
}

static int bios_read(struct disk *dk, u64 lba, u32 count, u64 phys, struct jb_diag *d)
{
	while (count) {
		u32 n = count < dk->max_sectors ? count : dk->max_sectors, got;
		int status = bios_transfer(EDD_READ, bdisk.drive, lba, n, &got);

		if (status)
			return diag_fail(d, -JB_EIO,
					 "%s: int 13h read of %u sectors at LBA %llu failed (AH=0x%02x%s)",
					 dk->name, n, (unsigned long long)lba, status & 0xFF,
					 status & 0x200 ? ", short read" : "");
		phys_write(phys, (const void *)(uintptr_t)BIOS_BOUNCE, n * dk->sector_size);
		phys += (u64)n * dk->sector_size;
		lba += n;
		count -= n;
	}
	return 0;
}

static int bios_write(struct disk *dk, u64 lba, u32 count, const void *buf, struct jb_diag *d)
{
	u32 got;

	if (count > dk->max_sectors)
		return diag_fail(d, -JB_EINVAL, "%s: bad sector count %u", dk->name, count);
	copy_bytes((void *)(uintptr_t)BIOS_BOUNCE, buf, count * dk->sector_size);
	int status = bios_transfer(EDD_WRITE, bdisk.drive, lba, count, &got);

	if (status)
		return diag_fail(d, -JB_EIO,
				 "%s: int 13h write of %u sectors at LBA %llu failed (AH=0x%02x%s)",
				 dk->name, count, (unsigned long long)lba, status & 0xFF,
				 status & 0x200 ? ", short write" : "");
	return 0;
}

static const struct disk_ops bios_ops = {
	.read = bios_read,
	.write = bios_write,
	.quiesce = NULL, /* the BIOS owns the controller; it has no DMA running of ours */
};

/* Largest per-call count the BIOS really honours (read back from the DAP). */
static u32 bios_probe_max(u64 sectors, u32 sector_size)
{
	u32 fits = BIOS_BOUNCE_SIZE / sector_size;

	for (u32 i = 0; i < JB_ARRAY_LEN(bios_probe_counts); i++) {
		u32 n = bios_probe_counts[i] < fits ? bios_probe_counts[i] : fits, got;

		if (n > sectors)
			n = (u32)sectors;
		if (bios_transfer(EDD_READ, bdisk.drive, 0, n, &got) == 0)
			return n;
	}
	return 1;
}

u32 bios_hard_disks(void)
{
	u8 count;

	/* A load from a fixed low address: gcc would flag a plain dereference as out of bounds. */
	__asm__ volatile("movb (%1), %0" : "=q"(count) : "r"(BDA_HARD_DISKS) : "memory");
	return count;
}

int bios_disk_open(u8 drive, struct disk *out, struct jb_diag *d)
{
	struct rm_regs r = { 0 };

	bdisk.drive = drive;
	fmt_buf(bdisk.name, sizeof(bdisk.name), "bios:0x%02x", drive);
	r.eax = EDD_CHECK << 8;
	r.ebx = EDD_MAGIC_IN;
	r.edx = drive;
	rm_int(INT13, &r);
	if (bios_failed(&r) || (r.ebx & 0xFFFF) != EDD_MAGIC_OUT || !(r.ecx & EDD_API_PACKET))
		return diag_fail(d, -JB_ENODEV,
				 "%s: no such BIOS disk, or no int 13h extensions (AH=41h: CF=%u"
				 " BX=0x%04x CX=0x%04x); check the drive in resume=bios:0xDRIVE (0x80 is"
				 " the first hard disk)",
				 bdisk.name, r.eflags & EFLAGS_CF, r.ebx & 0xFFFF, r.ecx & 0xFFFF);

	struct edd_params *p = (struct edd_params *)(uintptr_t)BIOS_REQUEST;

	*p = (struct edd_params){ .size = 0x1A };
	r = (struct rm_regs){ .eax = EDD_PARAMS << 8, .edx = drive };
	r.ds = (u16)(BIOS_REQUEST >> 4);
	r.esi = BIOS_REQUEST & 0xF;
	rm_int(INT13, &r);
	if (bios_failed(&r) || p->sectors == 0)
		return diag_fail(d, -JB_ENODEV, "%s: int 13h AH=48h gave no drive size (AH=0x%02x)",
				 bdisk.name, (r.eax >> 8) & 0xFF);
	/* SeaBIOS reports 4096 for a 4Kn NVMe namespace; AH=42h then counts 4 KiB sectors. */
	if (p->bytes_per_sector != DISK_SECTOR_SIZE && p->bytes_per_sector != DISK_BLOCK_MAX)
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "%s: int 13h AH=48h reports %u-byte sectors, and jumpback reads 512-"
				 " and 4096-byte sectors; use a native driver (resume=ahci:N, nvme:N,"
				 " virtio:N)",
				 bdisk.name, p->bytes_per_sector);

	*out = (struct disk){
		.sectors = p->sectors,
		.sector_size = p->bytes_per_sector,
		.dma_align = 1, /* the driver copies out of its own bounce buffer to any address */
		.dma_limit = UINT64_MAX,
		.ops = &bios_ops,
		.priv = &bdisk,
	};
	out->max_sectors = bios_probe_max(out->sectors, out->sector_size);
	fmt_buf(out->name, sizeof(out->name), "%s", bdisk.name);
	if (drive >= 0x80 && drive < 0xA0) { /* a scan and the final open both come here */
		static u32 announced;
		u32 bit = 1u << (drive - 0x80);

		if (announced & bit)
			return 0;
		announced |= bit;
	}
	kprintf("%s: %llu MiB, %llu sectors of %u bytes, through int 13h, %u sectors per call\n",
		out->name, (unsigned long long)(out->sectors * out->sector_size >> 20),
		(unsigned long long)out->sectors, out->sector_size, out->max_sectors);
	return 0;
}
