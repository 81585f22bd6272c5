; Test payload entry points: _start (Multiboot loader -> fill mode) and resume_entry (jumpback's
; hand-off -> check mode). Assembly only records the CPU state and switches to our own stack.
bits 32

STACK_SIZE      equ 16384

; struct jbt_entry_state, mirrored from test/payload/i386/payload_arch.h
ST_EFLAGS       equ 0
ST_CR0          equ 4
ST_CR4          equ 8
ST_ESP          equ 12
ST_RET          equ 16
ST_CS           equ 20
ST_DS           equ 22
ST_ES           equ 24
ST_FS           equ 26
ST_GS           equ 28
ST_SS           equ 30
ST_GDTR         equ 34                  ; sgdt: 16-bit limit at 34, 32-bit base at 36
ST_GPR          equ 40                  ; EAX, EBX, ECX, EDX, ESI, EDI, EBP

%include "multiboot1.inc"

section .text.entry
extern jbt_fill_main
extern jbt_check_main
extern jbt_entry_state

; Fill mode. The loader's segments are flat (Multiboot spec 3.2), so we keep them.
global _start
_start:
	cli
	cld
	mov esp, stack_top                  ; the loader's stack is undefined (spec 3.2)
	push ebx                            ; jbt_fill_main(magic, mbi)
	push eax
	call jbt_fill_main
	jmp hang

; An entry that returns at once: jumpback's tests use it to see that the return address it
; leaves on the stack leads to its "kernel A returned" report.
global jbt_return_now
jbt_return_now:
	ret

; Check mode. Record the state first, changing nothing on the way: mov neither reads nor
; writes flags, and pushfd/pop only borrows one dword below jumpback's ESP (its own stack).
global resume_entry
resume_entry:
	mov [jbt_entry_state + ST_GPR + 0], eax
	mov [jbt_entry_state + ST_GPR + 4], ebx
	mov [jbt_entry_state + ST_GPR + 8], ecx
	mov [jbt_entry_state + ST_GPR + 12], edx
	mov [jbt_entry_state + ST_GPR + 16], esi
	mov [jbt_entry_state + ST_GPR + 20], edi
	mov [jbt_entry_state + ST_GPR + 24], ebp
	mov [jbt_entry_state + ST_ESP], esp
	pushfd
	pop dword [jbt_entry_state + ST_EFLAGS]
	mov [jbt_entry_state + ST_CS], cs
	mov [jbt_entry_state + ST_DS], ds
	mov [jbt_entry_state + ST_ES], es
	mov [jbt_entry_state + ST_FS], fs
	mov [jbt_entry_state + ST_GS], gs
	mov [jbt_entry_state + ST_SS], ss
	mov eax, cr0
	mov [jbt_entry_state + ST_CR0], eax
	mov eax, cr4
	mov [jbt_entry_state + ST_CR4], eax
	mov eax, [esp]                      ; jumpback's "kernel A returned" address
	mov [jbt_entry_state + ST_RET], eax
	sgdt [jbt_entry_state + ST_GDTR]
	cld                                 ; the C ABI needs DF=0; the recorded value is checked
	mov esp, stack_top                  ; never push onto jumpback's stack again
	call jbt_check_main
hang:                                   ; neither main returns; stay put if one does
	cli
	hlt
	jmp hang

section .bss
align 16
stack_bottom:
	resb STACK_SIZE
stack_top:
