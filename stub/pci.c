/* PCI configuration access (mechanism #1) and scans of every bus, by class code or any test. */
#include "pci.h"

#include "cpu.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC

static u32 pci_address(struct pci_dev p, u8 reg)
{
	return 0x80000000u | (u32)p.bus << 16 | (u32)p.dev << 11 | (u32)p.fn << 8 | (reg & 0xFC);
}

u32 pci_read32(struct pci_dev p, u8 reg)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(p, reg));
	return inl(PCI_CONFIG_DATA);
}

void pci_write32(struct pci_dev p, u8 reg, u32 v)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(p, reg));
	outl(PCI_CONFIG_DATA, v);
}

u16 pci_read16(struct pci_dev p, u8 reg)
{
	return (u16)(pci_read32(p, reg) >> ((reg & 2) * 8));
}

void pci_write16(struct pci_dev p, u8 reg, u16 v)
{
	u32 shift = (reg & 2) * 8;
	u32 old = pci_read32(p, reg);

	pci_write32(p, reg, (old & ~(0xFFFFu << shift)) | (u32)v << shift);
}

bool pci_find(pci_match_fn match, const void *ctx, u32 index, struct pci_dev *out)
{
	for (u32 bus = 0; bus < 256; bus++) {
		for (u32 dev = 0; dev < 32; dev++) {
			for (u32 fn = 0; fn < 8; fn++) {
				struct pci_dev p = { (u8)bus, (u8)dev, (u8)fn };

				if ((pci_read32(p, PCI_VENDOR_ID) & 0xFFFF) == 0xFFFF) {
					if (fn == 0)
						break; /* no device: skip its other functions */
					continue;
				}
				if (match(p, ctx) && index-- == 0) {
					*out = p;
					return true;
				}
				/* Single-function devices answer on every function number on some chipsets. */
				if (fn == 0 && !(pci_read32(p, PCI_HEADER_TYPE & 0xFC) >> 16 & 0x80))
					break;
			}
		}
	}
	return false;
}

static bool pci_class_matches(struct pci_dev p, const void *ctx)
{
	return (pci_read32(p, PCI_CLASS_REVISION) & 0xFFFFFF00u) == *(const u32 *)ctx;
}

bool pci_find_class(u8 cls, u8 sub, u8 progif, u32 index, struct pci_dev *out)
{
	u32 want = (u32)cls << 24 | (u32)sub << 16 | (u32)progif << 8;

	return pci_find(pci_class_matches, &want, index, out);
}
