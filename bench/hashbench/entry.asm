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
	push ebx                            ; hb_main(magic, mbi)
	push eax
	call hb_main
hang:                                   ; hb_main exits QEMU; stay put if it returns
	cli
	hlt
	jmp hang

section .bss
align 16
	resb STACK_SIZE
stack_top:
