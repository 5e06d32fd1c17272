# SPDX-License-Identifier: MIT
# Fuzz targets (DESIGN section 7), built by clang with libFuzzer, ASan and
# UBSan into $(BUILD)/fuzz/, against the library sources compiled with
# the same flags (their own objects, so the normal build is untouched).
#
#   make fuzz                   each target for FUZZ_SECONDS (default 60)
#   make fuzz FUZZ_TARGETS=fuzz_elf FUZZ_SECONDS=600
#   build/fuzz/fuzz_exec CRASH-FILE        replay one input (give files: libFuzzer
#                                          adds new inputs to a directory it is given)
#
# Each target starts from its seed corpus fuzz/corpus/<target>/ (read
# only; fuzz/mkseeds.sh regenerates it) and keeps what it finds in
# $(BUILD)/fuzz/corpus/<target>/, so later runs go on from there. A crash
# leaves its input in $(BUILD)/fuzz/crash-<target>-* and fails the run.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_TARGETS ?= fuzz_elf fuzz_exec fuzz_priv
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# -mcx16: clang 14 inlines CMPXCHG16B's 16-byte compare-and-swap only with it (gcc
# honours exec_atomic.c's target attribute; clang would call a missing library function).
FUZZ_CFLAGS := -std=gnu11 -g -O1 -mcx16 $(WARNINGS) -Isrc -MMD -MP $(FUZZ_SAN)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
# Per-target inputs: extra sources and libFuzzer options.
FUZZ_SRC_fuzz_elf := fuzz/fuzz_elf.c
FUZZ_SRC_fuzz_exec := fuzz/fuzz_exec.c tests/unit/fixture.c
FUZZ_SRC_fuzz_priv := fuzz/fuzz_priv.c
FUZZ_OPTS_fuzz_elf := -max_len=16384
FUZZ_OPTS_fuzz_exec := -max_len=1052
FUZZ_OPTS_fuzz_priv := -max_len=4096

ifneq ($(filter fuzz,$(MAKECMDGOALS)),)
FUZZ_DEPS_OK := $(shell scripts/deps.sh fuzz >&2 && echo ok)
ifneq ($(FUZZ_DEPS_OK),ok)
$(error scripts/deps.sh fuzz could not install clang and libclang-rt-14-dev; see its message above)
endif
endif

$(FUZZ_DIR)/obj/%.o: %.c fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

define fuzz_link
$(FUZZ_DIR)/$(1): $(FUZZ_SRC_$(1):%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -o $$@ $$^ $(LDLIBS)
endef
$(foreach t,fuzz_elf fuzz_exec fuzz_priv,$(eval $(call fuzz_link,$(t))))

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

fuzz: fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh \
		$(foreach t,$(FUZZ_TARGETS),'$(t) $(FUZZ_OPTS_$(t))')

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
