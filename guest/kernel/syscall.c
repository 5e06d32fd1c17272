/* SPDX-License-Identifier: MIT */
/*
 * The system calls of uapi.h. Each handler reads its arguments from the
 * saved frame (RDI, RSI, RDX) and leaves its result in p->tf.rax; one
 * that must leave the vCPU (exit, yield, sleep, wait) says so through p
 * and sched_return() does the rest. User pointers are checked against
 * the process's page tables and copied with STAC/CLAC (mm.c): a bad
 * pointer is UAPI_EFAULT, never a kernel fault.
 */
#include "kernel.h"

typedef int64_t (*sys_fn)(struct percpu *cpu, struct proc *p);

static int64_t sys_write(struct percpu *cpu, struct proc *p)
{
	uint64_t buf = p->tf.rdi, len = p->tf.rsi;
	char chunk[256];
	if (len > UAPI_WRITE_MAX)
		len = UAPI_WRITE_MAX;
	if (!user_range_ok(p->pml4, buf, len, false))
		return UAPI_EFAULT;
	/* One lock for the whole write: a process's line never mixes with another's. */
	console_lock();
	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
		if (copy_from_user(chunk, buf + done, n))
			break;
		console_put(chunk, n);
		done += n;
	}
	console_unlock();
	return (int64_t)len;
}

static int64_t sys_exit(struct percpu *cpu, struct proc *p)
{
	proc_end(p, (uint32_t)(p->tf.rdi & 0xff));
	return 0;
}

static int64_t sys_getpid(struct percpu *cpu, struct proc *p)
{
	return p->pid;
}

static int64_t sys_yield(struct percpu *cpu, struct proc *p)
{
	p->yield = true;
	return 0;
}

static int64_t sys_sleep(struct percpu *cpu, struct proc *p)
{
	p->wake_tick = kticks + p->tf.rdi;
	p->block = P_SLEEPING;
	return 0;
}

/* brk(addr): grows the heap with zeroed pages or shrinks it, freeing them (Linux semantics: returns the end). */
static int64_t sys_brk(struct percpu *cpu, struct proc *p)
{
	uint64_t want = p->tf.rdi, old = (p->brk + PAGE - 1) & ~(PAGE - 1);
	if (want < p->image_end || want - p->image_end > UAPI_HEAP_MAX)
		return (int64_t)p->brk;
	uint64_t top = (want + PAGE - 1) & ~(PAGE - 1);
	for (uint64_t va = old; va < top; va += PAGE) {
		uint64_t pa = frame_alloc();
		if (!pa || mm_map(p->pml4, va, pa, PTE_P | PTE_U | PTE_W | (kcfg.nx ? PTE_NX : 0))) {
			if (pa)
				frame_free(pa);
			for (uint64_t u = old; u < va; u += PAGE)
				mm_unmap(p->pml4, u);
			return (int64_t)p->brk;
		}
	}
	bool unmapped = false;
	for (uint64_t va = top; va < old; va += PAGE)
		unmapped |= mm_unmap(p->pml4, va);
	if (unmapped)
		p->mm_gen++; // other vCPUs may hold TLB entries for the freed pages under this PCID
	p->brk = want;
	return (int64_t)want;
}

static int64_t sys_cpu(struct percpu *cpu, struct proc *p)
{
	return cpu->id;
}

static int64_t sys_ticks(struct percpu *cpu, struct proc *p)
{
	return (int64_t)kticks;
}

static int64_t sys_spawn(struct percpu *cpu, struct proc *p)
{
	char name[FACET_MODULE_NAME_MAX];
	uint64_t u = p->tf.rdi;
	for (size_t k = 0;; k++) {
		if (k == sizeof(name) || copy_from_user(&name[k], u + k, 1))
			return UAPI_EFAULT;
		if (!name[k])
			break;
	}
	const struct facet_module *m = module_find(name);
	if (!m)
		return UAPI_ESRCH;
	return sched_spawn(m, p->pid, p->tf.rsi);
}

static int64_t sys_wait(struct percpu *cpu, struct proc *p)
{
	struct proc *child = proc_by_pid((int)p->tf.rdi);
	if (!child || child->parent != p->pid)
		return UAPI_ESRCH;
	p->wait_for = child->pid;
	p->block = P_WAITING; // sched_return re-checks, under the lock, whether it already ended
	return 0;
}

/* mapbad(addr): a user page whose PTE has bit MAXPHYADDR set, reserved (SDM Vol. 3A 4.5, table 4-20). */
static int64_t sys_mapbad(struct percpu *cpu, struct proc *p)
{
	uint64_t va = p->tf.rdi;
	/* Above any address brk could reach, so the heap never maps over it. */
	if ((va & (PAGE - 1)) || va < p->image_end + UAPI_HEAP_MAX + PAGE ||
	    va >= UAPI_STACK_TOP - UAPI_STACK_PAGES * PAGE ||
	    (mm_lookup(p->pml4, va) & PTE_P) || kcfg.maxphyaddr >= 52)
		return UAPI_EINVAL;
	uint64_t pa = frame_alloc();
	if (!pa)
		return UAPI_ENOMEM;
	if (mm_map(p->pml4, va, pa, PTE_P | PTE_U | PTE_W | (1ULL << kcfg.maxphyaddr))) {
		frame_free(pa);
		return UAPI_ENOMEM;
	}
	return 0;
}

static const sys_fn table[SYS_COUNT] = {
	[SYS_WRITE] = sys_write, [SYS_EXIT] = sys_exit,   [SYS_GETPID] = sys_getpid, [SYS_YIELD] = sys_yield,
	[SYS_SLEEP] = sys_sleep, [SYS_BRK] = sys_brk,     [SYS_CPU] = sys_cpu,       [SYS_TICKS] = sys_ticks,
	[SYS_SPAWN] = sys_spawn, [SYS_WAIT] = sys_wait,   [SYS_MAPBAD] = sys_mapbad,
};

void syscall_dispatch(struct percpu *cpu, struct proc *p)
{
	uint64_t nr = p->tf.rax;
	int64_t r = nr < SYS_COUNT ? table[nr](cpu, p) : UAPI_EINVAL;
	if (p->state == P_RUNNING && !(nr == SYS_WAIT && p->block == P_WAITING))
		p->tf.rax = (uint64_t)r;
}
