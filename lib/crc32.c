/*
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) with a 16-entry table: one lookup per
 * nibble, 64 bytes of table, fast enough for GPT's header and entry array.
 */
#include "crc32.h"

/* crc32_nibble[n]: the reflected CRC register after shifting the 4 bits n out of it. */
static const u32 crc32_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
	0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

u32 crc32_update(u32 crc, const void *buf, size_t len)
{
	const u8 *p = buf;

	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ crc32_nibble[crc & 0xf];
		crc = (crc >> 4) ^ crc32_nibble[crc & 0xf];
	}
	return ~crc;
}
