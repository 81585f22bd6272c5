/* Fixed-width integer names used everywhere (stub, tools, tests). */
#ifndef JB_TYPES_H
#define JB_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define JB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
