/* SPDX-License-Identifier: MIT */
/*
 * Processes and scheduling: one process table, one FIFO run queue shared
 * by all vCPUs, one spinlock (sched_lock) over both, round robin driven
 * by each vCPU's periodic APIC timer.
 *
 * Process states, all changed under sched_lock:
 * - P_RUNNABLE: in the run queue, registers in p->tf, on no vCPU's CR3;
 * - P_RUNNING: percpus[p->cpu].cur == p; only that vCPU touches p;
 * - P_SLEEPING: waiting for kticks >= p->wake_tick (vCPU 0 wakes it);
 * - P_WAITING: waiting for child p->wait_for to end (the child wakes it);
 * - P_DONE: ended, address space freed, p->status final.
 * A vCPU leaves a process's address space (loads the kernel's CR3) before
 * the process can become visible to another vCPU: otherwise the other
 * vCPU could end the process and free the page tables this one still
 * walks. Process slots are never reused, so pids and PCIDs stay unique.
 *
 * The run ends when every process has ended: the vCPU that ends the last
 * one prints the summary and exits with status 0 (1 if a kernel test
 * failed). Processes named in bg=NAME,NAME are background work (the
 * spinner): they are stopped once every other process has ended.
 */
#include "kernel.h"

static struct spinlock sched_lock;
static struct proc procs[KMAX_PROCS];
static struct proc *rq_head, *rq_tail;
static unsigned nprocs, nlive, nlive_fg, nsleeping;
static volatile uint32_t finishing;
volatile uint64_t kticks;

static void finish(void);

static void rq_append(struct proc *p)
{
	p->next = NULL;
	if (rq_tail)
		rq_tail->next = p;
	else
		rq_head = p;
	rq_tail = p;
}

static struct proc *rq_pop(void)
{
	struct proc *p = rq_head;
	if (p && !(rq_head = p->next))
		rq_tail = NULL;
	return p;
}

static void rq_remove(struct proc *p)
{
	struct proc **pp = &rq_head, *prev = NULL;
	for (; *pp && *pp != p; prev = *pp, pp = &(*pp)->next)
		;
	if (!*pp)
		return;
	*pp = p->next;
	if (rq_tail == p)
		rq_tail = prev;
}

struct proc *proc_by_pid(int pid)
{
	return pid >= 1 && (unsigned)pid <= nprocs ? &procs[pid - 1] : NULL;
}

/* Returns whether name is in the bg= list of the command line (with or without ".elf"). */
static bool is_background(const char *name)
{
	char list[256], stem[FACET_MODULE_NAME_MAX];
	if (!kcmdline_str("bg", list, sizeof(list)))
		return false;
	size_t n = strlen(name);
	memcpy(stem, name, n + 1);
	if (n > 4 && !strcmp(stem + n - 4, ".elf"))
		stem[n - 4] = '\0';
	return klist_has(list, name) || klist_has(list, stem);
}

struct proc *proc_alloc(const char *name, int parent)
{
	spin_lock(&sched_lock);
	struct proc *p = nprocs < KMAX_PROCS ? &procs[nprocs++] : NULL;
	spin_unlock(&sched_lock);
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->pid = (int)(p - procs) + 1;
	p->parent = parent;
	size_t n = strlen(name) < sizeof(p->name) - 1 ? strlen(name) : sizeof(p->name) - 1;
	memcpy(p->name, name, n);
	p->background = is_background(name);
	p->state = P_FREE;
	return p;
}

void proc_discard(struct proc *p)
{
	/* The slot stays used (pids are never reused); it just never runs. */
	p->state = P_DONE;
	p->status = PROC_STOPPED;
}

int sched_spawn(const struct facet_module *m, int parent, uint64_t arg)
{
	struct proc *p = proc_alloc(m->name, parent);
	if (!p) {
		kprintf("kernel: cannot start %s: process table full\n", m->name);
		return UAPI_ENOMEM;
	}
	if (proc_load(p, m, arg)) {
		proc_discard(p);
		return UAPI_ENOMEM;
	}
	spin_lock(&sched_lock);
	nlive++;
	nlive_fg += !p->background;
	p->state = P_RUNNABLE;
	rq_append(p);
	spin_unlock(&sched_lock);
	return p->pid;
}

void sched_start_modules(void)
{
	for (unsigned k = 0; k < knmodules; k++)
		sched_spawn(&kmodules[k], 0, 0);
	if (!nlive)
		finish();
}

/* Formats a status word: "exit 3", "killed by #PF (vector 14)", "stopped". */
static void status_text(uint32_t st, char *buf, size_t len)
{
	if (st == PROC_STOPPED)
		snprintf(buf, len, "stopped");
	else if (st & UAPI_KILLED)
		snprintf(buf, len, "killed by %s (vector %u)", vec_name(st & 0xff), st & 0xff);
	else
		snprintf(buf, len, "exit %u", st);
}

static void print_summary(void)
{
	unsigned exited = 0, killed = 0, stopped = 0;
	for (unsigned k = 0; k < nprocs; k++) {
		uint32_t st = procs[k].status;
		stopped += st == PROC_STOPPED;
		killed += st != PROC_STOPPED && (st & UAPI_KILLED);
		exited += !(st & (UAPI_KILLED | PROC_STOPPED));
	}
	kprintf("kernel: summary: %u processes: %u exited, %u killed, %u stopped; %llu ticks\n", nprocs, exited,
		killed, stopped, (unsigned long long)kticks);
	for (unsigned k = 0; k < nprocs; k++) {
		char st[64];
		status_text(procs[k].status, st, sizeof(st));
		kprintf("kernel: pid %d %s: %s\n", procs[k].pid, procs[k].name, st);
	}
	for (unsigned c = 0; c < kcfg.ncpus; c++)
		kprintf("kernel: cpu %u: %llu ticks, %llu dispatches, %llu syscalls, %llu user faults\n", c,
			(unsigned long long)percpus[c].ticks, (unsigned long long)percpus[c].dispatches,
			(unsigned long long)percpus[c].syscalls, (unsigned long long)percpus[c].user_faults);
	kprintf("kernel: %llu frames in use\n", (unsigned long long)frames_used());
}

/* Prints the summary and ends the run, once. */
static void finish(void)
{
	if (!atomic_cas32(&finishing, 0, 1))
		return;
	print_summary();
	kprintf("kernel: all processes ended%s\n", ktest_failures ? " (kernel tests failed)" : "");
	kexit(ktest_failures ? 1 : 0);
}

/* Marks p ended [sched_lock held]; wakes a parent waiting for it. p is on no vCPU's CR3. */
static void end_locked(struct proc *p, uint32_t status)
{
	p->state = P_DONE;
	p->status = status;
	nlive--;
	nlive_fg -= !p->background;
	struct proc *parent = proc_by_pid(p->parent);
	if (parent && parent->state == P_WAITING && parent->wait_for == p->pid) {
		parent->tf.rax = status;
		parent->state = P_RUNNABLE;
		rq_append(parent);
	}
}

/* Stops every live process matching `all` or background [sched_lock held]; running ones at their next trap. */
static void stop_locked(bool all)
{
	for (unsigned k = 0; k < nprocs; k++) {
		struct proc *q = &procs[k];
		if ((!all && !q->background) || q->state == P_DONE || q->state == P_FREE)
			continue;
		if (q->state == P_RUNNING) {
			q->stop = true;
			continue;
		}
		if (q->state == P_RUNNABLE)
			rq_remove(q);
		nsleeping -= q->state == P_SLEEPING;
		mm_free_space(q->pml4);
		end_locked(q, PROC_STOPPED);
	}
}

void proc_end(struct proc *p, uint32_t status)
{
	struct percpu *cpu = this_cpu();
	mm_switch(kernel_pml4, 0, true);
	mm_free_space(p->pml4);
	cpu->cur = NULL;
	spin_lock(&sched_lock);
	end_locked(p, status);
	if (!nlive_fg && nlive)
		stop_locked(false);
	bool last = !nlive;
	spin_unlock(&sched_lock);
	if (last)
		finish();
}

/* Puts p on this vCPU: its address space (keeping its PCID's TLB entries if still valid) and frame. */
static void dispatch(struct percpu *cpu, struct proc *p)
{
	unsigned slot = (unsigned)(p - procs);
	bool keep = cpu->seen_gen[slot] == p->mm_gen;
	cpu->seen_gen[slot] = p->mm_gen;
	cpu->cur = p;
	cpu->dispatches++;
	p->cpu = (int)cpu->id;
	mm_switch(p->pml4, (uint16_t)p->pid, keep);
}

/* Takes the next runnable process off the queue and marks it running; NULL if none. */
static struct proc *take_next(void)
{
	spin_lock(&sched_lock);
	struct proc *n = rq_pop();
	if (n)
		n->state = P_RUNNING;
	spin_unlock(&sched_lock);
	return n;
}

static void idle_loop(void)
{
	struct percpu *cpu = this_cpu();
	for (;;) {
		struct proc *n = take_next();
		if (n) {
			dispatch(cpu, n);
			return_to_user(&n->tf);
		}
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	}
}

void sched_idle(void)
{
	struct percpu *cpu = this_cpu();
	cpu->cur = NULL;
	mm_switch(kernel_pml4, 0, true);
	switch_to_idle(cpu->kstack_top - TRAP_FRAME_SIZE - 16, idle_loop);
}

/* Moves p off this vCPU into the state its syscall asked for [p is current, its CR3 already left]. */
static void park(struct proc *p)
{
	spin_lock(&sched_lock);
	struct proc *child = p->block == P_WAITING ? proc_by_pid(p->wait_for) : NULL;
	if (child && child->state == P_DONE) {
		p->tf.rax = child->status; // it ended meanwhile: no need to wait
		p->block = P_RUNNING;
	}
	if (p->stop) {
		mm_free_space(p->pml4); // stopped (bg or tick limit) while it was running here
		end_locked(p, PROC_STOPPED);
	} else if (p->block == P_SLEEPING || p->block == P_WAITING) {
		p->state = p->block;
		nsleeping += p->block == P_SLEEPING;
	} else {
		p->state = P_RUNNABLE;
		rq_append(p);
	}
	p->block = P_FREE;
	p->yield = false;
	bool last = !nlive;
	spin_unlock(&sched_lock);
	if (last)
		finish();
}

void sched_return(struct trap_frame *f, bool preempt)
{
	struct percpu *cpu = this_cpu();
	struct proc *p = cpu->cur;
	if (p && p->stop && p->state == P_RUNNING)
		proc_end(p, PROC_STOPPED), p = NULL;
	if (p && p->state == P_RUNNING) {
		bool leave = p->block != P_FREE;
		if (!leave && (p->yield || preempt)) {
			spin_lock(&sched_lock);
			leave = rq_head != NULL; // with nobody waiting for the vCPU, yielding changes nothing
			spin_unlock(&sched_lock);
		}
		if (!leave) {
			p->yield = false;
			*f = p->tf;
			return;
		}
		cpu->cur = NULL;
		mm_switch(kernel_pml4, 0, true);
		park(p);
	}
	struct proc *n = take_next();
	if (!n)
		sched_idle();
	dispatch(cpu, n);
	*f = n->tf;
}

void sched_tick(struct percpu *cpu)
{
	cpu->ticks++;
	if (cpu->cur)
		cpu->cur->ticks++;
	if (cpu->id != 0)
		return;
	uint64_t now = atomic_add(&kticks, 1) + 1;
	if (nsleeping) {
		spin_lock(&sched_lock);
		for (unsigned k = 0; k < nprocs; k++) {
			struct proc *q = &procs[k];
			if (q->state == P_SLEEPING && q->wake_tick <= now) {
				q->state = P_RUNNABLE;
				nsleeping--;
				rq_append(q);
			}
		}
		spin_unlock(&sched_lock);
	}
	if (kcfg.maxticks && now == kcfg.maxticks) {
		kprintf("kernel: tick limit %llu reached: stopping every process\n", (unsigned long long)now);
		spin_lock(&sched_lock);
		stop_locked(true);
		bool last = !nlive;
		spin_unlock(&sched_lock);
		if (last)
			finish();
	}
}
