# Fuzz target for the pure parsers (test/fuzz/fuzz_parsers.c), included by the top Makefile.
#   $(FUZZ_STANDALONE_BIN)  gcc ASan/UBSan build that replays seeded random mutations; it runs in
#                           the normal test suite: `build/fuzz/fuzz_parsers [N [SEED]]` (N=200000)
#   make fuzz               libFuzzer build (clang), run for FUZZ_TIME seconds from seed inputs;
#                           findings land in $(BUILD)/fuzz/ as crash-*, leak-*, timeout-* files

FUZZ_SRC := test/fuzz/fuzz_parsers.c
FUZZ_STANDALONE_BIN := $(BUILD)/fuzz/fuzz_parsers
FUZZ_LIBFUZZER_BIN := $(BUILD)/fuzz/fuzz_parsers_libfuzzer
FUZZ_CORPUS := $(BUILD)/fuzz/corpus
FUZZ_CLANG ?= clang
FUZZ_TIME ?= 60
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Iinclude \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(FUZZ_STANDALONE_BIN): $(FUZZ_SRC) test/fuzz/fuzz_driver.h $(LIB_HOST_OBJ)
	@mkdir -p $(@D)
	@echo "  HOSTLD  $@"
	$(Q)$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) -DFUZZ_STANDALONE -o $@ $(FUZZ_SRC) $(LIB_HOST_OBJ)

$(FUZZ_LIBFUZZER_BIN): $(FUZZ_SRC) $(LIB_SRC) $(wildcard include/*.h) test/unit/unit_helpers.h
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CLANG) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRC) $(LIB_SRC)

.PHONY: fuzz fuzz-standalone

fuzz-standalone: $(FUZZ_STANDALONE_BIN)
	$(Q)$(FUZZ_STANDALONE_BIN)

fuzz: $(FUZZ_LIBFUZZER_BIN) $(FUZZ_STANDALONE_BIN)
	@mkdir -p $(FUZZ_CORPUS)
	$(Q)$(FUZZ_STANDALONE_BIN) --write-seeds $(FUZZ_CORPUS)
	$(Q)cd $(BUILD)/fuzz && ./$(notdir $(FUZZ_LIBFUZZER_BIN)) -max_total_time=$(FUZZ_TIME) \
		-print_final_stats=1 corpus

# The partition-table parser (test/fuzz/fuzz_part.c): inputs are disk images, so it keeps a
# corpus of its own. `make fuzz-part` runs it under libFuzzer for FUZZ_TIME seconds.
FUZZ_PART_SRC := test/fuzz/fuzz_part.c
FUZZ_PART_BIN := $(BUILD)/fuzz/fuzz_part
FUZZ_PART_LIBFUZZER_BIN := $(BUILD)/fuzz/fuzz_part_libfuzzer
FUZZ_PART_HDRS := test/unit/disk_helpers.h test/unit/unit_helpers.h

$(FUZZ_PART_BIN): $(FUZZ_PART_SRC) $(FUZZ_PART_HDRS) test/fuzz/fuzz_driver.h $(LIB_HOST_OBJ)
	@mkdir -p $(@D)
	@echo "  HOSTLD  $@"
	$(Q)$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) -DFUZZ_STANDALONE -o $@ $(FUZZ_PART_SRC) $(LIB_HOST_OBJ)

$(FUZZ_PART_LIBFUZZER_BIN): $(FUZZ_PART_SRC) $(FUZZ_PART_HDRS) $(LIB_SRC) $(wildcard include/*.h)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CLANG) $(FUZZ_CFLAGS) -o $@ $(FUZZ_PART_SRC) $(LIB_SRC)

.PHONY: fuzz-part
fuzz-part: $(FUZZ_PART_LIBFUZZER_BIN) $(FUZZ_PART_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus-part
	$(Q)$(FUZZ_PART_BIN) --write-seeds $(BUILD)/fuzz/corpus-part
	$(Q)cd $(BUILD)/fuzz && ./$(notdir $(FUZZ_PART_LIBFUZZER_BIN)) -max_total_time=$(FUZZ_TIME) \
		-max_len=65536 -print_final_stats=1 corpus-part

# The jumpback image header checks (test/fuzz/fuzz_jbimage.c): standalone in the suite,
# `make fuzz-jbimage` under libFuzzer for FUZZ_TIME seconds.
FUZZ_JBI_SRC := test/fuzz/fuzz_jbimage.c
FUZZ_JBI_BIN := $(BUILD)/fuzz/fuzz_jbimage
FUZZ_JBI_LIBFUZZER_BIN := $(BUILD)/fuzz/fuzz_jbimage_libfuzzer

$(FUZZ_JBI_LIBFUZZER_BIN): $(FUZZ_JBI_SRC) test/unit/unit_helpers.h $(LIB_SRC) $(wildcard include/*.h)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CLANG) $(FUZZ_CFLAGS) -o $@ $(FUZZ_JBI_SRC) $(LIB_SRC)

.PHONY: fuzz-jbimage
fuzz-jbimage: $(FUZZ_JBI_LIBFUZZER_BIN) $(FUZZ_JBI_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus-jbimage
	$(Q)$(FUZZ_JBI_BIN) --write-seeds $(BUILD)/fuzz/corpus-jbimage
	$(Q)cd $(BUILD)/fuzz && ./$(notdir $(FUZZ_JBI_LIBFUZZER_BIN)) -max_total_time=$(FUZZ_TIME) \
		-max_len=8208 -print_final_stats=1 corpus-jbimage

$(FUZZ_JBI_BIN): $(FUZZ_JBI_SRC) test/fuzz/fuzz_driver.h test/unit/unit_helpers.h $(LIB_HOST_OBJ)
	@mkdir -p $(@D)
	@echo "  HOSTLD  $@"
	$(Q)$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) -DFUZZ_STANDALONE -o $@ $(FUZZ_JBI_SRC) $(LIB_HOST_OBJ)
