; CPU exception stubs for the 64-bit payload's IDT (x86_64/idt.c): each makes the frame
; uniform (a dummy error code where the CPU pushes none, SDM vol. 3, 6.13), adds the vector
; and calls jbt_fault(frame), which reports and exits QEMU.
bits 64

FAULT_STUB_SIZE equ 16                  ; mirrored in x86_64/idt.c
; Vectors for which the CPU pushes an error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX.
ERROR_CODE_VECTORS equ (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) \
	| (1 << 17) | (1 << 21) | (1 << 29) | (1 << 30)

%macro FAULT_STUB 1
%%start:
%if ((ERROR_CODE_VECTORS >> %1) & 1) == 0
	push 0
%endif
	push %1
	jmp fault_common
	times FAULT_STUB_SIZE - ($ - %%start) db 0xCC   ; fixed size: idt.c computes addresses
%endmacro

section .text
extern jbt_fault

align FAULT_STUB_SIZE
global jbt_fault_stubs
jbt_fault_stubs:
%assign vector 0
%rep 32
	FAULT_STUB vector
%assign vector vector + 1
%endrep

; RSP points at struct fault_frame: vector, error code, then the CPU's RIP, CS, RFLAGS, RSP, SS.
fault_common:
	mov rdi, rsp
	and rsp, -16                        ; the C ABI's alignment, whatever the fault left
	cld
	call jbt_fault                      ; does not return
.hang:
	cli
	hlt
	jmp .hang
