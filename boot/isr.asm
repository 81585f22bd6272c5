; CPU exception entry stubs (vectors 0-31): push a uniform frame and call idt_fault (stub/cpu.c).
; Frame layout is mirrored in include/cpu.h (struct fault_frame).
bits 32

SEL_DATA32 equ 0x18

%macro ISR_NOERR 1
isr_%1:
	push 0                  ; no error code for this vector: keep the frame uniform
	push %1
	jmp isr_common
%endmacro

%macro ISR_ERR 1
isr_%1:
	push %1                 ; the CPU pushed an error code already
	jmp isr_common
%endmacro

section .text
extern idt_fault

; Vectors with an error code: 8, 10-14, 17, 21, 29, 30 (Intel SDM vol. 3 table 6-1).
ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31

isr_common:
	pushad                  ; eax..edi, so the handler can print them
	cld
	mov ax, SEL_DATA32      ; segments may be anything if the fault came mid-switch
	mov ds, ax
	mov es, ax
	push esp                ; struct fault_frame *
	call idt_fault          ; never returns
.hang:
	cli
	hlt
	jmp .hang

section .rodata
global isr_table
isr_table:
%assign i 0
%rep 32
	dd isr_ %+ i
%assign i i+1
%endrep
