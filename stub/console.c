/* Console: VGA text mode (0xB8000, 80x25) and a polled 16550 UART, with the line prefix. */
#include "console.h"

#include "cpu.h"
#include "fmt.h"
#include "options.h"

#define VGA_TEXT ((volatile u16 *)0xB8000)
#define VGA_COLS 80
#define VGA_ROWS 25
#define VGA_ATTR 0x0700 /* light grey on black */

#define UART_THR 0 /* transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define UART_CLOCK_HZ 115200
/* Polls of LSR before giving up on a character: a missing UART must not hang the stub. */
#define UART_TX_POLLS 100000

#define LINE_PREFIX "jumpback: "

static struct {
	u32 outputs;
	u16 port;
	bool serial_ok;
	u32 row, col;
	bool line_start;
} con = { .line_start = true };

static void serial_init(u16 port, u32 baud)
{
	u32 divisor = UART_CLOCK_HZ / baud;

	outb(port + UART_IER, 0x00);
	outb(port + UART_LCR, 0x80); /* DLAB on to set the divisor */
	outb(port + UART_DLL, (u8)divisor);
	outb(port + UART_DLM, (u8)(divisor >> 8));
	outb(port + UART_LCR, 0x03); /* 8N1 */
	outb(port + UART_FCR, 0xC7); /* FIFO on, cleared */
	outb(port + UART_MCR, 0x03); /* DTR, RTS */
	/* No UART answers 0xFF on LSR: treat it as absent. */
	con.serial_ok = inb(port + UART_LSR) != 0xFF;
	con.port = port;
}

static void serial_putc(char c)
{
	u32 polls = 0;

	if (!con.serial_ok)
		return;
	while (!(inb(con.port + UART_LSR) & UART_LSR_THRE)) {
		if (++polls == UART_TX_POLLS) {
			con.serial_ok = false; /* stuck transmitter: stop using it */
			return;
		}
		cpu_relax();
	}
	outb(con.port + UART_THR, (u8)c);
}

/*
 * The screen's cells as written, kept in RAM: scrolling reads this copy, never the adapter's
 * memory (uncached on real hardware, an emulated access per cell in QEMU), and writes only
 * the cells whose contents change.
 */
static u16 vga_shadow[VGA_ROWS * VGA_COLS];

static void vga_set(u32 i, u16 cell)
{
	vga_shadow[i] = cell;
	VGA_TEXT[i] = cell;
}

static void vga_scroll(void)
{
	for (u32 i = 0; i < VGA_ROWS * VGA_COLS; i++) {
		u16 cell = i < (VGA_ROWS - 1) * VGA_COLS ? vga_shadow[i + VGA_COLS] : VGA_ATTR | ' ';

		if (vga_shadow[i] != cell)
			vga_set(i, cell);
	}
	con.row = VGA_ROWS - 1;
}

static void vga_putc(char c)
{
	if (c == '\n') {
		con.col = 0;
		if (++con.row == VGA_ROWS)
			vga_scroll();
		return;
	}
	if (con.col == VGA_COLS) {
		con.col = 0;
		if (++con.row == VGA_ROWS)
			vga_scroll();
	}
	vga_set(con.row * VGA_COLS + con.col++, (u16)(VGA_ATTR | (u8)c));
}

static void raw_putc(char c)
{
	if (con.outputs & JB_CONSOLE_SERIAL) {
		if (c == '\n')
			serial_putc('\r');
		serial_putc(c);
	}
	if (con.outputs & JB_CONSOLE_VGA)
		vga_putc(c);
}

static void console_sink(void *ctx, char c)
{
	(void)ctx;
	if (con.line_start) {
		con.line_start = false;
		for (const char *p = LINE_PREFIX; *p; p++)
			raw_putc(*p);
	}
	raw_putc(c);
	if (c == '\n')
		con.line_start = true;
}

void console_init(void)
{
	for (u32 i = 0; i < VGA_ROWS * VGA_COLS; i++)
		vga_set(i, VGA_ATTR | ' ');
	con.row = con.col = 0;
	con.outputs = JB_CONSOLE_VGA | JB_CONSOLE_SERIAL;
	serial_init(0x3F8, 115200);
}

void console_configure(u32 outputs, u16 serial_port, u32 serial_baud)
{
	if (serial_port != con.port || serial_baud != 115200)
		serial_init(serial_port, serial_baud);
	con.outputs = outputs;
}

void console_end_line(void)
{
	if (!con.line_start)
		console_sink(NULL, '\n');
}

void kvprintf(const char *fmt, __builtin_va_list ap)
{
	fmt_v(console_sink, NULL, fmt, ap);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
