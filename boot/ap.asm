; A second CPU's way into the stub (stub/smp.c). The start-up IPI starts an application
; processor in real mode at vector * 4 KiB (Intel SDM vol. 3 §9.4.4, §10.6.1): the blob
; below is copied there, loads the stub's GDT, enters 32-bit protected mode and jumps to
; ap_entry32 in the stub. The first CPU to arrive gets the helper's stack and runs ap_main;
; any further one (the machine has more than two) halts until the INIT that ends the restore.
bits 16
%include "boot/segments.inc"
section .text

SEL_CODE32      equ 0x10                ; boot/entry.asm's GDT
SEL_DATA32      equ 0x18
AP_STACK_SIZE   equ 16384

extern ap_main

global ap_blob_start, ap_blob_end, ap_gdt_desc
ap_blob_start:
	cli
	cld
	o32 lgdt [cs:ap_gdt_desc - ap_blob_start]
	mov eax, cr0
	or eax, 1                       ; PE: protected mode, paging off as the stub runs
	mov cr0, eax
	jmp dword SEL_CODE32:ap_entry32
align 4
ap_gdt_desc:                            ; stub/smp.c copies gdt_desc here
	dw 0
	dd 0
ap_blob_end:

bits 32
ap_entry32:
	LOAD_FLAT_DATA_SEGMENTS
	mov eax, 1
	lock xadd [ap_arrived], eax     ; eax: how many arrived before this one
	test eax, eax
	jnz .extra
	mov esp, ap_stack_top
	call ap_main                    ; does not return
.extra:
	cli
	hlt
	jmp .extra

; The helper's interrupt handlers (stub/smp.c): the wake-up IPI only ends its hlt, so the
; handler signals end of interrupt to the local APIC and returns; a spurious interrupt gets
; no end of interrupt (Intel SDM vol. 3 §10.9).
global ap_wake, ap_spurious, ap_lapic_eoi
ap_wake:
	push eax
	mov eax, [ap_lapic_eoi]
	mov dword [eax], 0
	pop eax
ap_spurious:
	iretd

section .data
align 4
global ap_arrived
ap_arrived:     dd 0
ap_lapic_eoi:   dd 0

section .bss
align 16
	resb AP_STACK_SIZE
ap_stack_top:
