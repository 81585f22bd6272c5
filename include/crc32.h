/* CRC-32 as GPT uses it (UEFI spec, GPT header and entry array checksums). Pure. */
#ifndef JB_CRC32_H
#define JB_CRC32_H

#include "types.h"

/*
 * CRC-32 of IEEE 802.3 (reflected, polynomial 0xEDB88320, initial value and final XOR
 * 0xFFFFFFFF). Chains like zlib's crc32(): start with crc = 0, and
 * crc32_update(crc32_update(0, a, n), b, m) is the CRC of a followed by b.
 */
u32 crc32_update(u32 crc, const void *buf, size_t len);

#endif
