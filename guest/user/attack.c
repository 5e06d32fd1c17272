/* SPDX-License-Identifier: MIT */
/*
 * Attacks on the kernel from user mode. Run without an argument (as a
 * boot module), it spawns itself once per attack (spawn("attack.elf", k))
 * and waits: each child must be ended by the kernel with the expected
 * vector, while this parent, and every other process, goes on. It also
 * hands kernel and unmapped pointers to system calls, which must fail
 * with UAPI_EFAULT rather than fault. Last line: "attack: N/N ok".
 */
#include "ulib.h"

#define VEC_DE 0
#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14

static uint8_t data_code[16] = { 0xc3 }; // RET in a writable, non-executable page

static void kread(void) { (void)*(volatile uint64_t *)UAPI_KERNEL_DIRECT; }
static void kwrite(void) { *(volatile uint64_t *)(UAPI_KERNEL_DIRECT + 0x100000) = 0; }
static void kexec(void) { ((void (*)(void))UAPI_KERNEL_IMAGE)(); }
static void nxexec(void) { ((void (*)(void))(uintptr_t)data_code)(); }
static void noncanon(void) { (void)*(volatile uint64_t *)0x8000000000000000ULL; }
static void do_cli(void) { __asm__ volatile("cli"); }
static void do_hlt(void) { __asm__ volatile("hlt"); }
static void do_movcr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); }
static void do_wrmsr(void) { __asm__ volatile("wrmsr" : : "c"(0xc0000082u), "a"(0), "d"(0)); }
static void do_out(void) { __asm__ volatile("outb %%al, $0xe9" : : "a"(0x41)); }
static void do_lidt(void) { static uint8_t zero[10]; __asm__ volatile("lidt %0" : : "m"(zero)); }
static void do_swapgs(void) { __asm__ volatile("swapgs"); }
static void do_int(void) { __asm__ volatile("int $0x40"); }
static void do_div0(void) { __asm__ volatile("xor %%edx, %%edx; mov $1, %%eax; xor %%ecx, %%ecx; div %%ecx" : : : "rax", "rcx", "rdx"); }
static void do_ud2(void) { __asm__ volatile("ud2"); }

static const struct attack {
	const char *name;
	void (*fn)(void);
	unsigned vector;
} attacks[] = {
	{ "kread", kread, VEC_PF },       { "kwrite", kwrite, VEC_PF },     { "kexec", kexec, VEC_PF },
	{ "nxexec", nxexec, VEC_PF },     { "noncanon", noncanon, VEC_GP }, { "cli", do_cli, VEC_GP },
	{ "hlt", do_hlt, VEC_GP },        { "movcr3", do_movcr3, VEC_GP },  { "wrmsr", do_wrmsr, VEC_GP },
	{ "out", do_out, VEC_GP },        { "lidt", do_lidt, VEC_GP },      { "swapgs", do_swapgs, VEC_GP },
	{ "int40", do_int, VEC_GP },      { "div0", do_div0, VEC_DE },      { "ud2", do_ud2, VEC_UD },
};
#define NATTACKS (sizeof(attacks) / sizeof(attacks[0]))

/* Bad pointers to system calls: each must come back as UAPI_EFAULT. */
static unsigned bad_pointers(void)
{
	const struct {
		const char *name;
		long r;
	} cases[] = {
		{ "write(kernel image)", sys_write((const void *)UAPI_KERNEL_IMAGE, 16) },
		{ "write(direct map)", sys_write((const void *)UAPI_KERNEL_DIRECT, 16) },
		{ "write(unmapped)", sys_write((const void *)0x100000000000ULL, 16) },
		{ "write(NULL)", sys_write(NULL, 1) },
		{ "spawn(kernel name)", sys_spawn((const char *)UAPI_KERNEL_DIRECT, 0) },
	};
	unsigned ok = 0;
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		bool good = cases[k].r == UAPI_EFAULT;
		uprintf("attack badptr %s = %ld: %s\n", cases[k].name, cases[k].r, good ? "ok" : "FAIL");
		ok += good;
	}
	return ok == sizeof(cases) / sizeof(cases[0]);
}

int main(long arg)
{
	if (arg > 0 && (unsigned long)arg <= NATTACKS) {
		attacks[arg - 1].fn();
		uprintf("attack %s: survived\n", attacks[arg - 1].name);
		return 1;
	}
	unsigned ok = 0;
	for (unsigned k = 0; k < NATTACKS; k++) {
		long pid = sys_spawn("attack.elf", (long)k + 1);
		long st = pid > 0 ? sys_wait(pid) : pid;
		bool good = st == UAPI_KILLED_BY(attacks[k].vector);
		uprintf("attack %s: pid %ld status %#lx, want killed by vector %u: %s\n", attacks[k].name, pid, st,
			attacks[k].vector, good ? "ok" : "FAIL");
		ok += good;
	}
	ok += bad_pointers();
	uprintf("attack: %u/%u ok\n", ok, (unsigned)NATTACKS + 1);
	return ok == NATTACKS + 1 ? 0 : 1;
}
