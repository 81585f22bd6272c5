# bench/hashbench (bench/hash-choice.md): the image checksum candidates timed on the host and in
# a tiny Multiboot 1 kernel under QEMU TCG. `make bench-hash` runs both and prints the ratios.
# Included by the top Makefile after the stub's and the payload's variables are set.

HASHBENCH_DIR := $(BUILD)/hashbench
HASHBENCH_ELF := $(BUILD)/bench/hashbench.elf
HASHBENCH_HOST64 := $(BUILD)/bench/hashbench-host64
HASHBENCH_HOST32 := $(BUILD)/bench/hashbench-host32

# The stub's own objects: the hashes are timed exactly as the stub runs them.
HASHBENCH_STUB_OBJ := $(BUILD)/stub32/lib/jbhash.o $(BUILD)/stub32/lib/xxh64.o
HASHBENCH_OBJ := $(BUILD)/stub32/boot/hash64.o $(HASHBENCH_DIR)/entry.o $(HASHBENCH_DIR)/kernel.o $(HASHBENCH_DIR)/ref.o \
	$(HASHBENCH_DIR)/serial.o $(HASHBENCH_STUB_OBJ) $(BUILD)/stub32/lib/fmt.o \
	$(BUILD)/stub32/stub/timer.o $(BUILD)/stub32/stub/string.o
HASHBENCH_CFLAGS := $(STUB_CFLAGS) -Ibench/hashbench -Itest/payload -Itest/payload/i386
# libxxhash's header is not written for -Werror -Wextra; it gets the stub's code generation
# flags only, and compiler builtins (plain loads instead of memcpy calls).
HASHBENCH_REF_CFLAGS := $(filter-out -ffreestanding -Werror -Wall -Wextra -Wshadow \
	-Wstrict-prototypes,$(STUB_CFLAGS)) -w -Ibench/hashbench

$(HASHBENCH_ELF): $(HASHBENCH_OBJ) bench/hashbench/hashbench.ld
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(LD) -m elf_i386 -nostdlib -z noexecstack --no-warn-rwx-segments -T bench/hashbench/hashbench.ld \
		-o $@ $(HASHBENCH_OBJ) $(LIBGCC32)

$(HASHBENCH_DIR)/kernel.o: bench/hashbench/kernel.c
	@mkdir -p $(@D)
	@echo "  CC32    $<"
	$(Q)$(CC) $(HASHBENCH_CFLAGS) -c $< -o $@

$(HASHBENCH_DIR)/serial.o: test/payload/serial.c
	@mkdir -p $(@D)
	@echo "  CC32    $<"
	$(Q)$(CC) $(HASHBENCH_CFLAGS) -c $< -o $@

$(HASHBENCH_DIR)/ref.o: bench/hashbench/ref.c
	@mkdir -p $(@D)
	@echo "  CC32    $<"
	$(Q)$(CC) $(HASHBENCH_REF_CFLAGS) -c $< -o $@

$(HASHBENCH_DIR)/entry.o: bench/hashbench/entry.asm test/payload/multiboot1.inc
	@mkdir -p $(@D)
	@echo "  NASM    $<"
	$(Q)$(NASM) $(NASMFLAGS) -Itest/payload/ $< -o $@

# Host rates: 64-bit with Debian's libxxhash; 32-bit with the stub's objects (it runs only
# where the kernel runs i386 programs; run.py says so when it cannot).
$(HASHBENCH_HOST64): bench/hashbench/host.c lib/jbhash.c lib/xxh64.c
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -Iinclude -Ibench/hashbench -DHB_LIBXXHASH \
		-o $@ $^ -lxxhash

$(HASHBENCH_HOST32): bench/hashbench/host.c $(HASHBENCH_STUB_OBJ) $(HASHBENCH_DIR)/ref.o
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(CC) -m32 -no-pie -std=gnu11 -O2 -Wall -Wextra -Werror -Iinclude -Ibench/hashbench \
		-o $@ $^

.PHONY: bench-hash
bench-hash: deps
	$(Q)$(MAKE) --no-print-directory $(HASHBENCH_ELF) $(HASHBENCH_HOST64) $(HASHBENCH_HOST32)
	$(Q)$(PYTHON) bench/hashbench/run.py --build $(BUILD)
