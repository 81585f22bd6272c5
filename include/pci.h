/* PCI configuration space through mechanism #1 (ports 0xCF8/0xCFC), PCI Local Bus spec 3.0 §3.2.2.3. */
#ifndef JB_PCI_H
#define JB_PCI_H

#include "types.h"

#define PCI_VENDOR_ID 0x00
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO (1u << 0)
#define PCI_COMMAND_MEMORY (1u << 1)
#define PCI_COMMAND_MASTER (1u << 2)
#define PCI_CLASS_REVISION 0x08 /* class:subclass:prog-if:revision, high byte first */
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_BAR5 0x24

struct pci_dev {
	u8 bus, dev, fn;
};

u32 pci_read32(struct pci_dev p, u8 reg);
void pci_write32(struct pci_dev p, u8 reg, u32 v);
u16 pci_read16(struct pci_dev p, u8 reg);
void pci_write16(struct pci_dev p, u8 reg, u16 v);

/* Does this function match (its configuration space may be read)? */
typedef bool (*pci_match_fn)(struct pci_dev p, const void *ctx);

/* Finds the index-th function (0-based, bus order) that match accepts. */
bool pci_find(pci_match_fn match, const void *ctx, u32 index, struct pci_dev *out);

/* Finds the index-th function (0-based, bus order) with this class/subclass/prog-if. */
bool pci_find_class(u8 cls, u8 sub, u8 progif, u32 index, struct pci_dev *out);

#endif
