# The kernel-A test payloads (test/payload/): Multiboot kernels linked at 16 MiB, booted in fill
# mode and entered by jumpback in check mode. payload.elf checks the 32-bit hand-off,
# payload64.elf the 64-bit one. Included by the top Makefile after STUB_CFLAGS, NASMFLAGS,
# LIBGCC32 and friends are set.

OBJCOPY ?= objcopy

# test/payload/*.c build into both; i386/ and x86_64/ hold what differs (entry, CPU checks,
# layout, and payload_arch.h, found through -I). lib/fmt.c is pure and gives them printf.
PAYLOAD_SHARED_C := $(wildcard test/payload/*.c) lib/fmt.c

# ---- 32-bit: ELF32 i386 ------------------------------------------------------------------
PAYLOAD_ELF := $(BUILD)/test/payload.elf

PAYLOAD_CFLAGS := $(STUB_CFLAGS) -Itest/payload/i386 -Itest/payload
PAYLOAD_C := $(PAYLOAD_SHARED_C) $(wildcard test/payload/i386/*.c)
PAYLOAD_ASM := $(wildcard test/payload/i386/*.asm)
PAYLOAD_OBJ := $(PAYLOAD_C:%.c=$(BUILD)/payload/%.o) $(PAYLOAD_ASM:%.asm=$(BUILD)/payload/%.o)

$(PAYLOAD_ELF): $(PAYLOAD_OBJ) test/payload/i386/payload.ld
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(LD) -m elf_i386 -nostdlib -z noexecstack -T test/payload/i386/payload.ld \
		-Map $(BUILD)/test/payload.map -o $@ $(PAYLOAD_OBJ) $(LIBGCC32)

$(BUILD)/payload/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC32    $<"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -c $< -o $@

$(BUILD)/payload/%.o: %.asm
	@mkdir -p $(@D)
	@echo "  NASM    $<"
	$(Q)$(NASM) $(NASMFLAGS) -Itest/payload/ -l $(@:.o=.lst) $< -o $@

# ---- 64-bit: linked as ELF64 x86-64, shipped as ELF32 i386 -------------------------------
# QEMU 7.2's -kernel boots Multiboot 1 only from ELF32 (DESIGN.md section 9), so objcopy
# rewraps the linked file: same loads, p_paddr and symbols, 32-bit headers. The Multiboot
# entry runs in 32-bit mode and switches to long mode itself (x86_64/entry.asm). Its fill
# mode also takes `selftest[=KIND]`, a development aid that enters check mode without the stub
# (x86_64/selftest.c).
PAYLOAD64_ELF := $(BUILD)/test/payload64.elf

# Small code model: everything lives below 2 GiB. No red zone: exceptions push onto the
# stack. No SSE: kernel A's FPU state is not ours to touch.
PAYLOAD64_CFLAGS := -m64 -std=gnu11 -O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-mno-red-zone -mgeneral-regs-only -mcmodel=small -fno-asynchronous-unwind-tables \
	-fno-omit-frame-pointer -fno-delete-null-pointer-checks \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Iinclude -Itest/payload/x86_64 -Itest/payload -MMD -MP
PAYLOAD64_C := $(PAYLOAD_SHARED_C) $(wildcard test/payload/x86_64/*.c)
PAYLOAD64_ASM := $(wildcard test/payload/x86_64/*.asm)
PAYLOAD64_OBJ := $(PAYLOAD64_C:%.c=$(BUILD)/payload64/%.o) \
	$(PAYLOAD64_ASM:%.asm=$(BUILD)/payload64/%.o)

$(BUILD)/test/payload64.elf64: $(PAYLOAD64_OBJ) test/payload/x86_64/payload.ld
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(LD) -m elf_x86_64 -nostdlib -z noexecstack -z max-page-size=0x1000 \
		-T test/payload/x86_64/payload.ld -Map $(BUILD)/test/payload64.map -o $@ \
		$(PAYLOAD64_OBJ)

$(PAYLOAD64_ELF): $(BUILD)/test/payload64.elf64
	@echo "  OBJCOPY $@"
	$(Q)$(OBJCOPY) -O elf32-i386 $< $@

$(BUILD)/payload64/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC64    $<"
	$(Q)$(CC) $(PAYLOAD64_CFLAGS) -c $< -o $@

$(BUILD)/payload64/%.o: %.asm
	@mkdir -p $(@D)
	@echo "  NASM64  $<"
	$(Q)$(NASM) -f elf64 -Wall -Werror -Itest/payload/ -l $(@:.o=.lst) $< -o $@

# nasm 2.16's -MD leaves %include files out of its dependency list: name the one we have.
$(BUILD)/payload/test/payload/i386/entry.o $(BUILD)/payload64/test/payload/x86_64/entry.o: \
	test/payload/multiboot1.inc
