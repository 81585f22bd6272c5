; The data movers: the rep movsd copier, the zero-fill and the two scans (compare, zero).
; cdecl, 32-bit, flat segments. Used for bounce-buffer copies, zero-fills and the overlap
; checks (stub/disk.c, stub/restore.c, stub/physmem.c).
bits 32
section .text

; void copy_bytes(void *dst, const void *src, u32 len)
global copy_bytes
copy_bytes:
	push esi
	push edi
	mov edi, [esp + 12]
	mov esi, [esp + 16]
	mov ecx, [esp + 20]
	mov edx, ecx
	shr ecx, 2              ; whole dwords first: rep movsd is the fast string path
	rep movsd
	mov ecx, edx
	and ecx, 3              ; then the 0-3 byte tail
	rep movsb
	pop edi
	pop esi
	ret

; Under QEMU's TCG every turn of a rep-prefixed string instruction is a trip round the
; translated block, while a plain loop does 32 bytes per trip: timed in the stub, the
; restore's zero-fills ran 1.5 to 1.7 times and its overlap checks 1.1 to 1.35 times as fast as
; with rep stosd and repe cmpsd (docs/performance.md).

; void zero_bytes(void *dst, u32 len)
global zero_bytes
zero_bytes:
	push edi
	mov edi, [esp + 8]
	mov ecx, [esp + 12]
	mov edx, ecx
	xor eax, eax
	shr ecx, 5                      ; 32-byte blocks
	jz .tail
.block:
	mov [edi], eax
	mov [edi + 4], eax
	mov [edi + 8], eax
	mov [edi + 12], eax
	mov [edi + 16], eax
	mov [edi + 20], eax
	mov [edi + 24], eax
	mov [edi + 28], eax
	add edi, 32
	dec ecx
	jnz .block
.tail:
	mov ecx, edx
	and ecx, 31                     ; the 0-31 byte tail
	rep stosb
	pop edi
	ret

; u32 compare_bytes(const void *a, const void *b, u32 len): offset of the first byte where
; they differ, or len. 32-byte blocks while they are equal (the XORs of their dwords ORed
; together), then bytes from the first block that differs, or over the tail.
global compare_bytes
compare_bytes:
	push ebx
	push esi
	push edi
	mov esi, [esp + 16]
	mov edi, [esp + 20]
	mov ecx, [esp + 24]
	shr ecx, 5
	jz .bytes
.block:
%assign off 0
%rep 8
	mov eax, [esi + off]
	xor eax, [edi + off]
%if off == 0
	mov ebx, eax
%else
	or ebx, eax
%endif
%assign off off + 4
%endrep
	jnz .bytes                      ; this block differs
	add esi, 32
	add edi, 32
	dec ecx
	jnz .block
.bytes:
	mov ecx, [esp + 16]             ; bytes left: len - (esi - a)
	add ecx, [esp + 24]
	sub ecx, esi
	jecxz .same
	repe cmpsb
	jne .found
.same:
	mov eax, [esp + 24]
	jmp .out
.found:
	lea eax, [esi - 1]              ; ESI is one past the differing byte
	sub eax, [esp + 16]
.out:
	pop edi
	pop esi
	pop ebx
	ret

; u32 zero_scan(const void *a, u32 len): offset of the first non-zero byte, or len. The same
; shape as compare_bytes.
global zero_scan
zero_scan:
	push edi
	mov edi, [esp + 8]
	mov ecx, [esp + 12]
	shr ecx, 5
	jz .bytes
.block:
	mov eax, [edi]
%assign off 4
%rep 7
	or eax, [edi + off]
%assign off off + 4
%endrep
	jnz .bytes
	add edi, 32
	dec ecx
	jnz .block
.bytes:
	mov ecx, [esp + 8]              ; bytes left: len - (edi - a)
	add ecx, [esp + 12]
	sub ecx, edi
	jecxz .clean
	xor eax, eax
	repe scasb
	jne .found
.clean:
	mov eax, [esp + 12]
	jmp .out
.found:
	lea eax, [edi - 1]
	sub eax, [esp + 8]
.out:
	pop edi
	ret
