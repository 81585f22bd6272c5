; The final stage (include/final.h): copied by stub/final.c into a hole after the last disk
; access and entered with EBX = its own address. Position-independent: every address is
; formed from EBX (32-bit) or RIP (64-bit). It loads its own GDT, copies staged bytes home,
; then enters kernel A in 32-bit protected mode or 64-bit long mode (docs/handoff.md).
bits 32

; struct final_params, mirrored in include/final.h
FP_MODE         equ 0
FP_CR4          equ 4
FP_CR3          equ 8
FP_NCOPIES      equ 12
FP_ENTRY        equ 16
FP_COPIES       equ 24
FP_STACK_TOP    equ 28
FP_SERIAL       equ 32
FP_SIZE         equ 64

SEL_CODE32      equ 0x08        ; both GDTs: 32-bit flat code (Linux __KERNEL32_CS)
SEL_CODE        equ 0x10        ; gdt32: 32-bit code (__BOOT_CS); gdt64: 64-bit code (__KERNEL_CS)
SEL_DATA        equ 0x18        ; flat data (__BOOT_DS / __KERNEL_DS)

CR0_PE          equ 1 << 0
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xC0000080
EFER_LME        equ 1 << 8
EFER_NXE        equ 1 << 11
MSR_PAT         equ 0x277
PAT_LINUX_LO    equ 0x00070106  ; IA32_PAT as current Linux programs it: 0x0407050600070106
PAT_LINUX_HI    equ 0x04070506
UART_LSR        equ 5
UART_LSR_THRE   equ 0x20

%define OFF(label) (label - final_blob_start)

section .rodata
align 16
global final_blob_start, final_blob_end, final_blob_entry
final_blob_start:
	times FP_SIZE db 0              ; struct final_params, filled in by stub/final.c

final_blob_entry:
	cli
	cld
	mov esp, [ebx + FP_STACK_TOP]
	lea eax, [ebx + OFF(gdt32)]     ; the GDT that matches the hand-off mode
	cmp dword [ebx + FP_MODE], 64
	jne .gdt
	lea eax, [ebx + OFF(gdt64)]
.gdt:
	mov word [ebx + OFF(gdtr)], gdt32_end - gdt32 - 1
	mov [ebx + OFF(gdtr) + 2], eax
	lgdt [ebx + OFF(gdtr)]          ; the stub's GDT may be copied over below
	lea eax, [ebx + OFF(.cs)]
	push SEL_CODE32
	push eax
	retf                            ; CS = 32-bit code of the new GDT
.cs:
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax

	mov edx, [ebx + FP_NCOPIES]     ; staged bytes home: rep movsd, then the byte tail
	mov ebp, [ebx + FP_COPIES]
.copy:
	test edx, edx
	jz .copied
	mov esi, [ebp]
	mov edi, [ebp + 4]
	mov ecx, [ebp + 8]
	shr ecx, 2
	rep movsd
	mov ecx, [ebp + 8]
	and ecx, 3
	rep movsb
	add ebp, 16
	dec edx
	jmp .copy
.copied:
	cmp dword [ebx + FP_MODE], 64
	je .long_mode

	; ---- 32-bit hand-off: paging off, CR4.PAE as asked, CS=0x10, data 0x18 ----
	mov eax, cr4
	and eax, ~CR4_PAE
	or eax, [ebx + FP_CR4]
	mov cr4, eax
	lea eax, [ebx + OFF(returned32)]
	push eax                        ; [ESP] at entry: where a returning kernel A lands
	push SEL_CODE
	push dword [ebx + FP_ENTRY]
	push 2
	popfd                           ; EFLAGS=0x2: IF=0, DF=0; the movs below keep it
	mov eax, 0
	mov ecx, 0
	mov edx, 0
	mov esi, 0
	mov edi, 0
	mov ebp, 0
	mov ebx, 0
	retf                            ; far return = far jump to 0x10:entry

	; ---- 64-bit hand-off: long mode with the identity map (relocate_kernel_64.S facts) ----
.long_mode:
	mov eax, CR4_PAE                ; PAE only: LA57 off, no leftovers from the firmware
	mov cr4, eax
	mov eax, [ebx + FP_CR3]
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME | EFER_NXE
	wrmsr
	mov ecx, MSR_PAT                ; kernel A does not restore PAT on re-entry
	mov eax, PAT_LINUX_LO
	mov edx, PAT_LINUX_HI
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_PE         ; long mode active, still in 32-bit compatibility code
	mov cr0, eax
	lea eax, [ebx + OFF(long64)]
	push SEL_CODE
	push eax
	retf                            ; CS = 0x10, 64-bit code

bits 64
long64:
	mov eax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov ebx, ebx                    ; upper halves are undefined after the mode switch
	mov esp, [rbx + FP_STACK_TOP]   ; zero-extends into RSP
	lea rax, [rel returned64]
	push rax                        ; 0(%rsp) at entry: kernel A's way back to us
	push qword [rbx + FP_ENTRY]
	push 2
	popfq                           ; RFLAGS=0x2: IF=0, DF=0; the movs below keep it
	mov rax, 0
	mov rbx, 0
	mov rcx, 0
	mov rdx, 0
	mov rsi, 0
	mov rdi, 0
	mov rbp, 0
	mov r8, 0
	mov r9, 0
	mov r10, 0
	mov r11, 0
	mov r12, 0
	mov r13, 0
	mov r14, 0
	mov r15, 0
	ret                             ; to the entry; [rsp] is now returned64

; ---- kernel A came back through our return address: say so on serial and stop ----------
; The stub may have been copied over by then, so these are self-contained.
returned64:
	cli
	lea rsi, [rel returned_msg]
	lea rbx, [rel final_blob_start]
	movzx edx, word [rbx + FP_SERIAL]
.next:
	mov al, [rsi]
	test al, al
	jz .halt
	call serial_byte64
	inc rsi
	jmp .next
.halt:
	hlt
	jmp .halt

serial_byte64:                      ; AL to the UART at DX; bounded wait for THRE
	mov ah, al
	add dx, UART_LSR
	mov ecx, 100000
.wait:
	in al, dx
	test al, UART_LSR_THRE
	jnz .ready
	dec ecx
	jnz .wait
.ready:
	sub dx, UART_LSR
	mov al, ah
	out dx, al
	ret

bits 32
returned32:
	cli
	call .here
.here:
	pop ebx
	sub ebx, OFF(.here)             ; EBX = the blob again
	lea esi, [ebx + OFF(returned_msg)]
	movzx edx, word [ebx + FP_SERIAL]
.next:
	mov al, [esi]
	test al, al
	jz .halt
	mov ah, al
	add dx, UART_LSR
	mov ecx, 100000
.wait:
	in al, dx
	test al, UART_LSR_THRE
	jnz .ready
	dec ecx
	jnz .wait
.ready:
	sub dx, UART_LSR
	mov al, ah
	out dx, al
	inc esi
	jmp .next
.halt:
	hlt
	jmp .halt

returned_msg:
	db 13, 10, "jumpback: error: kernel A returned to jumpback instead of resuming;"
	db " the image or entry= is wrong; halted", 13, 10, 0

align 8
gdt32:                                  ; Linux i386 boot layout
	dq 0
	dq 0x00CF9A000000FFFF           ; 0x08 32-bit code, flat
	dq 0x00CF9A000000FFFF           ; 0x10 32-bit code, flat (__BOOT_CS)
	dq 0x00CF92000000FFFF           ; 0x18 data, flat (__BOOT_DS)
gdt32_end:
gdt64:                                  ; Linux x86_64 layout
	dq 0
	dq 0x00CF9A000000FFFF           ; 0x08 32-bit code, flat (__KERNEL32_CS)
	dq 0x00AF9A000000FFFF           ; 0x10 64-bit code, L=1 (__KERNEL_CS)
	dq 0x00CF92000000FFFF           ; 0x18 data, flat (__KERNEL_DS)
gdtr:
	dw 0
	dd 0
final_blob_end:
