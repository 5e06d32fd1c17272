/* SPDX-License-Identifier: MIT */
/*
 * trap(): where every entry to the kernel lands (entry.S), with the saved
 * registers in f.
 *
 * From user mode: the frame is saved into the process, then a SYSCALL
 * goes to syscall.c, the timer ticks and asks for preemption, and an
 * exception ends the process with one console line
 *   kernel: pid N NAME killed: #PF (vector 14) err=0x4 addr=0x... rip=0x...
 * (addr is CR2 for a page fault and RIP otherwise); then sched_return()
 * decides what runs next. From kernel mode (only the idle loop runs with
 * interrupts on): the timer ticks, and an exception is either the one a
 * kernel test armed in kfixup, or a kernel bug: a report and the end of
 * the run with KERNEL_PANIC_STATUS.
 */
#include "kernel.h"

struct kfixup kfixup;

const char *vec_name(uint64_t v)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
	};
	return v < 32 ? names[v] : v == VEC_TIMER ? "timer" : v == VEC_SPURIOUS ? "spurious" : "interrupt";
}

/* Prints the report of a fault in the kernel and ends the run. */
static __attribute__((noreturn)) void kernel_fault(const struct trap_frame *f)
{
	uint64_t cr2 = read_cr2();
	console_reset_for_panic();
	kprintf("kernel panic: %s (vector %llu) in the kernel on cpu %u: err=%#llx cr2=%#llx rip=%#llx rsp=%#llx\n"
		"  rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx rsi=%#llx rdi=%#llx rbp=%#llx\n"
		"  r8=%#llx r9=%#llx r10=%#llx r11=%#llx r12=%#llx r13=%#llx r14=%#llx r15=%#llx\n"
		"  cs=%#llx ss=%#llx rflags=%#llx cr3=%#llx cr4=%#llx\n",
		vec_name(f->vector), (unsigned long long)f->vector, apic_id(), (unsigned long long)f->error,
		(unsigned long long)cr2, (unsigned long long)f->rip, (unsigned long long)f->rsp,
		(unsigned long long)f->rax, (unsigned long long)f->rbx, (unsigned long long)f->rcx,
		(unsigned long long)f->rdx, (unsigned long long)f->rsi, (unsigned long long)f->rdi,
		(unsigned long long)f->rbp, (unsigned long long)f->r8, (unsigned long long)f->r9,
		(unsigned long long)f->r10, (unsigned long long)f->r11, (unsigned long long)f->r12,
		(unsigned long long)f->r13, (unsigned long long)f->r14, (unsigned long long)f->r15,
		(unsigned long long)f->cs, (unsigned long long)f->ss, (unsigned long long)f->rflags,
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	kexit(KERNEL_PANIC_STATUS);
}

/* Consumes an armed kernel-test fixup if f is the fault it expects; returns whether it did. */
static bool kernel_fixup(struct trap_frame *f)
{
	if (!kfixup.armed || f->vector >= 32 || (kfixup.rip && f->rip != kfixup.rip))
		return false;
	kfixup = (struct kfixup){ .hit = true, .vector = f->vector, .error = f->error, .cr2 = read_cr2(),
				  .fault_rip = f->rip };
	if (f->rip == (uint64_t)ktest_load_insn) {
		f->rip = (uint64_t)ktest_load_done;
		f->rax = 0;
	} else {
		/* A call into a page the kernel may not execute: return to the caller. */
		f->rip = *(uint64_t *)f->rsp;
		f->rsp += 8;
	}
	return true;
}

static void kernel_trap(struct trap_frame *f)
{
	if (f->vector == VEC_TIMER) {
		sched_tick(this_cpu());
		apic_eoi();
		return;
	}
	if (f->vector == VEC_SPURIOUS)
		return;
	if (kernel_fixup(f))
		return;
	kernel_fault(f);
}

/* Ends the current process for exception f with the console line the tests look for. */
static void user_fault(struct percpu *cpu, struct proc *p, const struct trap_frame *f)
{
	uint64_t addr = f->vector == 14 ? read_cr2() : f->rip;
	cpu->user_faults++;
	kprintf("kernel: pid %d %s killed: %s (vector %llu) err=%#llx addr=%#llx rip=%#llx\n", p->pid, p->name,
		vec_name(f->vector), (unsigned long long)f->vector, (unsigned long long)f->error,
		(unsigned long long)addr, (unsigned long long)f->rip);
	proc_end(p, UAPI_KILLED_BY((uint32_t)f->vector));
}

void trap(struct trap_frame *f)
{
	if (!(f->cs & 3)) {
		kernel_trap(f);
		return;
	}
	struct percpu *cpu = this_cpu();
	struct proc *p = cpu->cur;
	bool preempt = false;
	p->tf = *f;
	if (f->vector == VEC_SYSCALL) {
		cpu->syscalls++;
		syscall_dispatch(cpu, p);
	} else if (f->vector == VEC_TIMER) {
		sched_tick(cpu);
		apic_eoi();
		preempt = true;
	} else if (f->vector == 2 || f->vector == 8 || f->vector == 18) {
		kernel_fault(f); // NMI, #DF, #MC are not the process's doing
	} else if (f->vector < 32) {
		user_fault(cpu, p, f);
	}
	sched_return(f, preempt);
}
