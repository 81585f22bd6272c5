; The 32-bit hand-off to kernel A (DESIGN.md §5, docs/handoff.md), and the landing pad for a
; kernel A that returns to us. Protected mode, paging off, flat segments, IF=0, DF=0.
bits 32

SEL_CODE32      equ 0x10
CR4_PAE         equ 1 << 5

section .text
extern jb_kernel_a_returned
extern stack_top
extern gdt_reload

; void handoff32(u32 entry, u32 stack_top, u32 pae) -- never returns.
; The new stack's top word is kernel_a_returned: kernel A reads it as the peer's re-entry
; point, and a plain `ret` from the entry lands there too.
global handoff32
handoff32:
	cli
	mov eax, [esp + 4]
	mov [far_target], eax               ; far pointer: offset, then selector
	mov word [far_target + 4], SEL_CODE32
	mov ecx, [esp + 12]
	mov esp, [esp + 8]                  ; the hand-off stack (in the stub, never restored over)
	push kernel_a_returned

	mov eax, cr0
	and eax, 0x7fffffff                 ; CR0.PG off (it already is; stated for the contract)
	mov cr0, eax
	mov eax, cr4
	and eax, ~CR4_PAE
	test ecx, ecx
	jz .no_pae
	or eax, CR4_PAE                     ; pae=1: kernel A's own PDPT goes in before PG=1
.no_pae:
	mov cr4, eax

	call gdt_reload                     ; flat 0x10 code / 0x18 data like Linux i386 boot
	xor eax, eax
	xor ebx, ebx
	xor ecx, ecx
	xor edx, edx
	xor esi, esi
	xor edi, edi
	xor ebp, ebp
	push eax
	popfd                               ; EFLAGS=0x2: IF=0, DF=0, no flag left by the xors
	jmp far [far_target]                ; CS=0x10, EIP=entry

; Kernel A came back through our return address: report it through the fatal path.
kernel_a_returned:
	cli
	cld
	mov esp, stack_top
	call gdt_reload                     ; whatever GDT kernel A left, ours again
	call jb_kernel_a_returned           ; never returns
.hang:
	hlt
	jmp .hang

section .data
far_target:
	dd 0
	dw 0
