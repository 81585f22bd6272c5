/*
 * partinfo: prints the partition table of a disk image (or block device) as the stub sees it
 * through lib/part.c, with each partition's PARTUUID and PARTLABEL for resume= (DESIGN.md §3).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/fs.h>
#include <sys/ioctl.h>
#endif

#include "errors.h"
#include "part.h"

struct image {
	int fd;
	u64 sectors;
	u32 sector_size; /* logical block: 512, or 4096 on a 4Kn disk */
};

static int image_read(void *ctx, u64 lba, u32 count, void *buf, struct jb_diag *d)
{
	struct image *img = ctx;
	size_t len = (size_t)count * img->sector_size;
	size_t done = 0;

	if (lba > img->sectors || count > img->sectors - lba)
		return diag_fail(d, -JB_ERANGE, "LBA %llu+%u is past the end (%llu sectors)",
				 (unsigned long long)lba, count, (unsigned long long)img->sectors);
	while (done < len) {
		ssize_t n = pread(img->fd, (char *)buf + done, len - done,
				  (off_t)(lba * img->sector_size + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return diag_fail(d, -JB_EIO, "%s",
					 n < 0 ? strerror(errno) : "unexpected end of file");
		done += (size_t)n;
	}
	return 0;
}

static int image_size(int fd, u64 *bytes)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
#ifdef BLKGETSIZE64
	if (S_ISBLK(st.st_mode)) {
		uint64_t size;

		if (ioctl(fd, BLKGETSIZE64, &size) != 0)
			return -1;
		*bytes = size;
		return 0;
	}
#endif
	*bytes = (u64)st.st_size;
	return 0;
}

/* A short name for the partition types people resume from or boot with. */
static const char *type_name(const struct part *p)
{
	static const struct {
		const char *guid;
		const char *name;
	} gpt[] = {
		{ "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "EFI system" },
		{ "21686148-6449-6e6f-744e-656564454649", "BIOS boot" },
		{ "0fc63daf-8483-4772-8e79-3d69d8477de4", "Linux filesystem" },
		{ "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "Linux swap" },
		{ "e6d6d379-f507-44c2-a23c-238f2a3df928", "Linux LVM" },
		{ "a19d880f-05fc-4d3b-a006-743f0f84911e", "Linux RAID" },
		{ "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "Linux root (x86-64)" },
		{ "44479540-f297-41b2-9af7-d131d5f0458a", "Linux root (x86)" },
		{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "Microsoft basic data" },
	};
	static const struct {
		u8 type;
		const char *name;
	} mbr[] = {
		{ 0x05, "extended" }, { 0x0f, "extended, LBA" }, { 0x85, "Linux extended" },
		{ 0x07, "NTFS/exFAT" }, { 0x0b, "FAT32" },         { 0x0c, "FAT32, LBA" },
		{ 0x82, "Linux swap" }, { 0x83, "Linux" },         { 0x8e, "Linux LVM" },
		{ 0xef, "EFI system" }, { 0xfd, "Linux RAID" },
	};
	char text[PART_UUID_TEXT_SIZE];

	if (p->gpt) {
		if (part_guid_text(p->type_guid, text, sizeof(text)) == 0)
			for (size_t i = 0; i < JB_ARRAY_LEN(gpt); i++)
				if (strcmp(text, gpt[i].guid) == 0)
					return gpt[i].name;
		return "";
	}
	for (size_t i = 0; i < JB_ARRAY_LEN(mbr); i++)
		if (mbr[i].type == p->mbr_type)
			return mbr[i].name;
	return "";
}

static void print_table(const char *path, const struct image *img, const struct part_table *t,
			const struct jb_diag *d)
{
	char text[PART_UUID_TEXT_SIZE];

	printf("disk: %s, %llu sectors of %u bytes\n", path, (unsigned long long)img->sectors,
	       img->sector_size);
	if (!t->has_table) {
		printf("scheme: none (no partition table; the disk may hold a raw image)\n");
		return;
	}
	if (t->gpt) {
		part_guid_text(t->disk_guid, text, sizeof(text));
		printf("scheme: GPT, %s header, disk GUID %s\n", t->used_backup_gpt ? "backup" : "primary",
		       text);
	} else {
		printf("scheme: MBR, disk signature 0x%08x\n", t->mbr_signature);
	}
	if (d->text[0])
		printf("warning: %s\n", d->text);
	char type[PART_MAX][80];
	int width = 4;

	for (u32 i = 0; i < t->n; i++) {
		const struct part *p = &t->part[i];
		int len;

		if (p->gpt)
			part_guid_text(p->type_guid, text, sizeof(text));
		else
			snprintf(text, sizeof(text), "0x%02x", p->mbr_type);
		len = snprintf(type[i], sizeof(type[i]), *type_name(p) ? "%s (%s)" : "%s", text,
			       type_name(p));
		if (len > width)
			width = len;
	}
	printf("%-4s %12s %12s  %-*s  %-36s  %s\n", "#", "first-LBA", "sectors", width, "type",
	       "PARTUUID", "PARTLABEL");
	for (u32 i = 0; i < t->n; i++) {
		const struct part *p = &t->part[i];

		part_uuid_text(t, p, text, sizeof(text));
		printf("%-4u %12llu %12llu  %-*s  ", p->number, (unsigned long long)p->first_lba,
		       (unsigned long long)p->sectors, width, type[i]);
		if (p->label[0])
			printf("%-36s  %s\n", text, p->label);
		else
			printf("%s\n", text);
	}
}

/* A block device's logical block size (BLKSSZGET); 512 for an image file. */
static u32 logical_block_size(int fd)
{
#ifdef BLKSSZGET
	struct stat st;
	int size;

	if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode) && ioctl(fd, BLKSSZGET, &size) == 0 &&
	    (size == PART_SECTOR_SIZE || size == PART_SECTOR_SIZE_4K))
		return (u32)size;
#else
	(void)fd;
#endif
	return PART_SECTOR_SIZE;
}

int main(int argc, char **argv)
{
	static struct part_table table;
	static u8 scratch[1 << 16];
	struct jb_diag d = { "" };
	struct image img;
	u64 bytes;

	const char *path = argc == 3 ? argv[2] : argv[1];

	img.sector_size = 0;
	if (argc == 3 && strcmp(argv[1], "--4k") == 0)
		img.sector_size = PART_SECTOR_SIZE_4K;
	if (argc < 2 || argc > 3 || (argc == 3 && img.sector_size == 0) || path[0] == '-') {
		fprintf(stderr, "usage: %s [--4k] DISK.img\n"
				"Prints the partition table as jumpback sees it: scheme, then per"
				" partition its number,\nfirst LBA, sectors, type, PARTUUID and"
				" PARTLABEL (for resume=PARTUUID=... or resume=PARTLABEL=...).\n"
				"--4k reads an image of a disk with 4096-byte logical blocks (a block"
				" device says its own).\n",
			argv[0]);
		return 2;
	}
	img.fd = open(path, O_RDONLY);
	if (img.fd < 0 || image_size(img.fd, &bytes) != 0) {
		fprintf(stderr, "partinfo: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (img.sector_size == 0)
		img.sector_size = logical_block_size(img.fd);
	img.sectors = bytes / img.sector_size;
	if (bytes % img.sector_size)
		fprintf(stderr, "partinfo: %s: %llu trailing bytes after the last whole sector ignored\n",
			path, (unsigned long long)(bytes % img.sector_size));
	int rc = part_scan(image_read, &img, img.sectors, img.sector_size, scratch, sizeof(scratch),
			   &table, &d);

	close(img.fd);
	if (rc) {
		fprintf(stderr, "partinfo: error: %s: %s\n", path, d.text);
		return 1;
	}
	print_table(path, &img, &table, &d);
	return 0;
}
