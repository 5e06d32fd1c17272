# SPDX-License-Identifier: MIT
# The test runner: unit, differential and guest tests in one binary.
TEST_SRC := $(wildcard tests/unit/*.c tests/diff/*.c tests/guest/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
RUNNER := $(BUILD)/tests/runner

$(RUNNER): $(TEST_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

test: $(FACET) guests $(RUNNER)
	FACET_BUILD=$(BUILD) $(RUNNER) $(T)
