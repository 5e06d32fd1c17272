# SPDX-License-Identifier: MIT
# Benchmarks (STYLE T7: separate from the tests; DESIGN section 7: ratios
# against references run in the same invocation, machine-readable results).
#
#   make bench                          the guest/apps/bench_* workloads
#   make bench BENCH_REFS=qemu          only QEMU as a reference
#   make bench BENCH_RUNS=3             the fastest of three runs each
#   make bench BENCH_WORKLOADS="a.elf b.elf"
#
# Each workload runs under build/facet, qemu-system-x86_64 (TCG) and
# Bochs; bench/run.sh prints the table and writes $(BUILD)/bench/*.json.
# The workloads: bench_hash (straight-line arithmetic), bench_branchy
# (indirect jumps, unpredictable branches), bench_tlb4k and bench_tlb2m
# (random accesses over 64 MiB through the guest's own page tables, 4 KiB
# and 2 MiB pages), bench_syscall (SYSCALL/SYSRET in ring 3, CR3 switches
# between two processes with IRETQ).
# Until guest/apps/bench_*.c exist, the workload is bench/spin.S's
# xorshift loop. Run it on an optimised build without sanitizers.
BENCH_OUT := $(BUILD)/bench
BENCH_TOOLS := $(BENCH_OUT)/tools
BENCH_SPIN_LOOPS ?= 50000000
BENCH_APPS := $(sort $(notdir $(basename $(wildcard guest/apps/bench_*.c))))
ifneq ($(BENCH_APPS),)
BENCH_WORKLOADS ?= $(BENCH_APPS:%=$(GUEST_OUT)/%-$(GUEST_MAIN_VARIANT).elf)
else
BENCH_WORKLOADS ?= $(BENCH_TOOLS)/spin.elf
endif
BENCH_LDFLAGS := -static -nostdlib -T bench/spin.ld -z noexecstack --no-warn-rwx-segments

ifneq ($(filter bench,$(MAKECMDGOALS)),)
BENCH_DEPS_OK := $(shell scripts/deps.sh bench >&2 && echo ok)
ifneq ($(BENCH_DEPS_OK),ok)
$(error scripts/deps.sh bench could not install QEMU and Bochs; see its message above)
endif
ifeq ($(SANITIZE),1)
$(warning make bench with SANITIZE=1 measures the sanitizers, not Facet)
endif
endif

$(BENCH_TOOLS)/timeit: bench/timeit.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARNINGS) -o $@ $<

# The boot sector: 16/32-bit code linked at the BIOS load address 0x7C00, exactly 512 bytes.
$(BENCH_TOOLS)/bootsect.bin: bench/bootsect.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -c $< -o $(BENCH_TOOLS)/bootsect.o
	ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o $@ $(BENCH_TOOLS)/bootsect.o
	@test "$$(wc -c <$@)" -eq 512 || { echo "$@ is not 512 bytes" >&2; rm -f $@; exit 1; }

$(BENCH_TOOLS)/spin.elf: bench/spin.S bench/spin.ld
	@mkdir -p $(dir $@)
	$(CC) -c -DSPIN_LOOPS=$(BENCH_SPIN_LOOPS) $< -o $(BENCH_TOOLS)/spin.o
	ld $(BENCH_LDFLAGS) -o $@ $(BENCH_TOOLS)/spin.o

$(BENCH_TOOLS)/null.elf: bench/spin.S bench/spin.ld
	@mkdir -p $(dir $@)
	$(CC) -c -DSPIN_LOOPS=0 $< -o $(BENCH_TOOLS)/null.o
	ld $(BENCH_LDFLAGS) -o $@ $(BENCH_TOOLS)/null.o

.PHONY: bench
bench: $(FACET) $(BENCH_TOOLS)/timeit $(BENCH_TOOLS)/bootsect.bin $(BENCH_TOOLS)/null.elf $(BENCH_WORKLOADS)
	bench/run.sh $(BENCH_OUT) $(FACET) $(BENCH_TOOLS)/timeit $(BENCH_TOOLS)/bootsect.bin \
		$(BENCH_TOOLS)/null.elf $(BENCH_WORKLOADS)
