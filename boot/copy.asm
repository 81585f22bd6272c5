; The data movers: rep movsd / rep stosd with a byte tail. cdecl, 32-bit, flat segments.
; Used for bounce-buffer copies and zero-fills (stub/disk.c, stub/restore.c).
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

; void zero_bytes(void *dst, u32 len)
global zero_bytes
zero_bytes:
	push edi
	mov edi, [esp + 8]
	mov ecx, [esp + 12]
	mov edx, ecx
	xor eax, eax
	shr ecx, 2
	rep stosd
	mov ecx, edx
	and ecx, 3
	rep stosb
	pop edi
	ret

; u32 compare_bytes(const void *a, const void *b, u32 len): offset of the first byte where
; they differ, or len. repe cmpsd over whole dwords, then bytes.
global compare_bytes
compare_bytes:
	push esi
	push edi
	mov esi, [esp + 12]
	mov edi, [esp + 16]
	mov edx, [esp + 20]
	mov ecx, edx
	shr ecx, 2
	repe cmpsd
	jne .dword_differs
	mov ecx, edx
	and ecx, 3
	jecxz .same
	repe cmpsb
	jne .found
.same:
	mov eax, edx
	jmp .out
.dword_differs:
	sub esi, 4                      ; back to the dword that differs: find the byte
	sub edi, 4
	mov ecx, 4
	repe cmpsb
.found:
	lea eax, [esi - 1]              ; ESI is one past the differing byte
	sub eax, [esp + 12]
.out:
	pop edi
	pop esi
	ret

; u32 zero_scan(const void *a, u32 len): offset of the first non-zero byte, or len.
global zero_scan
zero_scan:
	push edi
	mov edi, [esp + 8]
	mov edx, [esp + 12]
	xor eax, eax
	mov ecx, edx
	shr ecx, 2
	repe scasd
	jne .dword_differs
	mov ecx, edx
	and ecx, 3
	jecxz .clean
	repe scasb
	jne .found
.clean:
	mov eax, edx
	jmp .out
.dword_differs:
	sub edi, 4
	mov ecx, 4
	repe scasb
.found:
	lea eax, [edi - 1]
	sub eax, [esp + 8]
.out:
	pop edi
	ret
