/* The parsed Multiboot command line (docs/cmdline.md lists every key). Pure. */
#ifndef JB_OPTIONS_H
#define JB_OPTIONS_H

#include "diag.h"
#include "types.h"

enum jb_resume_kind {
	RESUME_AUTO,
	RESUME_AHCI,      /* ahci:N[:PART], the N-th AHCI disk in PCI order */
	RESUME_BIOS,      /* bios:0xDRIVE[:PART] */
	RESUME_PARTUUID,  /* PARTUUID=uuid */
	RESUME_PARTLABEL, /* PARTLABEL=name */
	RESUME_NVME,      /* nvme:N[:PART], the N-th NVMe namespace in PCI, then NSID order */
	RESUME_VIRTIO,    /* virtio:N[:PART], the N-th virtio-blk disk in PCI order */
};

enum jb_mode { MODE_AUTO, MODE_32, MODE_64 };
enum jb_driver { DRIVER_AUTO, DRIVER_AHCI, DRIVER_BIOS, DRIVER_NVME, DRIVER_VIRTIO };
enum jb_verify { VERIFY_AUTO, VERIFY_ON, VERIFY_OFF };
enum jb_onerror { ONERROR_HALT, ONERROR_REBOOT };

#define JB_CONSOLE_VGA 1u
#define JB_CONSOLE_SERIAL 2u

struct jb_options {
	enum jb_resume_kind resume;
	u32 resume_unit;      /* disk index of its kind (ahci, nvme, virtio) or BIOS drive number */
	u32 resume_part;      /* 0: whole disk; else partition number (1-based) */
	char resume_name[72]; /* PARTUUID / PARTLABEL value */
	u64 resume_offset;    /* in 512-byte sectors */
	bool entry_set;
	u64 entry;
	enum jb_mode mode;
	int pae; /* -1: from the image, else 0 or 1 */
	enum jb_driver driver;
	enum jb_verify verify;
	bool keep;
	bool dryrun;
	bool nosmp; /* verify on the boot CPU alone, no second CPU started */
	enum jb_onerror onerror;
	u32 console; /* JB_CONSOLE_* bits */
	u16 serial_port;
	u32 serial_baud;
	char unknown[128]; /* unknown words, space separated (warned about, not fatal) */
};

void options_set_defaults(struct jb_options *o);

/*
 * Parses a Multiboot command line into o (which must hold the defaults). A leading word
 * with no '=' that is not a known flag is the loader's path word and is skipped.
 * Returns 0, or -JB_ECMDLINE with d naming the first bad word; the words after a bad one
 * are still parsed, so onerror= and console= take effect for the error report.
 */
int cmdline_parse(const char *cmdline, struct jb_options *o, struct jb_diag *d);

#endif
