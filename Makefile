# jumpback: one non-recursive build for the stub, host tools, tests, QEMU runs and benchmarks.
# `make demo` and `make test` are the two user commands (README.md); both install missing
# Debian packages first through `make deps`.

.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all
# Keep intermediate objects (tools, unit tests) so a second make has nothing to do.
.SECONDARY:

BUILD ?= build
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

CC ?= gcc
NASM ?= nasm
LD ?= ld
PYTHON ?= python3

# ---- the stub (freestanding, 32-bit) ---------------------------------------------------
STUB_CFLAGS := -m32 -march=i686 -std=gnu11 -O2 -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -mno-sse -mno-mmx -mno-80387 -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -fno-omit-frame-pointer -fno-delete-null-pointer-checks \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Iinclude -MMD -MP
NASMFLAGS := -f elf32 -Wall -Werror
LIBGCC32 := $(shell $(CC) -m32 -print-libgcc-file-name)

LIB_SRC := $(wildcard lib/*.c)
# lib/memcore.c serves jbwrite in kernel B only (the stub never builds a core); lib/jbhash.c,
# the format-1 checksum, only bench/hashbench.
STUB_SRC := $(wildcard stub/*.c) $(filter-out lib/memcore.c lib/jbhash.c,$(LIB_SRC))
BOOT_SRC := $(wildcard boot/*.asm)
STUB_OBJ := $(STUB_SRC:%.c=$(BUILD)/stub32/%.o) $(BOOT_SRC:%.asm=$(BUILD)/stub32/%.o)

$(BUILD)/jumpback.elf: $(STUB_OBJ) linker.ld
	@echo "  LD      $@"
	$(Q)$(LD) -m elf_i386 -nostdlib -z noexecstack --no-warn-rwx-segments -T linker.ld -Map $(BUILD)/jumpback.map -o $@ \
		$(STUB_OBJ) $(LIBGCC32)

$(BUILD)/stub32/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC32    $<"
	$(Q)$(CC) $(STUB_CFLAGS) -c $< -o $@

$(BOOT_SRC:%.asm=$(BUILD)/stub32/%.o): boot/segments.inc
$(BUILD)/stub32/%.o: %.asm
	@mkdir -p $(@D)
	@echo "  NASM    $<"
	$(Q)$(NASM) $(NASMFLAGS) -l $(@:.o=.lst) $< -o $@

# ---- host builds: tools and unit tests share lib/ ---------------------------------------
HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wshadow -Iinclude -Itest/payload -MMD -MP
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LIB_HOST_OBJ := $(LIB_SRC:%.c=$(BUILD)/host/%.o)

$(BUILD)/host/%.o: %.c
	@mkdir -p $(@D)
	@echo "  HOSTCC  $<"
	$(Q)$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) -c $< -o $@

# A tool is one file, tools/NAME.c, or a folder of them, tools/NAME/*.c (jbwrite).
JBWRITE_SRC := $(wildcard tools/jbwrite/*.c)
TOOLS := $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/*.c)) $(BUILD)/tools/jbwrite

$(BUILD)/tools/%: $(BUILD)/host/tools/%.o $(LIB_HOST_OBJ)
	@mkdir -p $(@D)
	@echo "  HOSTLD  $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(TOOL_LIBS)

# jbwrite computes the image's chunk checksums with Debian's libxxhash.
$(BUILD)/tools/jbwrite: $(JBWRITE_SRC:%.c=$(BUILD)/host/%.o) $(LIB_HOST_OBJ)
	@mkdir -p $(@D)
	@echo "  HOSTLD  $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ -lxxhash

UNIT_SRC := $(wildcard test/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:test/unit/%.c=$(BUILD)/unit/%)

$(BUILD)/unit/%: $(BUILD)/host/test/unit/%.o $(LIB_HOST_OBJ)
	@mkdir -p $(@D)
	@echo "  HOSTLD  $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ -lcmocka $(UNIT_LIBS)

# test_xxh64 compares lib/xxh64.c with Debian's libxxhash; test_checkq takes its expected
# chunk hashes from it.
$(BUILD)/unit/test_xxh64 $(BUILD)/unit/test_checkq: UNIT_LIBS := -lxxhash

# The tools kernels A and B run (`make static-tools`): jbwrite and jbjump static, -O2, no
# sanitizers, so they run under busybox with no shared libraries.
STATIC_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Iinclude -MMD -MP

$(BUILD)/static/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  STATCC  $<"
	$(Q)$(CC) $(STATIC_CFLAGS) -c $< -o $@

$(BUILD)/static/jbwrite: $(JBWRITE_SRC:%.c=$(BUILD)/static/obj/%.o) $(LIB_SRC:%.c=$(BUILD)/static/obj/%.o)
	@echo "  STATLD  $@"
	$(Q)$(CC) -static -o $@ $^ /usr/lib/x86_64-linux-gnu/libxxhash.a

$(BUILD)/static/jbjump: $(BUILD)/static/obj/tools/jbjump.o
	@echo "  STATLD  $@"
	$(Q)$(CC) -static -o $@ $^

# The seed design's kernel C, a baseline for bench/kernel_c.py (not a product tool).
$(BUILD)/bench/jbrestore: $(BUILD)/static/obj/bench/kernel-c/jbrestore.o \
		$(patsubst %,$(BUILD)/static/obj/lib/%.o,elfcore errors diag fmt)
	@mkdir -p $(@D)
	@echo "  STATLD  $@"
	$(Q)$(CC) -static -o $@ $^

STATIC_TOOLS := $(BUILD)/static/jbwrite $(BUILD)/static/jbjump
.PHONY: static-tools
static-tools: $(STATIC_TOOLS)

include test/payload/payload.mk
include bench/hashbench/hashbench.mk
-include test/fuzz/fuzz.mk

# ---- user-facing targets --------------------------------------------------------------
.PHONY: all deps stub tools unit-test qemu-test test test-linux demo bench bench-deps bench-kernel-c install \
	clean

all: $(BUILD)/jumpback.elf $(TOOLS) $(PAYLOAD_ELF) $(PAYLOAD64_ELF)
stub: $(BUILD)/jumpback.elf
tools: $(TOOLS)

# Installs the Debian packages the build and tests need; does nothing when they are present.
deps:
	$(Q)sh tools/install-deps.sh

unit-test: $(UNIT_BIN)
	$(Q)set -e; for t in $(UNIT_BIN); do echo "  UNIT    $$t"; $$t; done

qemu-test: all
	$(Q)$(PYTHON) test/qemu/run_tests.py --build $(BUILD)

test: deps
	$(Q)$(MAKE) --no-print-directory all static-tools $(UNIT_BIN) $(FUZZ_STANDALONE_BIN) \
		$(FUZZ_PART_BIN) $(FUZZ_JBI_BIN)
	$(Q)$(PYTHON) test/run_all.py --build $(BUILD) $(UNIT_BIN)

# The real-Linux round trip alone (also part of `make test`); the kernel build is cached in
# $(JUMPBACK_CACHE) (default ~/.cache/jumpback), keyed on test/linux's recipe.
test-linux: deps
	$(Q)$(MAKE) --no-print-directory all static-tools
	$(Q)$(PYTHON) test/linux/roundtrip.py --build $(BUILD)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(PYTHON) test/qemu/demo.py --build $(BUILD)

# Power-on to kernel A running: jumpback against a Linux restore kernel (the seed's kernel C).
bench-kernel-c: deps
	$(Q)$(MAKE) --no-print-directory all static-tools $(BUILD)/bench/jbrestore
	$(Q)$(PYTHON) bench/kernel_c.py --build $(BUILD)

# Restore rates for 64 MiB to 4 GiB images against the baselines (bench/README.md), then
# their plot: $(BUILD)/bench/restore_rate.json and .png (docs/performance.md).
bench-deps:
	$(Q)sh tools/install-deps.sh bench

bench: bench-deps
	$(Q)$(MAKE) --no-print-directory all
	@mkdir -p $(BUILD)/bench
	$(Q)$(PYTHON) bench/restore_rate.py --build $(BUILD) --json $(BUILD)/bench/restore_rate.json
	$(Q)/usr/bin/python3 bench/plot.py $(BUILD)/bench/restore_rate.json $(BUILD)/bench/restore_rate.png
	@echo "plot: $(BUILD)/bench/restore_rate.png"

# Installs the stub, the tools for kernels A and B and the GRUB script (docs/hibernate-with-kexec.md).
PREFIX ?= /usr/local
DESTDIR ?=
install: all static-tools
	install -D -m 644 $(BUILD)/jumpback.elf $(DESTDIR)/boot/jumpback.elf
	install -D -m 755 tools/linux/jumpback-hibernate $(DESTDIR)$(PREFIX)/sbin/jumpback-hibernate
	install -D -m 755 tools/linux/jumpback-mkinitrd $(DESTDIR)$(PREFIX)/sbin/jumpback-mkinitrd
	install -D -m 755 $(BUILD)/static/jbwrite $(DESTDIR)$(PREFIX)/sbin/jbwrite
	install -D -m 755 $(BUILD)/static/jbjump $(DESTDIR)$(PREFIX)/sbin/jbjump
	install -D -m 755 tools/linux/kernel-b-init $(DESTDIR)$(PREFIX)/lib/jumpback/kernel-b-init
	install -D -m 755 tools/linux/grub.d/42_jumpback $(DESTDIR)/etc/grub.d/42_jumpback

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
