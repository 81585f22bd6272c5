/* COM1 (16550 at 0x3F8), 115200 8N1, polled: the payload's only output. */
#include "portio.h"
#include "payload.h"

#define COM1 0x3F8
#define UART_THR 0 /* transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define UART_DIVISOR_115200 1
/* Polls of LSR per character: a missing or stuck UART must not hang the payload. */
#define UART_TX_POLLS 100000

/* jumpback leaves the UART as it pleases (or not at all), so program it from scratch. */
void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80); /* DLAB on to set the divisor */
	outb(COM1 + UART_DLL, UART_DIVISOR_115200);
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, 0x03); /* 8N1 */
	outb(COM1 + UART_FCR, 0xC7); /* FIFO on, cleared */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

static void serial_put_raw(char c)
{
	for (u32 polls = 0; polls < UART_TX_POLLS; polls++)
		if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
			break;
	outb(COM1 + UART_THR, (u8)c);
}

void serial_putc(char c)
{
	if (c == '\n')
		serial_put_raw('\r');
	serial_put_raw(c);
}
