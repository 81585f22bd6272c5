; Hash-rate kernel entry (bench/hashbench): a Multiboot 1 loader (QEMU -kernel) enters here in
; flat 32-bit protected mode; we only set up our own stack and call hb_main(magic, mbi).
bits 32

STACK_SIZE      equ 16384

%include "multiboot1.inc"

section .text.entry
extern hb_main

global _start
_start:
	cli
	cld
	mov esp, stack_top                  ; the loader's stack is undefined (Multiboot 0.6.96 3.2)
	lgdt [gdt_desc]                     ; the stub's selectors, for boot/hash64.asm
	jmp 0x10:.cs
.cs:
	mov cx, 0x18
	mov ds, cx
	mov es, cx
	mov ss, cx
	push ebx                            ; hb_main(magic, mbi)
	push eax
	call hb_main
hang:                                   ; hb_main exits QEMU; stay put if it returns
	cli
	hlt
	jmp hang

section .data
align 16
gdt:
	dq 0
	dq 0
	dq 0x00CF9A000000FFFF               ; 0x10 32-bit code
	dq 0x00CF92000000FFFF               ; 0x18 32-bit data
	dq 0
	dq 0
	dq 0x00AF9A000000FFFF               ; 0x30 64-bit code
gdt_end:
gdt_desc:
	dw gdt_end - gdt - 1
	dd gdt

section .bss
align 16
	resb STACK_SIZE
stack_top:
