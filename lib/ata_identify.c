/* ATA IDENTIFY DEVICE data (ACS-3 §7.12.7): capacity, model, logical sector size. Pure. */
#include "ata_identify.h"

#define ID_CAPACITY_28 60
#define ID_MODEL_FIRST 27
#define ID_MODEL_LAST 46
#define ID_FEATURES_83 83
#define ID_FEATURES_83_LBA48 (1u << 10)
#define ID_CAPACITY_48 100
#define ID_SECTOR_SIZES 106
#define ID_SECTOR_SIZES_VALID_MASK 0xC000u
#define ID_SECTOR_SIZES_VALID 0x4000u       /* bit 15 clear, bit 14 set */
#define ID_SECTOR_SIZES_LONG (1u << 12)      /* logical sector longer than 256 words */
#define ID_LOGICAL_SECTOR_WORDS 117          /* words 117-118 */

u64 ata_id_sectors(const u16 *id)
{
	if (id[ID_FEATURES_83] & ID_FEATURES_83_LBA48)
		return (u64)id[ID_CAPACITY_48] | (u64)id[ID_CAPACITY_48 + 1] << 16 |
		       (u64)id[ID_CAPACITY_48 + 2] << 32 | (u64)id[ID_CAPACITY_48 + 3] << 48;
	return (u64)id[ID_CAPACITY_28] | (u64)id[ID_CAPACITY_28 + 1] << 16;
}

void ata_id_model(const u16 *id, char *out, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return;
	for (u32 w = ID_MODEL_FIRST; w <= ID_MODEL_LAST && n + 2 < size; w++) {
		out[n++] = (char)(id[w] >> 8); /* ATA strings swap each byte pair */
		out[n++] = (char)id[w];
	}
	while (n && (out[n - 1] == ' ' || out[n - 1] == '\0'))
		n--;
	out[n] = '\0';
}

u32 ata_id_logical_sector_size(const u16 *id)
{
	u16 w = id[ID_SECTOR_SIZES];

	if ((w & ID_SECTOR_SIZES_VALID_MASK) != ID_SECTOR_SIZES_VALID || !(w & ID_SECTOR_SIZES_LONG))
		return 512;
	u32 words = (u32)id[ID_LOGICAL_SECTOR_WORDS] | (u32)id[ID_LOGICAL_SECTOR_WORDS + 1] << 16;

	return words * 2;
}
