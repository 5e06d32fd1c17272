# SPDX-License-Identifier: MIT
# Facet: one GNU Makefile (STYLE B1). Outputs go to $(BUILD) (build/, or
# build/asan/ for the sanitizer run). Folder fragments: guest/guest.mk,
# tests/tests.mk, bench/bench.mk, fuzz/fuzz.mk.
#
#   make            build/facet and the guest binaries
#   make test       build and run every test
#   make asan       the tests under AddressSanitizer and UBSan
#   make demo       build, then run the default demo
#   make bench      benchmarks against QEMU and Bochs (build/bench/*.json)
#   make fuzz       each fuzz target for a bounded time

BUILD ?= build
CC ?= gcc
WERROR ?= 1
SANITIZE ?= 0

DEPS_OK := $(shell scripts/deps.sh >&2 && echo ok)
ifneq ($(DEPS_OK),ok)
$(error scripts/deps.sh could not install the build dependencies; see its message above)
endif

WARNINGS += -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef -Wshadow \
	-Wno-unused-parameter -Wvla
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
OPT ?= -O2
CFLAGS += -std=gnu11 -g $(OPT) $(WARNINGS) -Isrc -MMD -MP
LDLIBS += -lZydis
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC := $(wildcard src/lib/*.c src/mem/*.c src/cpu/*.c src/mmu/*.c src/vmx/*.c src/vmm/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libfacet.a
FACET := $(BUILD)/facet

.PHONY: all test check asan demo bench fuzz clean format
all: $(FACET) guests

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(FACET): $(BUILD)/obj/src/tools/facet.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

include guest/guest.mk
include tests/tests.mk
include bench/bench.mk
include fuzz/fuzz.mk

asan:
	$(MAKE) BUILD=build/asan SANITIZE=1 OPT=-O1 test

clean:
	rm -rf build

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
