; The real-mode door (include/bios.h): rm_int(vec, regs) from 32-bit protected mode.
; The trampoline below is copied to BIOS_TRAMPOLINE (0x1000) and runs from there: in 16-bit
; code it is addressed as CS/DS = 0x0100 with offsets from rm_blob_start; in 32-bit code at
; 0x1000 + offset. Intel SDM vol. 3 §9.9.2 (switching back to real-address mode).
bits 32
%include "boot/segments.inc"

TRAMPOLINE      equ 0x1000
TRAMP_SEG       equ TRAMPOLINE >> 4
STACK_TOP       equ 0x3000
SEL_CODE32      equ 0x10
SEL_DATA32      equ 0x18
SEL_CODE16      equ 0x20
SEL_DATA16      equ 0x28

; struct rm_regs, mirrored in include/bios.h
RM_EAX          equ 0
RM_EBX          equ 4
RM_ECX          equ 8
RM_EDX          equ 12
RM_ESI          equ 16
RM_EDI          equ 20
RM_EBP          equ 24
RM_EFLAGS       equ 28
RM_DS           equ 32
RM_ES           equ 34
RM_SIZE         equ 36

%define OFF(label) (label - rm_blob_start)
%define ABS(label) (TRAMPOLINE + OFF(label))

section .text
global rm_int
; void rm_int(u8 vec, struct rm_regs *regs)  -- cdecl
rm_int:
	push ebp
	push ebx
	push esi
	push edi
	mov eax, [esp + 20]                 ; vec
	mov [ABS(int_insn) + 1], al         ; patch the `int imm8` below
	mov esi, [esp + 24]                 ; regs in
	mov edi, ABS(regs)
	mov ecx, RM_SIZE
	cld
	rep movsb
	mov [ABS(saved_esp)], esp
	sgdt [ABS(saved_gdtr)]
	sidt [ABS(saved_idtr)]
	jmp SEL_CODE16:ABS(pm16)            ; 16-bit protected mode, still at our low copy

section .rodata
align 16
global rm_blob_start, rm_blob_end
rm_blob_start:

bits 16
pm16:
	mov ax, SEL_DATA16                  ; real-mode-like limits (64 KiB) before PE=0
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	lidt [ABS(rm_idtr)]                 ; the BIOS's IVT at 0
	mov eax, cr0
	and eax, ~1
	mov cr0, eax                        ; PE=0: real mode
	jmp TRAMP_SEG:OFF(real)
real:
	xor ax, ax
	mov ss, ax
	mov sp, STACK_TOP
	mov ax, TRAMP_SEG
	mov ds, ax
	mov eax, [OFF(regs) + RM_EAX]
	mov ebx, [OFF(regs) + RM_EBX]
	mov ecx, [OFF(regs) + RM_ECX]
	mov edx, [OFF(regs) + RM_EDX]
	mov esi, [OFF(regs) + RM_ESI]
	mov edi, [OFF(regs) + RM_EDI]
	mov ebp, [OFF(regs) + RM_EBP]
	push word [OFF(regs) + RM_DS]
	mov es, [OFF(regs) + RM_ES]
	pop ds
	stc                                 ; CF=1: a BIOS that ignores the call reads as failure
	sti                                 ; disk services may wait on the timer interrupt
int_insn:
	int 0x00                            ; vector patched by rm_int
	cli
	cld
	push ds
	push word TRAMP_SEG
	pop ds
	mov [OFF(regs) + RM_EAX], eax
	mov [OFF(regs) + RM_EBX], ebx
	mov [OFF(regs) + RM_ECX], ecx
	mov [OFF(regs) + RM_EDX], edx
	mov [OFF(regs) + RM_ESI], esi
	mov [OFF(regs) + RM_EDI], edi
	mov [OFF(regs) + RM_EBP], ebp
	pushfd
	pop dword [OFF(regs) + RM_EFLAGS]
	pop word [OFF(regs) + RM_DS]
	mov [OFF(regs) + RM_ES], es
	o32 lgdt [OFF(saved_gdtr)]          ; the stub's GDT again
	mov eax, cr0
	or eax, 1
	mov cr0, eax                        ; PE=1
	jmp dword SEL_CODE32:ABS(pm32)

bits 32
pm32:
	LOAD_FLAT_DATA_SEGMENTS
	mov esp, [ABS(saved_esp)]
	lidt [ABS(saved_idtr)]
	mov eax, rm_return                  ; back into the stub's own code: an absolute
	jmp eax                             ; jump, this copy runs away from its link address

align 4
regs:           times RM_SIZE db 0
saved_esp:      dd 0
saved_gdtr:     dw 0
		dd 0
saved_idtr:     dw 0
		dd 0
rm_idtr:        dw 0x3FF                ; real-mode IVT: 256 vectors at 0
		dd 0
rm_blob_end:

section .text
rm_return:
	mov esi, ABS(regs)                  ; results out
	mov edi, [esp + 24]
	mov ecx, RM_SIZE
	cld
	rep movsb
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret
