# The kernel-A test payload (test/payload/): an ELF32 Multiboot kernel linked at 16 MiB.
# Included by the top Makefile after STUB_CFLAGS, NASMFLAGS, LIBGCC32 and friends are set.

PAYLOAD_ELF := $(BUILD)/test/payload.elf

PAYLOAD_CFLAGS := $(STUB_CFLAGS) -Itest/payload
# lib/fmt.c is pure and gives the payload printf; nothing else from the stub comes along.
PAYLOAD_C := $(wildcard test/payload/*.c) lib/fmt.c
PAYLOAD_ASM := $(wildcard test/payload/*.asm)
PAYLOAD_OBJ := $(PAYLOAD_C:%.c=$(BUILD)/payload/%.o) $(PAYLOAD_ASM:%.asm=$(BUILD)/payload/%.o)

$(PAYLOAD_ELF): $(PAYLOAD_OBJ) test/payload/payload.ld
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(LD) -m elf_i386 -nostdlib -z noexecstack -T test/payload/payload.ld \
		-Map $(BUILD)/test/payload.map -o $@ $(PAYLOAD_OBJ) $(LIBGCC32)

$(BUILD)/payload/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC32    $<"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -c $< -o $@

$(BUILD)/payload/%.o: %.asm
	@mkdir -p $(@D)
	@echo "  NASM    $<"
	$(Q)$(NASM) $(NASMFLAGS) -l $(@:.o=.lst) $< -o $@
