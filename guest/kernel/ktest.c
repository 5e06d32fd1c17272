/* SPDX-License-Identifier: MIT */
/*
 * Kernel self-tests that need CPL 0, run on the BSP before any process
 * (command line ktest=smep,smap,panic). Each prints one line per check,
 * "ktest NAME: ... ok" or "ktest NAME: FAIL: why".
 *
 * - smep: the kernel calls into a user page (U=1, executable). With
 *   CR4.SMEP the fetch is a #PF with error code P|I (0x11) and CR2 = the
 *   page (SDM Vol. 3A 4.6.1); trap.c's kfixup returns to the caller.
 * - smap: the kernel reads a user page without STAC: #PF with error code
 *   P (0x1); then with STAC the same read succeeds and sees the data.
 * - panic: the kernel reads an unmapped kernel address, which must end the
 *   run with a kernel fault report and status KERNEL_PANIC_STATUS.
 */
#include "kernel.h"

#define KTEST_VA 0x50000000ULL
#define KTEST_PCID 4095 // never a pid (KMAX_PROCS is far below)
#define KTEST_MAGIC 0x5a5a1234c0ffee00ULL

int ktest_failures;

static int fail(const char *test, const char *why)
{
	kprintf("ktest %s: FAIL: %s\n", test, why);
	return 1;
}

/* Builds an address space with one user page at KTEST_VA: RET at offset 0, KTEST_MAGIC at 0x800. */
static uint64_t make_space(void)
{
	uint64_t space = mm_new_space(), pa = frame_alloc();
	if (!space || !pa || mm_map(space, KTEST_VA, pa, PTE_P | PTE_W | PTE_U))
		kpanic("ktest: out of memory");
	uint8_t *page = phys_to_virt(pa);
	page[0] = 0xc3;
	*(uint64_t *)(page + 0x800) = KTEST_MAGIC;
	return space;
}

/* Checks that the armed fault happened as expected; prints the result line. */
static int check_fault(const char *test, uint64_t err, uint64_t cr2)
{
	struct kfixup k = kfixup;
	kfixup.armed = false;
	if (!k.hit)
		return fail(test, "no fault: the kernel reached user memory");
	if (k.vector != 14 || k.error != err || k.cr2 != cr2) {
		kprintf("ktest %s: FAIL: vector %llu err=%#llx cr2=%#llx, want #PF err=%#llx cr2=%#llx\n", test,
			(unsigned long long)k.vector, (unsigned long long)k.error, (unsigned long long)k.cr2,
			(unsigned long long)err, (unsigned long long)cr2);
		return 1;
	}
	kprintf("ktest %s: #PF err=%#llx cr2=%#llx rip=%#llx: ok\n", test, (unsigned long long)k.error,
		(unsigned long long)k.cr2, (unsigned long long)k.fault_rip);
	return 0;
}

static int test_smep(void)
{
	if (!kcfg.smep)
		return fail("smep", "CPUID reports no SMEP (or nosmep)");
	kfixup = (struct kfixup){ .armed = true, .rip = KTEST_VA };
	((void (*)(void))KTEST_VA)();
	return check_fault("smep", PF_P | PF_I, KTEST_VA);
}

static int test_smap(void)
{
	if (!kcfg.smap)
		return fail("smap", "CPUID reports no SMAP (or nosmap)");
	kfixup = (struct kfixup){ .armed = true, .rip = (uint64_t)ktest_load_insn };
	ktest_load(KTEST_VA + 0x800);
	int bad = check_fault("smap", PF_P, KTEST_VA + 0x800);
	kfixup = (struct kfixup){ .armed = true, .rip = (uint64_t)ktest_load_insn };
	stac();
	uint64_t v = ktest_load(KTEST_VA + 0x800);
	clac();
	bool hit = kfixup.hit;
	kfixup.armed = false;
	if (hit || v != KTEST_MAGIC)
		return bad + fail("smap", "the read with STAC did not see the user page");
	kprintf("ktest smap: read with STAC = %#llx: ok\n", (unsigned long long)v);
	return bad;
}

int ktest_run(const char *which)
{
	int failures = 0;
	uint64_t space = make_space();
	mm_switch(space, KTEST_PCID, false);
	if (klist_has(which, "smep"))
		failures += test_smep();
	if (klist_has(which, "smap"))
		failures += test_smap();
	mm_switch(kernel_pml4, 0, true);
	mm_free_space(space);
	if (klist_has(which, "panic")) {
		kprintf("ktest panic: reading an unmapped kernel address\n");
		(void)*(volatile uint64_t *)(DMAP_BASE + (1ULL << 45));
		failures += fail("panic", "the read did not fault");
	}
	kprintf("ktest: %d failed\n", failures);
	return failures;
}
