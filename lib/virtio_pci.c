/* The capability list of a virtio 1.0 modern PCI device (virtio v1.0 §4.1.4). Pure. */
#include "virtio.h"

#include "le.h"

#define PCI_CAP_FIRST 0x40 /* capabilities live after the standard header */
#define PCI_CAP_MAX_WALK 48 /* (256 - 64) / 4: more entries than that is a loop */

static const char *const virtio_cap_name[VIRTIO_PCI_CAP_TYPES] = {
	[VIRTIO_PCI_CAP_COMMON_CFG] = "common configuration",
	[VIRTIO_PCI_CAP_NOTIFY_CFG] = "notification",
	[VIRTIO_PCI_CAP_DEVICE_CFG] = "device configuration",
};

/* Records one vendor capability at pos if it is the first usable one of its type. */
static void virtio_cap_take(const u8 *cfg, size_t len, u32 pos, struct virtio_pci_caps *out)
{
	u32 cap_len = cfg[pos + VIRTIO_CAP_LEN];
	u8 type = cfg[pos + VIRTIO_CAP_CFG_TYPE];
	u8 bar = cfg[pos + VIRTIO_CAP_BAR];

	if (cap_len < VIRTIO_CAP_MIN_LEN || cap_len > len - pos || type == 0 ||
	    type >= VIRTIO_PCI_CAP_TYPES || bar > 5 || out->cfg[type].present)
		return; /* §4.1.4: unknown types and reserved BAR values are skipped */
	if ((type == VIRTIO_PCI_CAP_NOTIFY_CFG || type == VIRTIO_PCI_CAP_PCI_CFG) &&
	    cap_len < VIRTIO_CAP_MIN_LEN + 4)
		return;
	out->cfg[type] = (struct virtio_region){
		.present = true,
		.bar = bar,
		.cap_at = (u8)pos,
		.offset = le32(cfg + pos + VIRTIO_CAP_OFFSET),
		.length = le32(cfg + pos + VIRTIO_CAP_LENGTH),
	};
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		out->notify_off_multiplier = le32(cfg + pos + VIRTIO_CAP_NOTIFY_MULT);
}

int virtio_pci_caps_parse(const u8 *cfg, size_t len, struct virtio_pci_caps *out,
			  struct jb_diag *d)
{
	static const u8 needed[] = { VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_NOTIFY_CFG,
				     VIRTIO_PCI_CAP_DEVICE_CFG };

	*out = (struct virtio_pci_caps){ .notify_off_multiplier = 0 };
	if (len < 256)
		return diag_fail(d, -JB_EINVAL, "configuration space image of %zu bytes", len);
	if (!(le16(cfg + PCI_CFG_STATUS) & PCI_CFG_STATUS_CAP_LIST))
		return diag_fail(d, -JB_ENODEV, "no PCI capability list (a legacy-only device)");
	u32 pos = cfg[PCI_CFG_CAP_PTR] & 0xFCu;

	for (u32 walked = 0; pos != 0; walked++) {
		if (walked == PCI_CAP_MAX_WALK || pos < PCI_CAP_FIRST || pos > len - 4)
			return diag_fail(d, -JB_ENODEV,
					 "broken PCI capability list (entry at 0x%02x)", pos);
		if (cfg[pos] == PCI_CAP_ID_VENDOR)
			virtio_cap_take(cfg, len, pos, out);
		pos = cfg[pos + 1] & 0xFCu;
	}
	for (u32 i = 0; i < sizeof(needed); i++)
		if (!out->cfg[needed[i]].present)
			return diag_fail(d, -JB_ENODEV, "no virtio %s capability (a legacy-only device?)",
					 virtio_cap_name[needed[i]]);
	return 0;
}
