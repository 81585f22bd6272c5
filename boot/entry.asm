; Multiboot 1 and Multiboot 2 headers and the entry: own GDT, own stack, then C
; (stub/main.c: jb_main(magic, info)). Multiboot 0.6.96 §3.1-3.2; Multiboot2 1.0 §3.1.
bits 32
%include "boot/segments.inc"

MB1_MAGIC       equ 0x1BADB002
MB1_FLAGS       equ 0x00000003          ; bit 0: page-align modules, bit 1: give memory info
STACK_SIZE      equ 16384

SEL_CODE32      equ 0x10                ; see gdt below; mirrored in include/cpu.h
SEL_DATA32      equ 0x18

MB2_MAGIC       equ 0xE85250D6
MB2_ARCH_I386   equ 0                   ; 32-bit protected mode at entry
MB2_TAG_END     equ 0

section .multiboot
align 4
global mb1_header
mb1_header:
	dd MB1_MAGIC
	dd MB1_FLAGS
	dd -(MB1_MAGIC + MB1_FLAGS)         ; checksum: the three words sum to zero

; Multiboot2 (GRUB `multiboot2`): an ELF image needs no address tag. The loader gives the
; memory map and command line without being asked; the header is only the magic, the
; architecture and the end tag.
align 8
global mb2_header
mb2_header:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	dw MB2_TAG_END                      ; end tag: type 0, flags 0, size 8
	dw 0
	dd 8
mb2_header_end:

section .text.entry
global _start
extern jb_main
extern __bss_start, __bss_end
_start:
	cli                                 ; the loader leaves IF=0, but trust nothing
	cld
	mov esp, stack_top                  ; the loader's stack is undefined (spec 3.2)
	mov esi, eax                        ; keep the Multiboot magic
	mov edx, ebx                        ; and the info pointer
	mov edi, __bss_start                ; zero .bss (stacks, buffers, C statics):
	mov ecx, __bss_end                  ; not every loader clears p_memsz past p_filesz
	sub ecx, edi
	shr ecx, 2                          ; linker.ld page-aligns both ends
	xor eax, eax
	rep stosd
	mov edi, edx
	call gdt_reload                     ; our GDT, CS and data segments
	push 0                              ; EFLAGS = 0: IF, DF and friends off
	popfd
	push edi                            ; jb_main(magic, mbi)
	push esi
	call jb_main
.hang:                                  ; jb_main never returns
	cli
	hlt
	jmp .hang

; Reload our GDT and segments; used after a mode change or when control comes back.
global gdt_reload
gdt_reload:
	lgdt [gdt_desc]
	jmp SEL_CODE32:.cs
.cs:
	LOAD_FLAT_DATA_SEGMENTS
	ret

section .data
align 16
; Flat descriptors laid out like Linux i386 boot code's (__BOOT_CS 0x10, __BOOT_DS 0x18),
; so a 32-bit kernel A that reloads segments before its own lgdt still finds flat ones.
global gdt
gdt:
	dq 0                                ; 0x00 null
	dq 0x00CF9A000000FFFF               ; 0x08 32-bit code, flat (spare)
	dq 0x00CF9A000000FFFF               ; 0x10 32-bit code, base 0, limit 4 GiB
	dq 0x00CF92000000FFFF               ; 0x18 32-bit data, base 0, limit 4 GiB
	dq 0x00009A000000FFFF               ; 0x20 16-bit code, 64 KiB (real-mode door)
	dq 0x000092000000FFFF               ; 0x28 16-bit data, 64 KiB
	dq 0x00AF9A000000FFFF               ; 0x30 64-bit code (boot/hash64.asm)
gdt_end:

global gdt_desc
gdt_desc:
	dw gdt_end - gdt - 1
	dd gdt

section .bss
align 16
stack_bottom:
	resb STACK_SIZE
global stack_top
stack_top:
