/*
 * Fields of the ATA IDENTIFY DEVICE data (ACS-3 §7.12.7, 256 little-endian words) that the
 * AHCI driver (stub/ahci.c) uses: capacity, model, logical sector size. Pure.
 */
#ifndef JB_ATA_IDENTIFY_H
#define JB_ATA_IDENTIFY_H

#include "types.h"

#define ATA_ID_WORDS 256

/* User-addressable sectors: words 100-103 with the 48-bit feature set, else words 60-61. */
u64 ata_id_sectors(const u16 *id);

/* The model number (words 27-46, each word's two bytes swapped), trailing spaces cut. */
void ata_id_model(const u16 *id, char *out, size_t size);

/*
 * Bytes per logical sector: words 117-118 (in words) when word 106 is valid (bit 14 set, bit
 * 15 clear) and says the logical sector is longer than 256 words (bit 12); else 512.
 */
u32 ata_id_logical_sector_size(const u16 *id);

#endif
