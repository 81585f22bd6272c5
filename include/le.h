/* Little-endian loads and stores on byte buffers (on-disk formats: ELF, MBR, GPT). Pure. */
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

static inline void put16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static inline void put32(u8 *p, u32 v)
{
	put16(p, (u16)v);
	put16(p + 2, (u16)(v >> 16));
}

static inline void put64(u8 *p, u64 v)
{
	put32(p, (u32)v);
	put32(p + 4, (u32)(v >> 32));
}

#endif
