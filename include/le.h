/* Little-endian loads from byte buffers (on-disk formats: ELF, MBR, GPT). Pure. */
#ifndef JB_LE_H
#define JB_LE_H

#include "types.h"

static inline u16 le16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static inline u32 le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static inline u64 le64(const u8 *p)
{
	return (u64)le32(p) | (u64)le32(p + 4) << 32;
}

#endif
