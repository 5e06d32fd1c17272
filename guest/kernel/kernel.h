/* SPDX-License-Identifier: MIT */
/*
 * The guest kernel's internal interfaces: per-CPU data, trap frames,
 * processes, locks, memory management and the console. One header for a
 * small kernel; each .c file says what it implements.
 *
 * Execution model: the kernel never runs with interrupts enabled except
 * in the idle loop's STI;HLT, so kernel code is never preempted and a
 * spinlock needs no interrupt masking. Every entry from user mode (SYSCALL,
 * exception, interrupt) saves the user registers as a struct trap_frame at
 * the top of the vCPU's kernel stack; trap() copies it into the process,
 * handles the event, and leaves in that slot the frame of whatever runs
 * next (the same process or another one), which trap_exit restores with
 * SYSRET or IRETQ. A process therefore needs no kernel stack of its own:
 * when it is not running, its whole state is its saved frame.
 */
#ifndef GUEST_KERNEL_KERNEL_H
#define GUEST_KERNEL_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libc.h"
#include "uapi.h"
#include "x86.h"

#define KMAX_CPUS 64
#define KMAX_PROCS 128
#define KSTACK_SIZE 16384
#define IST_STACK_SIZE 4096
#define PAGE 4096ULL
#define DMAP_BASE 0xffff800000000000ULL // direct map of all RAM, supervisor-only, NX

/* GDT selectors; STAR's layout fixes the order of the user ones (SDM Vol. 2B SYSRET). */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_CS32 0x1b // unused 32-bit user code; SYSRET's base selector
#define USER_DS 0x23
#define USER_CS 0x2b
#define TSS_SEL(cpu) (0x30 + 16 * (cpu))

#define VEC_TIMER 0x40
#define VEC_SPURIOUS 0xff
#define VEC_SYSCALL 0x100 // trap_frame.vector of a SYSCALL entry (not an IDT vector)

#define KERNEL_PANIC_STATUS 99

/* Saved registers, lowest address first: what entry.S pushes, then what the CPU pushed. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector; // IDT vector, or VEC_SYSCALL
	uint64_t error;  // error code (0 when the vector has none)
	uint64_t rip, cs, rflags, rsp, ss;
};
#define TRAP_FRAME_SIZE 176

/* 64-bit TSS (SDM Vol. 3A 8.7, figure 8-11). */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct proc;

/* One vCPU's kernel state, reached through GS (GS.base while in the kernel, KERNEL_GS_BASE in user mode). */
struct percpu {
	struct percpu *self;  // offset 0: this_cpu() reads it
	uint64_t kstack_top;  // offset 8: RSP0 and the SYSCALL stack (entry.S)
	uint64_t user_rsp;    // offset 16: user RSP while the SYSCALL entry builds its frame
	uint32_t id;          // APIC ID = index in percpus[]
	bool online;
	struct proc *cur;     // running process, NULL when idle
	uint64_t ticks;       // timer interrupts taken
	uint64_t dispatches;  // times a process was put on this vCPU
	uint64_t syscalls;
	uint64_t user_faults;
	uint32_t seen_gen[KMAX_PROCS]; // mm_gen of each process when it last ran here (PCID reuse)
	struct tss tss;
};

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

/* What the CPU and the command line gave the kernel (kmain fills it on the BSP). */
struct kconfig {
	bool smep, smap, pcid, pge, x2apic, nx;
	unsigned maxphyaddr;  // CPUID 80000008h EAX[7:0]
	unsigned ncpus;       // vCPUs to bring up
	uint64_t tick;        // APIC timer initial count (tick=N)
	uint64_t maxticks;    // end the run after this many ticks (maxticks=N, 0: never)
	const char *cmdline;  // the kernel command line (via the direct map)
	bool multiboot;       // booted by a Multiboot loader (QEMU): one vCPU, maybe an xAPIC
};
extern struct kconfig kcfg;
extern struct percpu percpus[KMAX_CPUS];

/* A spinlock: XCHG to take it, a plain store to release it (x86 stores are not reordered with older ones). */
struct spinlock {
	volatile uint32_t locked;
};

static inline void spin_lock(struct spinlock *l)
{
	uint32_t one = 1;
	for (;;) {
		__asm__ volatile("xchg %0, %1" : "+r"(one), "+m"(l->locked) : : "memory");
		if (!one)
			return;
		while (l->locked)
			cpu_pause();
		one = 1;
	}
}

static inline void spin_unlock(struct spinlock *l)
{
	__asm__ volatile("" : : : "memory");
	l->locked = 0;
}

/* Atomically adds v to *p with LOCK XADD; returns the old value. */
static inline uint64_t atomic_add(volatile uint64_t *p, uint64_t v)
{
	__asm__ volatile("lock xaddq %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

/* Compares *p with old and stores new if equal (LOCK CMPXCHG); returns whether it stored. */
static inline bool atomic_cas32(volatile uint32_t *p, uint32_t old, uint32_t new)
{
	bool ok;
	__asm__ volatile("lock cmpxchgl %3, %1; sete %0" : "=q"(ok), "+m"(*p), "+a"(old) : "r"(new) : "memory");
	return ok;
}

/* console.c */
/* Formats a line to the console; the whole call's output stays together. */
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes n bytes to the console; the caller holds the console lock. */
void console_put(const char *s, size_t n);
/* Takes and releases the console lock (around console_put sequences that must stay together). */
void console_lock(void);
void console_unlock(void);
/* Waits a bounded time for the console lock to be free, then frees it: a fault while printing must still report. */
void console_reset_for_panic(void);
/* Ends the run through port 0xF4 with status. */
__attribute__((noreturn)) void kexit(int status);
/* Prints "kernel panic: ..." and ends the run with KERNEL_PANIC_STATUS. */
__attribute__((noreturn, format(printf, 1, 2))) void kpanic(const char *fmt, ...);
/* Copies the command line (len bytes at s) into the kernel, which reads it after the boot page tables are gone. */
void kcmdline_init(const char *s, uint64_t len);
/* Returns the value of KEY=N on the kernel command line, or dflt. */
uint64_t kcmdline_u64(const char *key, uint64_t dflt);
/* Returns whether the word `word` (or KEY=... with KEY = word) is on the command line. */
bool kcmdline_has(const char *word);
/* Copies the value of KEY=VALUE into buf (NUL-terminated); returns whether the key was there. */
bool kcmdline_str(const char *key, char *buf, size_t len);
/* Returns whether the comma-separated list holds word. */
bool klist_has(const char *list, const char *word);

/* mm.c: physical frames, page tables, user memory */
static inline void *phys_to_virt(uint64_t pa)
{
	extern uint64_t kdmap_base;
	return (void *)(pa + kdmap_base);
}
/* Initialises the frame allocator over [start, end). */
void mm_init(uint64_t start, uint64_t end);
/* Returns a zeroed frame's physical address, or 0 when memory is exhausted. */
uint64_t frame_alloc(void);
/* Returns frame pa to the allocator. */
void frame_free(uint64_t pa);
/* Frames in use and free, for the summary. */
uint64_t frames_used(void);
/* Builds the kernel's page tables (direct map, kernel image); returns the PML4's physical address. */
uint64_t mm_build_kernel_tables(uint64_t mem_size);
/* Physical address of the kernel PML4 (valid after mm_build_kernel_tables). */
extern uint64_t kernel_pml4;
/* Maps 4 KiB at va in the address space pml4 to frame pa with flags (PTE_*); returns 0 or -1 (no memory). */
int mm_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags);
/* Returns the leaf PTE for va (0 when not mapped by a 4 KiB leaf). */
uint64_t mm_lookup(uint64_t pml4, uint64_t va);
/* Unmaps va, frees its frame, invalidates the TLB entry here; returns whether something was mapped. */
bool mm_unmap(uint64_t pml4, uint64_t va);
/* Returns a new address space: an empty lower half, the kernel's upper half; 0 when out of memory. */
uint64_t mm_new_space(void);
/* Frees a process's address space: every user frame and table (the caller runs on another CR3). */
void mm_free_space(uint64_t pml4);
/* Mask of a PTE's physical-address bits (MAXPHYADDR-1:12). */
uint64_t mm_addr_mask(void);
/* Returns whether [va, va+len) is user memory mapped in pml4 with U (and W when write). */
bool user_range_ok(uint64_t pml4, uint64_t va, uint64_t len, bool write);
/* Copies between kernel and user memory of the current process (STAC/CLAC around it); 0 or UAPI_EFAULT. */
int copy_from_user(void *dst, uint64_t usrc, uint64_t len);
int copy_to_user(uint64_t udst, const void *src, uint64_t len);
/*
 * Loads CR3 with pml4 and, when PCIDs are on, the tag pcid (0 for the
 * kernel's space); keep sets bit 63 so the TLB keeps that PCID's entries
 * (SDM Vol. 3A 4.10.4.1), which the caller must know to be current.
 */
void mm_switch(uint64_t pml4, uint16_t pcid, bool keep);

/* desc.c: GDT, TSS, IDT, MSRs, APIC */
/* Fills the shared GDT (code and data descriptors) and IDT (a gate per vector to entry.S's stubs). */
void desc_init_global(void);
/* Loads this vCPU's GDT, TSS, IDT, segment registers, syscall MSRs and GS base. */
void desc_init_cpu(struct percpu *cpu);
/* Turns on CR4/EFER features this vCPU needs (NX, SMEP, SMAP, PGE, PCIDE). */
void cpu_features_enable(void);
/* Starts this vCPU's periodic APIC timer. */
void apic_timer_start(void);
/* Signals the end of the interrupt being handled to the local APIC. */
void apic_eoi(void);
/* Returns this vCPU's APIC ID. */
uint32_t apic_id(void);
extern bool kernel_smap; // STAC/CLAC usable (read by entry.S)

/* trap.c */
/* Handles the event whose frame entry.S saved at f; leaves in f the frame to return to. */
void trap(struct trap_frame *f);
/* Returns the short name of a vector: "#PF", "timer", ... */
const char *vec_name(uint64_t v);
/* Expected kernel fault for the SMEP/SMAP tests: set by ktest.c, consumed by trap.c. */
struct kfixup {
	bool armed;
	uint64_t rip;        // faulting RIP expected, or 0 for any
	uint64_t resume_rip; // where to continue (0: return to the caller, as if by RET)
	bool hit;
	uint64_t vector, error, cr2, fault_rip;
};
extern struct kfixup kfixup;

/* sched.c: processes and scheduling */
enum proc_state { P_FREE = 0, P_RUNNABLE, P_RUNNING, P_SLEEPING, P_WAITING, P_DONE };

struct proc {
	int pid;
	int parent;             // creator's pid, 0 for boot modules
	char name[FACET_MODULE_NAME_MAX];
	enum proc_state state;  // [sched_lock]
	bool background;        // killed when every foreground process has ended (bg=NAME)
	bool stop;              // to be ended at its next entry to the kernel
	struct trap_frame tf;   // user registers while not running
	uint64_t pml4;          // physical address of its PML4
	uint64_t image_end;     // end of its highest segment (heap start)
	uint64_t brk;           // current end of the heap
	uint64_t wake_tick;     // P_SLEEPING: tick to wake at
	int wait_for;           // P_WAITING: the child pid
	uint32_t status;        // P_DONE: exit status or UAPI_KILLED_BY(vector), or PROC_STOPPED
	int cpu;                // vCPU that last ran it
	uint64_t ticks;         // timer ticks while it ran
	uint32_t mm_gen;        // bumped when a mapping goes away (TLB entries elsewhere may be stale)
	enum proc_state block;  // set by a syscall: P_SLEEPING or P_WAITING once it leaves the vCPU
	bool yield;             // set by a syscall: go to the back of the run queue
	struct proc *next;      // run queue link [sched_lock]
};
#define PROC_STOPPED 0x200

/* Builds p's address space and registers from module m (an ELF file) with RDI = arg; 0 or -1 with a console line. */
int proc_load(struct proc *p, const struct facet_module *m, uint64_t arg);
/* Returns the boot module called name (main.c), or NULL. */
const struct facet_module *module_find(const char *name);
/* Starts the processes of all boot modules. */
void sched_start_modules(void);
/*
 * Ends a trap from user mode: carries out what the handler asked of the
 * current process (end, block, yield, or preempt for the timer), picks
 * what runs next and writes its frame into f; goes idle when nothing can.
 */
void sched_return(struct trap_frame *f, bool preempt);
/* Ends the current process p with status (in a trap on its vCPU); prints the summary when it was the last. */
void proc_end(struct proc *p, uint32_t status);
/* The timer interrupt's work: ticks, sleepers, the tick limit. */
void sched_tick(struct percpu *cpu);
/* Runs this vCPU's idle loop; never returns. */
__attribute__((noreturn)) void sched_idle(void);
/* Kernel tests (ktest.c), run on the BSP before processes start; returns the number of failures. */
int ktest_run(const char *which);
extern int ktest_failures;
/* Syscalls (syscall.c): handles p's SYSCALL (frame in p->tf); may change p->state. */
void syscall_dispatch(struct percpu *cpu, struct proc *p);
/* Returns the process with that pid, or NULL. */
struct proc *proc_by_pid(int pid);
/* Makes a process from module m runnable; returns its pid or a UAPI error. */
int sched_spawn(const struct facet_module *m, int parent, uint64_t arg);
/* Allocates a process slot named name; NULL when the table is full. */
struct proc *proc_alloc(const char *name, int parent);
/* Releases a slot proc_alloc gave when the process could not be built. */
void proc_discard(struct proc *p);
extern volatile uint64_t kticks;

/* entry.S */
extern char isr_stubs[];     // 256 interrupt entry stubs, 16 bytes apart
void syscall_entry(void);    // the LSTAR target
/* Puts f in this vCPU's frame slot and leaves the kernel through it. */
__attribute__((noreturn)) void return_to_user(const struct trap_frame *f);
/* Switches to the idle stack and calls fn; never returns. */
__attribute__((noreturn)) void switch_to_idle(uint64_t rsp, void (*fn)(void));
/* ktest helpers: a load that may fault, and its address. */
uint64_t ktest_load(uint64_t addr);
extern char ktest_load_insn[], ktest_load_done[];

/* main.c: the C entry of every vCPU (entry.S), with the boot information's address and the APIC ID. */
void kmain(uint64_t bi_pa, uint64_t id);
/* Boot information and modules (main.c). */
extern const struct facet_bootinfo *kbi;
extern const struct facet_module *kmodules;
extern unsigned knmodules;

#endif
