; 64-bit test payload entry points: _start (Multiboot loader, 32-bit protected mode -> own
; identity map, long mode -> fill mode) and resume_entry (jumpback's 64-bit hand-off -> check
; mode). Assembly records the CPU state and switches modes and stacks; C does the rest.

STACK_SIZE      equ 16384

; The GDT below has Linux x86_64's layout (x86_64/payload_arch.h).
SEL_CODE32      equ 0x08
SEL_CODE64      equ 0x10
SEL_DATA        equ 0x18

CR0_PE          equ 1 << 0
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xC0000080
EFER_LME        equ 1 << 8
MSR_PAT         equ 0x277

; Fill mode's identity map: 2 MiB pages over 0-64 GiB, the first 4 GiB and any RAM a test
; guest has (SDM vol. 3, 4.5). One page directory maps 1 GiB.
PTE_P           equ 1 << 0
PTE_RW          equ 1 << 1
PTE_PS          equ 1 << 7
PAGE_2M         equ 0x200000
MAP_GIB         equ 64

; struct jbt_entry_state, mirrored from test/payload/x86_64/payload_arch.h
ST_RFLAGS       equ 0
ST_CR0          equ 8
ST_CR3          equ 16
ST_CR4          equ 24
ST_EFER         equ 32
ST_PAT          equ 40
ST_RSP          equ 48
ST_RET          equ 56
ST_CS           equ 64
ST_DS           equ 66
ST_ES           equ 68
ST_FS           equ 70
ST_GS           equ 72
ST_SS           equ 74
ST_GDTR         equ 78                  ; sgdt: 16-bit limit at 78, 64-bit base at 80
ST_GPR          equ 88                  ; RAX, RBX, RCX, RDX, RSI, RDI, RBP, R8-R15

%include "multiboot1.inc"

section .text.entry
extern jbt_fill_main
extern jbt_check_main
extern jbt_entry_state
extern jbt_idt_install

; Fill mode, entered in 32-bit protected mode with flat segments (Multiboot spec 3.2).
bits 32
global _start
_start:
	cli
	cld
	mov esp, stack_top                  ; the loader's stack is undefined (spec 3.2)
	mov ebp, eax                        ; magic in EBP, info in EBX: both survive map_build
	call map_build                      ; and stay callee-saved in the 64-bit C ABI
	lgdt [gdt_desc]
	mov eax, cr4
	or eax, CR4_PAE                     ; long mode needs PAE paging (SDM vol. 3, 9.8.5)
	mov cr4, eax
	mov eax, pml4
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_PE             ; EFER.LMA follows: compatibility mode until CS changes
	mov cr0, eax
	jmp SEL_CODE64:fill64

; PML4[0] -> PDPT; PDPT[i] -> pd + i * 4 KiB; pd entry j maps j * 2 MiB to itself.
map_build:
	mov edi, pml4                       ; PML4 and PDPT are adjacent: clear both
	xor eax, eax
	mov ecx, 2 * 4096 / 4
	rep stosd
	mov dword [pml4], pdpt + PTE_P + PTE_RW
	mov edi, pdpt
	mov eax, pd + PTE_P + PTE_RW
	mov ecx, MAP_GIB
.pdpt:
	mov [edi], eax                      ; the high dword stays 0: pd lies below 4 GiB
	add eax, 4096
	add edi, 8
	loop .pdpt
	mov edi, pd
	mov eax, PTE_P | PTE_RW | PTE_PS
	xor edx, edx                        ; EDX:EAX is the 64-bit entry
	mov ecx, MAP_GIB * 512
.pd:
	mov [edi], eax
	mov [edi + 4], edx
	add eax, PAGE_2M
	adc edx, 0                          ; past 4 GiB the address carries into the high dword
	add edi, 8
	loop .pd
	ret

bits 64
fill64:
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov rsp, stack_top
	call jbt_idt_install                ; a fault now reports instead of triple-faulting
	mov edi, ebp                        ; jbt_fill_main(magic, mbi)
	mov esi, ebx
	call jbt_fill_main
	jmp hang

; Check mode. Record the state first, changing nothing on the way: mov, rdmsr and sgdt leave
; the flags alone, and pushfq/pop only borrows one qword below jumpback's RSP (its own stack).
; An entry that returns at once (in long mode): jumpback's tests use it to see that the
; return address it leaves at 0(%rsp) leads to its "kernel A returned" report.
global jbt_return_now
jbt_return_now:
	ret

global resume_entry
resume_entry:
	mov [rel jbt_entry_state + ST_GPR + 0], rax
	mov [rel jbt_entry_state + ST_GPR + 8], rbx
	mov [rel jbt_entry_state + ST_GPR + 16], rcx
	mov [rel jbt_entry_state + ST_GPR + 24], rdx
	mov [rel jbt_entry_state + ST_GPR + 32], rsi
	mov [rel jbt_entry_state + ST_GPR + 40], rdi
	mov [rel jbt_entry_state + ST_GPR + 48], rbp
	mov [rel jbt_entry_state + ST_GPR + 56], r8
	mov [rel jbt_entry_state + ST_GPR + 64], r9
	mov [rel jbt_entry_state + ST_GPR + 72], r10
	mov [rel jbt_entry_state + ST_GPR + 80], r11
	mov [rel jbt_entry_state + ST_GPR + 88], r12
	mov [rel jbt_entry_state + ST_GPR + 96], r13
	mov [rel jbt_entry_state + ST_GPR + 104], r14
	mov [rel jbt_entry_state + ST_GPR + 112], r15
	mov [rel jbt_entry_state + ST_RSP], rsp
	pushfq
	pop qword [rel jbt_entry_state + ST_RFLAGS]
	mov [rel jbt_entry_state + ST_CS], cs
	mov [rel jbt_entry_state + ST_DS], ds
	mov [rel jbt_entry_state + ST_ES], es
	mov [rel jbt_entry_state + ST_FS], fs
	mov [rel jbt_entry_state + ST_GS], gs
	mov [rel jbt_entry_state + ST_SS], ss
	mov rax, cr0
	mov [rel jbt_entry_state + ST_CR0], rax
	mov rax, cr3
	mov [rel jbt_entry_state + ST_CR3], rax
	mov rax, cr4
	mov [rel jbt_entry_state + ST_CR4], rax
	mov ecx, MSR_EFER
	rdmsr
	mov [rel jbt_entry_state + ST_EFER], eax
	mov [rel jbt_entry_state + ST_EFER + 4], edx
	mov ecx, MSR_PAT
	rdmsr
	mov [rel jbt_entry_state + ST_PAT], eax
	mov [rel jbt_entry_state + ST_PAT + 4], edx
	mov rax, [rsp]                      ; jumpback's "kernel A returned" address
	mov [rel jbt_entry_state + ST_RET], rax
	sgdt [rel jbt_entry_state + ST_GDTR]
	cld                                 ; the C ABI needs DF=0; the recorded value is checked
	mov rsp, stack_top                  ; never push onto jumpback's stack again
	call jbt_idt_install                ; a page fault in a region reports, not triple-faults
	call jbt_check_main
hang:                                   ; neither main returns; stay put if one does
	cli
	hlt
	jmp hang

; jbt_selftest_enter(cr3 in RDI, rsp in RSI): the hand-off jumpback performs (DESIGN.md
; section 5), for `selftest`. PAT and EFER.NXE are set by the C caller (x86_64/selftest.c).
global jbt_selftest_enter
jbt_selftest_enter:
	lgdt [rel gdt_desc]
	mov cr3, rdi
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	push SEL_CODE64                     ; far return: reload CS from the GDT just loaded
	lea rax, [rel .cs_loaded]
	push rax
	o64 retf
.cs_loaded:
	mov rsp, rsi                        ; [RSP] already holds the return address
	push 0x2                            ; RFLAGS: IF=0, DF=0, the reserved bit 1
	popfq
	mov eax, 0
	mov ebx, 0
	mov ecx, 0
	mov edx, 0
	mov esi, 0
	mov edi, 0
	mov ebp, 0
	mov r8d, 0
	mov r9d, 0
	mov r10d, 0
	mov r11d, 0
	mov r12d, 0
	mov r13d, 0
	mov r14d, 0
	mov r15d, 0
	jmp resume_entry                    ; general registers 0, as jumpback leaves them

; Linux x86_64's boot GDT values (arch/x86/kernel/head64.c); accessed bits preset so the CPU
; never writes here. In .data: outside the self-hashed range all the same.
section .data
align 16
gdt:
	dq 0
	dq 0x00CF9B000000FFFF               ; 0x08: flat 32-bit code
	dq 0x00AF9B000000FFFF               ; 0x10: 64-bit code (L=1, D=0)
	dq 0x00CF93000000FFFF               ; 0x18: flat data
gdt_end:
gdt_desc:
	dw gdt_end - gdt - 1
	dq gdt                              ; lgdt in 32-bit mode reads only the low dword

section .bss nobits alloc noexec write align=4096
pml4:
	resb 4096
pdpt:
	resb 4096
pd:
	resb MAP_GIB * 4096
stack_bottom:
	resb STACK_SIZE
stack_top:
