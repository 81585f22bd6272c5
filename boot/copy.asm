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
