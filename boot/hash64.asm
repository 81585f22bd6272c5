; XXH64's stripe loop (lib/xxh64.c, spec step 2) run in 64-bit mode: the four lanes'
; accumulators live in four 64-bit registers and each lane round is one load, two imuls, an
; add and a rotate, where the 32-bit build needs a dozen instructions per round. The stub is
; a 32-bit program, so each call enters long mode and leaves it again (Intel SDM vol. 3
; §9.8.5 and §9.8.5.4), with interrupts off throughout. Paging in long mode walks the page
; directories the caller passes (stub/physmem.c: the low 4 GiB identity-mapped, plus the
; 2 MiB window), so a pointer valid with or without the window stays valid. The caller's
; CR0, CR3 and CR4 are kept on its own stack, so two CPUs may hash at once (stub/smp.c).
bits 32
section .text

SEL_CODE32      equ 0x10                ; boot/entry.asm's GDT
SEL_CODE64      equ 0x30
MSR_EFER        equ 0xC0000080
EFER_LME        equ 1 << 8
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
XXH64_P1        equ 0x9E3779B185EBCA87
XXH64_P2        equ 0xC2B2AE3D27D4EB4F

; One lane round (spec step 2): acc = rotl(acc + [rsi + off] * P2, 31) * P1, with P1 in r12
; and P2 in r13.
%macro ROUND 2 ; accumulator register, byte offset
	mov rax, [rsi + %2]
	imul rax, r13
	add %1, rax
	rol %1, 31
	imul %1, r12
%endmacro

; One 32-byte stripe at rsi + off: the four lanes' rounds, accumulators r8-r11.
%macro STRIPE 1
	ROUND r8, %1
	ROUND r9, %1 + 8
	ROUND r10, %1 + 16
	ROUND r11, %1 + 24
%endmacro

; void xxh64_stripes_long(u64 acc[4], const u8 *p, u32 nstripes, u32 pml4)
global xxh64_stripes_long
xxh64_stripes_long:
	push ebp
	mov ebp, esp
	push ebx
	push esi
	push edi
	pushfd
	cli
	cmp dword [ebp + 16], 0
	je .out
	mov eax, cr0                    ; saved at [ebp - 20], CR3 at - 24, CR4 at - 28
	push eax
	mov eax, cr3
	push eax
	mov eax, cr4
	push eax
	mov eax, [ebp - 20]             ; paging off: LME may change only then
	and eax, ~CR0_PG
	mov cr0, eax
	mov eax, [ebp - 28]
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, [ebp + 20]
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, [ebp - 20]
	or eax, CR0_PG                  ; IA-32e mode active, in compatibility mode
	mov cr0, eax
	jmp SEL_CODE64:.long

bits 64
.long:
	mov esp, esp                    ; the upper halves are undefined after the switch
	mov ebp, ebp
	mov edi, [rbp + 8]              ; acc
	mov esi, [rbp + 12]             ; p
	mov ecx, [rbp + 16]             ; stripes
	mov r8, [rdi]
	mov r9, [rdi + 8]
	mov r10, [rdi + 16]
	mov r11, [rdi + 24]
	mov r12, XXH64_P1
	mov r13, XXH64_P2
	shr ecx, 1                      ; two stripes per turn: fewer loop branches
	jz .last
.pair:
	STRIPE 0
	STRIPE 32
	add rsi, 64
	dec ecx
	jnz .pair
.last:
	test dword [rbp + 16], 1
	jz .store
	STRIPE 0
.store:
	mov [rdi], r8
	mov [rdi + 8], r9
	mov [rdi + 16], r10
	mov [rdi + 24], r11
	push SEL_CODE32                 ; far return to 32-bit code: compatibility mode
	lea rax, [rel .compat]
	push rax
	o64 retf

bits 32
.compat:
	mov eax, cr0                    ; paging off leaves IA-32e mode
	and eax, ~CR0_PG
	mov cr0, eax
	mov ecx, MSR_EFER
	rdmsr
	and eax, ~EFER_LME
	wrmsr
	pop eax
	mov cr4, eax
	pop eax
	mov cr3, eax
	pop eax                         ; paging back on if the caller had it on
	mov cr0, eax
.out:
	popfd
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret
