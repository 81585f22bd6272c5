/* VGA text and 16550 serial output; every line starts with "jumpback: ". */
#ifndef JB_CONSOLE_H
#define JB_CONSOLE_H

#include "types.h"

/* Starts with VGA and COM1 at 115200; console_configure() applies console=/serial= later. */
void console_init(void);
void console_configure(u32 outputs, u16 serial_port, u32 serial_baud);

/* Ends a partly written line, so the next message starts on a line of its own. */
void console_end_line(void);

void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, __builtin_va_list ap);

#endif
