# SPDX-License-Identifier: MIT
# Guest software, built freestanding by the host compilers (DESIGN section 6,
# STYLE L4). Every program in guest/apps is built once per compiler and
# optimisation level, because each emits a different instruction mix for the
# interpreter to handle: $(BUILD)/guest/APP-gcc-O0.elf ... APP-clang-O3.elf.
# Each ELF boots under `facet run` (entry _start64) and, through its
# Multiboot header, under `qemu-system-x86_64 -kernel` and the Bochs boot
# sector of ../shared/bench.
#
#   make guests     all guest ELFs
#   make demo       build, then run the demo guest under build/facet

GUEST_OUT := $(BUILD)/guest
GUEST_APPS := sha256 sort arith recurse strings demo bench_hash bench_branchy bench_tlb4k bench_tlb2m bench_syscall
GUEST_GCC_OPTS := O0 O2 O3
GUEST_CLANG_OPTS := O1 O3
GUEST_HAVE_CLANG := $(shell command -v clang >/dev/null 2>&1 && echo yes)
GUEST_VARIANTS := $(GUEST_GCC_OPTS:%=gcc-%)
ifeq ($(GUEST_HAVE_CLANG),yes)
GUEST_VARIANTS += $(GUEST_CLANG_OPTS:%=clang-%)
endif
# The build `make demo` runs and the bench harness defaults to.
GUEST_MAIN_VARIANT := gcc-O2

GUEST_CFLAGS := -std=gnu11 -ffreestanding -nostdlib -mno-red-zone -mgeneral-regs-only -fno-pic -fno-pie \
	-static -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	$(WARNINGS) -Iguest/lib -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,guest/lib/guest.ld -Wl,--orphan-handling=error \
	-Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_LIB_SRC := $(wildcard guest/lib/*.c guest/lib/*.S)
GUEST_ELFS := $(foreach v,$(GUEST_VARIANTS),$(GUEST_APPS:%=$(GUEST_OUT)/%-$(v).elf))

.PHONY: guests demo
guests: $(GUEST_ELFS)

# guest_variant(compiler, opt): object and link rules for one build variant.
define guest_variant
$(GUEST_OUT)/obj/$(1)-$(2)/%.o: guest/%.c
	@mkdir -p $$(dir $$@)
	$(1) $$(GUEST_CFLAGS) -$(2) -c $$< -o $$@

$(GUEST_OUT)/obj/$(1)-$(2)/%.o: guest/%.S
	@mkdir -p $$(dir $$@)
	$(1) $$(GUEST_CFLAGS) -c $$< -o $$@

$(GUEST_OUT)/%-$(1)-$(2).elf: $(GUEST_OUT)/obj/$(1)-$(2)/apps/%.o \
		$(patsubst guest/%,$(GUEST_OUT)/obj/$(1)-$(2)/%.o,$(basename $(GUEST_LIB_SRC))) guest/lib/guest.ld
	gcc $$(GUEST_LDFLAGS) -o $$@ $$(filter %.o,$$^)
endef
$(foreach v,$(GUEST_VARIANTS),$(eval $(call guest_variant,$(firstword $(subst -, ,$(v))),$(lastword $(subst -, ,$(v))))))

# Apps with an assembly half of their own, guest/apps/APP_asm.S, linked in as well.
GUEST_ASM_APPS := bench_syscall
$(foreach v,$(GUEST_VARIANTS),$(foreach a,$(GUEST_ASM_APPS),\
	$(eval $(GUEST_OUT)/$(a)-$(v).elf: $(GUEST_OUT)/obj/$(v)/apps/$(a)_asm.o)))

# Keep the objects: they are not intermediate files to be deleted after linking.
GUEST_OBJS := $(foreach v,$(GUEST_VARIANTS),$(patsubst guest/%,$(GUEST_OUT)/obj/$(v)/%.o,\
	$(basename $(GUEST_LIB_SRC)) $(GUEST_APPS:%=guest/apps/%) $(GUEST_ASM_APPS:%=guest/apps/%_asm)))
.SECONDARY: $(GUEST_OBJS)

demo: $(FACET) guests
	$(FACET) run $(GUEST_OUT)/demo-$(GUEST_MAIN_VARIANT).elf

-include $(shell find $(GUEST_OUT)/obj -name '*.d' 2>/dev/null)

# The guest kernel (guest/kernel) and its user programs (guest/user), built once with gcc -O2:
#   facet run --cpus 4 $(BUILD)/guest/kernel.elf -- $(BUILD)/guest/user/sum.elf ...
# The kernel also boots under QEMU through its Multiboot header:
#   qemu-system-x86_64 -kernel kernel.elf -initrd "sum.elf,sha.elf" -append "tick=..."
KERNEL_ELF := $(GUEST_OUT)/kernel.elf
USER_PROGS := hello sum sha primes sleeper spinner attack pfprobe
USER_ELFS := $(USER_PROGS:%=$(GUEST_OUT)/user/%.elf)
KERNEL_OBJS := $(patsubst guest/%,$(GUEST_OUT)/kobj/%.o,$(basename $(wildcard guest/kernel/*.c guest/kernel/*.S) \
	guest/lib/string.c guest/lib/printf.c))
USER_LIB_OBJS := $(patsubst guest/%,$(GUEST_OUT)/uobj/%.o,$(basename guest/user/crt0.S guest/user/ulib.c \
	guest/lib/string.c guest/lib/printf.c guest/lib/sha256.c))
KERNEL_LDFLAGS := -nostdlib -static -no-pie -Wl,--orphan-handling=error -Wl,--build-id=none -Wl,-z,noexecstack \
	-Wl,--no-warn-rwx-segments -Wl,-z,max-page-size=4096

$(GUEST_OUT)/kobj/%.o: guest/%.c
	@mkdir -p $(dir $@)
	gcc $(GUEST_CFLAGS) -O2 -c $< -o $@

$(GUEST_OUT)/kobj/%.o: guest/%.S
	@mkdir -p $(dir $@)
	gcc $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/uobj/%.o: guest/%.c
	@mkdir -p $(dir $@)
	gcc $(GUEST_CFLAGS) -O2 -c $< -o $@

$(GUEST_OUT)/uobj/%.o: guest/%.S
	@mkdir -p $(dir $@)
	gcc $(GUEST_CFLAGS) -c $< -o $@

$(KERNEL_ELF): $(KERNEL_OBJS) guest/kernel/kernel.ld
	gcc $(KERNEL_LDFLAGS) -Wl,-T,guest/kernel/kernel.ld -o $@ $(filter %.o,$^)

$(GUEST_OUT)/user/%.elf: $(GUEST_OUT)/uobj/user/%.o $(USER_LIB_OBJS) guest/user/user.ld
	@mkdir -p $(dir $@)
	gcc $(KERNEL_LDFLAGS) -Wl,-T,guest/user/user.ld -o $@ $(filter %.o,$^)

.SECONDARY: $(KERNEL_OBJS) $(USER_LIB_OBJS) $(USER_PROGS:%=$(GUEST_OUT)/uobj/user/%.o)
guests: $(KERNEL_ELF) $(USER_ELFS)

-include $(shell find $(GUEST_OUT)/kobj $(GUEST_OUT)/uobj -name '*.d' 2>/dev/null)
