/* SPDX-License-Identifier: MIT */
/*
 * Benchmark guest: system calls and context switches. A miniature kernel
 * sets up what a 64-bit kernel needs for ring 3 (SDM Vol. 3A 5, 6, 7): a
 * GDT with user segments, a TSS with RSP0 and an IST stack for #DF, an
 * IDT for exceptions 0-31 (reported, then the run ends), the SYSCALL
 * MSRs (EFER.SCE, STAR, LSTAR, SFMASK), SWAPGS's KERNEL_GS_BASE, and two
 * processes, each with its own PML4 that shares the kernel's identity
 * map (global 2 MiB pages, CR4.PGE) and maps its own data and stack
 * pages at the same user addresses. Both run bench_syscall_asm.S's ring-3
 * loop of calls=N (default 1 Mi) BSYS_SYS_MIX system calls; on every
 * every=K-th system call (default 8) the kernel switches to the other
 * process: CR3, TSS.RSP0, kernel stack, then IRETQ into the other's saved
 * frame. A process that exits hands the CPU to the other. Prints
 *   bench_syscall: 2 processes x C calls, every K: S system calls, W switches, checksum=X
 *   bench_syscall: rdtsc T
 * With fault=1 process 1 starts at a HLT instead, whose #GP must be
 * reported as "exception 13" (a test of IDT delivery from ring 3).
 * The checksum folds the order of all calls across both processes, their
 * user-side results (a missed TLB flush on a CR3 load would mix up their
 * data pages) and the counts; tests/guest/bench_guests_test.c recomputes
 * it natively, and it is the same under Facet, QEMU and Bochs.
 */
#include "bench_syscall.h"
#include "io.h"
#include "libc.h"
#include "rand.h"

#define DEFAULT_CALLS (1ull << 20)
#define DEFAULT_EVERY 8
#define KSTACK_SIZE 16384
#define NPROC 2

#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_SFMASK 0xc0000084
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define EFER_SCE 0x1ull
#define CR4_PGE 0x80ull
#define SFMASK_BITS 0x47700ull // AC, NT, IOPL, DF, IF, TF: cleared on entry (as Linux does)
#define RFLAGS_USER 0x2ull     // bit 1 is always set; IF stays clear in user mode too

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_PS 0x80ull
#define PTE_G 0x100ull
#define PTE_ADDR 0x000ffffffffff000ull
#define MAP_LIMIT (4ull << 30)

struct bsys_proc {
	uint64_t cr3;           // its PML4
	uint64_t kstack_top;    // its kernel stack, which holds its frame while it is switched out
	struct bsys_frame *frame; // where it resumes, when not running
	uint64_t state;         // folded by BSYS_SYS_MIX
	uint64_t result;        // set by BSYS_SYS_EXIT
	int alive;
};

struct bsys_tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct bsys_idt_gate {
	uint16_t off0, sel;
	uint8_t ist, attr;
	uint16_t off1;
	uint32_t off2, reserved;
};

static struct bsys_tss tss;
static uint64_t gdt[8];
static struct bsys_idt_gate idt[32];
static uint64_t percpu[2]; // BSYS_PC_KSTACK, BSYS_PC_USER_RSP
static uint8_t kstacks[NPROC][KSTACK_SIZE] __attribute__((aligned(16)));
static uint8_t df_stack[4096] __attribute__((aligned(16)));
static struct bsys_proc procs[NPROC];
static unsigned cur;
static uint64_t every, syscalls, switches, trace = CHECKSUM_INIT;
static uint64_t calls_each, t_start;

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

/* The starting accumulator of process pid (mirrored by the test). */
static uint64_t acc0(unsigned pid)
{
	return (pid + 1) * 0x9e3779b97f4a7c15ull;
}

/* Prints the result and ends the run: both processes have exited. */
__attribute__((noreturn)) static void finish(void)
{
	uint64_t t = rdtsc() - t_start;
	uint64_t sum = checksum_add(checksum_add(trace, procs[0].result), procs[1].result);
	sum = checksum_add(checksum_add(sum, syscalls), switches);
	printf("bench_syscall: %d processes x %llu calls, every %llu: %llu system calls, %llu switches, checksum=%016llx\n",
	       NPROC, (unsigned long long)calls_each, (unsigned long long)every, (unsigned long long)syscalls,
	       (unsigned long long)switches, (unsigned long long)sum);
	printf("bench_syscall: rdtsc %llu\n", (unsigned long long)t);
	exit(0);
}

/* Leaves f's process for the other one if that is alive; returns the frame to resume. */
static struct bsys_frame *switch_from(struct bsys_frame *f)
{
	struct bsys_proc *q = &procs[cur ^ 1];
	if (!q->alive) {
		if (procs[cur].alive)
			return f;
		finish();
	}
	procs[cur].frame = f;
	cur ^= 1;
	switches++;
	percpu[0] = tss.rsp[0] = q->kstack_top;
	write_cr3(q->cr3);
	return q->frame;
}

struct bsys_frame *bsys_syscall(struct bsys_frame *f)
{
	struct bsys_proc *p = &procs[cur];
	syscalls++;
	switch (f->rax) {
	case BSYS_SYS_MIX:
		p->state = checksum_add(p->state, f->rdi ^ f->rsi << 32);
		trace = checksum_add(trace, p->state + cur);
		f->rax = p->state;
		return syscalls % every ? f : switch_from(f);
	case BSYS_SYS_EXIT:
		p->result = checksum_add(checksum_add(p->state, f->rdi), f->rsi);
		p->alive = 0;
		return switch_from(f);
	default:
		panic("bench_syscall: process %u made unknown system call %llu at %#llx", cur,
		      (unsigned long long)f->rax, (unsigned long long)f->rip);
	}
}

void bsys_exception(const struct bsys_exc_frame *f)
{
	printf("bench_syscall: exception %llu, error %#llx, at %#llx:%#llx, rsp %#llx, process %u\n",
	       (unsigned long long)f->vector, (unsigned long long)f->error, (unsigned long long)f->cs,
	       (unsigned long long)f->rip, (unsigned long long)f->rsp, cur);
	exit(3);
}

/* A zeroed 4 KiB page from [*next, end) (identity-mapped free memory). */
static uint64_t *alloc_page(uint64_t *next, uint64_t end)
{
	if (end - *next < 4096)
		panic("bench_syscall: out of memory");
	uint64_t *t = (uint64_t *)(uintptr_t)*next;
	*next += 4096;
	memset(t, 0, 4096);
	return t;
}

/* Returns the table that entry idx of t points to, creating it (with flags) if absent. */
static uint64_t *next_table(uint64_t *t, unsigned idx, uint64_t flags, uint64_t *next, uint64_t end)
{
	if (!(t[idx] & PTE_P))
		t[idx] = (uint64_t)(uintptr_t)alloc_page(next, end) | flags;
	return (uint64_t *)(uintptr_t)(t[idx] & PTE_ADDR);
}

/* Maps the 4 KiB user page at va (PML4 slot 1) to pa. */
static void map_user(uint64_t *pml4, uint64_t va, uint64_t pa, uint64_t flags, uint64_t *next, uint64_t end)
{
	uint64_t up = PTE_P | PTE_W | PTE_U;
	uint64_t *pdpt = next_table(pml4, (va >> 39) & 511, up, next, end);
	uint64_t *pd = next_table(pdpt, (va >> 30) & 511, up, next, end);
	uint64_t *pt = next_table(pd, (va >> 21) & 511, up, next, end);
	pt[(va >> 12) & 511] = pa | flags;
}

/* Builds the kernel's identity map of RAM, 2 MiB global supervisor pages; returns its PDPT entry. */
static uint64_t build_kernel_map(uint64_t mem, uint64_t *next, uint64_t end)
{
	uint64_t *pdpt = alloc_page(next, end);
	uint64_t top = mem < MAP_LIMIT ? mem : MAP_LIMIT;
	for (uint64_t pa = 0; pa < top; pa += 1ull << 21) {
		uint64_t *pd = next_table(pdpt, (pa >> 30) & 511, PTE_P | PTE_W, next, end);
		pd[(pa >> 21) & 511] = pa | PTE_P | PTE_W | PTE_PS | PTE_G;
	}
	return (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W;
}

/* Builds process pid's address space and its first frame (entry of the ring-3 program). */
static void make_proc(unsigned pid, uint64_t kernel_pml4e, uint64_t *next, uint64_t end)
{
	struct bsys_proc *p = &procs[pid];
	uint64_t *pml4 = alloc_page(next, end);
	pml4[0] = kernel_pml4e;
	uint64_t code = (uint64_t)(uintptr_t)bsys_user_start;
	for (uint64_t off = 0; code + off < (uint64_t)(uintptr_t)bsys_user_end; off += 4096)
		map_user(pml4, BSYS_USER_CODE_VA + off, code + off, PTE_P | PTE_U, next, end);
	map_user(pml4, BSYS_USER_DATA_VA, (uint64_t)(uintptr_t)alloc_page(next, end), PTE_P | PTE_W | PTE_U, next, end);
	for (unsigned k = 0; k < BSYS_USER_STACK_PAGES; k++)
		map_user(pml4, BSYS_USER_STACK_VA + 4096ull * k, (uint64_t)(uintptr_t)alloc_page(next, end),
			 PTE_P | PTE_W | PTE_U, next, end);
	p->cr3 = (uint64_t)(uintptr_t)pml4;
	p->kstack_top = (uint64_t)(uintptr_t)(kstacks[pid] + KSTACK_SIZE);
	p->frame = (struct bsys_frame *)(uintptr_t)(p->kstack_top - sizeof(struct bsys_frame));
	*p->frame = (struct bsys_frame){
		.rdi = acc0(pid), .rsi = calls_each, .rdx = BSYS_USER_DATA_VA,
		.rip = BSYS_USER_CODE_VA + (uint64_t)(bsys_user_main - bsys_user_start), .cs = BSYS_USER_CS,
		.rflags = RFLAGS_USER, .rsp = BSYS_USER_STACK_VA + 4096ull * BSYS_USER_STACK_PAGES, .ss = BSYS_USER_DS,
	};
	p->state = CHECKSUM_INIT + pid;
	p->alive = 1;
}

/* The GDT (flat 64-bit kernel and user segments, the TSS) and the TSS itself; loads both. */
static void setup_gdt_tss(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss;
	tss.ist[0] = (uint64_t)(uintptr_t)(df_stack + sizeof(df_stack));
	tss.iomap_base = sizeof(tss); // no I/O bitmap: ring 3 has no port access
	gdt[BSYS_KERNEL_CS / 8] = 0x00af9a000000ffffull; // 64-bit code, DPL 0
	gdt[BSYS_KERNEL_DS / 8] = 0x00cf92000000ffffull; // data, DPL 0
	gdt[BSYS_USER32_CS / 8] = 0x00cffa000000ffffull; // 32-bit code, DPL 3 (unused)
	gdt[BSYS_USER_DS / 8] = 0x00cff2000000ffffull;  // data, DPL 3
	gdt[BSYS_USER_CS / 8] = 0x00affa000000ffffull;  // 64-bit code, DPL 3
	gdt[BSYS_TSS / 8] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 | 0x89ull << 40 | (base >> 24 & 0xff) << 56;
	gdt[BSYS_TSS / 8 + 1] = base >> 32; // 0x89: present, DPL 0, available 64-bit TSS
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	bsys_load_gdt(&gdtr);
	__asm__ volatile("ltr %w0" : : "r"(BSYS_TSS));
}

/* The IDT: interrupt gates to the 32 exception stubs; #DF on its own stack (IST1). */
static void setup_idt(void)
{
	for (unsigned v = 0; v < 32; v++) {
		uint64_t h = (uint64_t)(uintptr_t)(bsys_exc_stubs + 16 * v);
		idt[v] = (struct bsys_idt_gate){ .off0 = (uint16_t)h, .sel = BSYS_KERNEL_CS, .ist = v == 8,
						 .attr = 0x8e, .off1 = (uint16_t)(h >> 16), .off2 = (uint32_t)(h >> 32) };
	}
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

/* SYSCALL/SYSRET and SWAPGS: GS base is the per-CPU block now, 0 once in user mode. */
static void setup_msrs(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (uint64_t)BSYS_USER32_CS << 48 | (uint64_t)BSYS_KERNEL_CS << 32);
	wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)bsys_syscall_entry);
	wrmsr(MSR_SFMASK, SFMASK_BITS);
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)percpu);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

int main(const struct facet_bootinfo *bi)
{
	calls_each = cmdline_u64("calls", DEFAULT_CALLS);
	every = cmdline_u64("every", DEFAULT_EVERY);
	if (!calls_each || !every)
		panic("bench_syscall: calls and every must be at least 1");
	uint64_t next = bi->free_start, end = bi->stack_bottom, cr4;
	setup_gdt_tss();
	setup_idt();
	setup_msrs();
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_PGE) : "memory");
	uint64_t kernel_pml4e = build_kernel_map(bi->mem_size, &next, end);
	for (unsigned pid = 0; pid < NPROC; pid++)
		make_proc(pid, kernel_pml4e, &next, end);
	if (cmdline_u64("fault", 0)) // tests: a ring-3 #GP, delivered through the IDT on the RSP0 stack
		procs[1].frame->rip = BSYS_USER_CODE_VA + (uint64_t)(bsys_user_fault - bsys_user_start);
	cur = 0;
	percpu[0] = tss.rsp[0] = procs[0].kstack_top;
	write_cr3(procs[0].cr3);
	t_start = rdtsc();
	bsys_resume(procs[0].frame);
}
