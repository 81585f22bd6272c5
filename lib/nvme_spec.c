/* NVMe pure logic (NVM Express base spec 1.4): status texts, Identify parsing, PRP lists. Pure. */
#include "nvme_spec.h"

#include "le.h"

struct status_name {
	u8 sct, sc;
	const char *text;
};

/* §4.6.1.2: generic (0), command specific (1), media and data integrity (2) codes. */
static const struct status_name status_names[] = {
	{ 0, 0x00, "success" },
	{ 0, 0x01, "invalid command opcode" },
	{ 0, 0x02, "invalid field in command" },
	{ 0, 0x03, "command identifier conflict" },
	{ 0, 0x04, "data transfer error" },
	{ 0, 0x05, "aborted: power loss notification" },
	{ 0, 0x06, "internal error" },
	{ 0, 0x07, "aborted on request" },
	{ 0, 0x08, "aborted: submission queue deleted" },
	{ 0, 0x0B, "invalid namespace or format" },
	{ 0, 0x0C, "command sequence error" },
	{ 0, 0x13, "invalid PRP offset" },
	{ 0, 0x80, "LBA out of range" },
	{ 0, 0x81, "capacity exceeded" },
	{ 0, 0x82, "namespace not ready" },
	{ 0, 0x83, "reservation conflict" },
	{ 0, 0x84, "format in progress" },
	{ 1, 0x00, "completion queue invalid" },
	{ 1, 0x01, "invalid queue identifier" },
	{ 1, 0x02, "queue size exceeded" },
	{ 1, 0x08, "invalid interrupt vector" },
	{ 1, 0x0A, "invalid format" },
	{ 1, 0x0D, "feature not saveable" },
	{ 1, 0x0E, "feature not changeable" },
	{ 1, 0x80, "conflicting attributes" },
	{ 1, 0x82, "write to a read-only range" },
	{ 2, 0x80, "write fault" },
	{ 2, 0x81, "unrecovered read error" },
	{ 2, 0x82, "end-to-end guard check error" },
	{ 2, 0x83, "end-to-end application tag check error" },
	{ 2, 0x84, "end-to-end reference tag check error" },
	{ 2, 0x85, "compare failure" },
	{ 2, 0x86, "access denied" },
	{ 2, 0x87, "deallocated or unwritten block" },
};

const char *nvme_status_text(u16 sf)
{
	u32 sct = NVME_STATUS_SCT(sf), sc = NVME_STATUS_SC(sf);

	for (u32 i = 0; i < JB_ARRAY_LEN(status_names); i++)
		if (status_names[i].sct == sct && status_names[i].sc == sc)
			return status_names[i].text;
	switch (sct) {
	case 0:
		return "generic command error";
	case 1:
		return "command specific error";
	case 2:
		return "media or data integrity error";
	case 3:
		return "path related error";
	case 7:
		return "vendor specific error";
	default:
		return "reserved status code type";
	}
}

/* An ASCII field padded with spaces (SN, MN), as text without the padding. */
static void id_string(const u8 *p, u32 len, char *out)
{
	u32 n = len;

	while (n && (p[n - 1] == ' ' || p[n - 1] == '\0'))
		n--;
	for (u32 i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '?';
	out[n] = '\0';
}

/* Identify Controller offsets, §5.15.2.1 Figure 247. */
#define ID_CTRL_SN 4
#define ID_CTRL_MN 24
#define ID_CTRL_MDTS 77
#define ID_CTRL_RTD3E 88
#define ID_CTRL_NN 516

void nvme_parse_id_ctrl(const u8 *id, u32 mpsmin, struct nvme_ctrl_info *out)
{
	u32 mdts = id[ID_CTRL_MDTS];
	/* MDTS is a power of two in units of the minimum page size; past 2^31 it is no limit. */
	u32 shift = 12 + mpsmin + mdts;

	id_string(id + ID_CTRL_SN, 20, out->serial);
	id_string(id + ID_CTRL_MN, 40, out->model);
	out->mdts_bytes = mdts == 0 || shift > 31 ? 0 : 1u << shift;
	out->rtd3e_us = le32(id + ID_CTRL_RTD3E);
	out->nn = le32(id + ID_CTRL_NN);
}

/* Identify Namespace offsets, §5.15.2.2 Figure 249. */
#define ID_NS_NSZE 0
#define ID_NS_NLBAF 25
#define ID_NS_FLBAS 26
#define ID_NS_LBAF 128

int nvme_parse_id_ns(const u8 *id, const char *name, struct nvme_ns_info *out,
		     struct jb_diag *d)
{
	u32 format = id[ID_NS_FLBAS] & 0xF;
	const u8 *lbaf = id + ID_NS_LBAF + 4 * format;
	u32 lbads = lbaf[2];

	out->blocks = le64(id + ID_NS_NSZE);
	out->block_size = lbads >= 9 && lbads < 32 ? 1u << lbads : 0;
	out->meta_size = le16(lbaf);
	if (out->blocks == 0)
		return diag_fail(d, -JB_ENODEV, "%s is not active (size 0)", name);
	if (format > id[ID_NS_NLBAF])
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "%s: LBA format %u in use, but only %u formats are listed", name,
				 format, id[ID_NS_NLBAF] + 1u);
	if (out->block_size != 512 && out->block_size != 4096)
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "%s: logical blocks of 2^%u bytes; jumpback reads 512- and 4096-byte"
				 " blocks: format the namespace with one of those (nvme format --lbaf)",
				 name, lbads);
	if (out->meta_size)
		return diag_fail(d, -JB_EUNSUPPORTED,
				 "%s: LBA format %u carries %u bytes of metadata per block, which"
				 " jumpback does not read: use a format without metadata",
				 name, format, out->meta_size);
	return 0;
}

u32 nvme_prp_pages(u64 phys, u32 bytes)
{
	u64 first = phys / NVME_PAGE_SIZE, last = (phys + bytes - 1) / NVME_PAGE_SIZE;

	return (u32)(last - first + 1);
}

int nvme_prp_build(u64 phys, u32 bytes, u64 *list, u32 list_cap, u64 list_phys, u64 *prp1,
		   u64 *prp2)
{
	if (bytes == 0 || (phys & 3) || (list_phys & (NVME_PAGE_SIZE - 1)))
		return -JB_EINVAL;
	u32 pages = nvme_prp_pages(phys, bytes);
	u64 next = (phys & ~(u64)(NVME_PAGE_SIZE - 1)) + NVME_PAGE_SIZE;

	*prp1 = phys;
	*prp2 = 0;
	if (pages == 1)
		return 0;
	if (pages == 2) {
		*prp2 = next;
		return 0;
	}
	if (pages - 1 > list_cap)
		return -JB_EINVAL;
	for (u32 i = 0; i < pages - 1; i++)
		list[i] = next + (u64)i * NVME_PAGE_SIZE;
	*prp2 = list_phys;
	return 0;
}
