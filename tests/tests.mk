# SPDX-License-Identifier: MIT
# The test runner: unit, differential and guest tests in one binary.
TEST_SRC := $(wildcard tests/unit/*.c tests/diff/*.c tests/guest/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
RUNNER := $(BUILD)/tests/runner

$(RUNNER): $(TEST_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Hand-assembled guests (tests/guest/*.S) that tests run under `facet run`. -N puts .text
# at 0x100000 with no ELF-header segment below it (the runner reserves low memory).
TEST_GUEST_SRC := $(wildcard tests/guest/*.S)
TEST_GUESTS := $(TEST_GUEST_SRC:tests/guest/%.S=$(BUILD)/tests/guest/%.elf)

$(BUILD)/tests/guest/%.elf: tests/guest/%.S
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $(@:.elf=.o)
	ld -static -nostdlib -N --no-warn-rwx-segments -Ttext=0x100000 -o $@ $(@:.elf=.o)

test: $(FACET) guests $(RUNNER) $(TEST_GUESTS)
	FACET_BUILD=$(BUILD) $(RUNNER) $(T)
