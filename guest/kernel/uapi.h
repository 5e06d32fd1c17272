/* SPDX-License-Identifier: MIT */
/*
 * The user-space ABI of the guest kernel: system call numbers, the
 * calling convention, the layout of a process's address space and the
 * status words that wait() returns. Included by the kernel and by the
 * user runtime (guest/user), so it holds only constants.
 *
 * System calls: SYSCALL with the number in RAX and arguments in RDI, RSI,
 * RDX (as Linux; SYSCALL itself clobbers RCX and R11). The result comes
 * back in RAX; a negative value is an error (UAPI_EFAULT for a bad user
 * pointer, UAPI_EINVAL for a bad argument, UAPI_ENOMEM, UAPI_ESRCH).
 *
 * A process starts at its ELF entry with RDI = the argument its creator
 * gave (0 for the processes started from the boot modules), RSP = the top
 * of its stack (16-byte aligned), all other registers zero. It has no FPU
 * or SSE state: the kernel does not save it, so user programs are built
 * with -mgeneral-regs-only like the kernel.
 */
#ifndef GUEST_KERNEL_UAPI_H
#define GUEST_KERNEL_UAPI_H

enum uapi_sys {
	SYS_WRITE = 0,  // write(buf, len): to the console; returns len
	SYS_EXIT = 1,   // exit(status): status & 0xff, never returns
	SYS_GETPID = 2, // getpid(): the process id (1, 2, ... in creation order)
	SYS_YIELD = 3,  // yield(): go to the back of the run queue
	SYS_SLEEP = 4,  // sleep(ticks): wait at least that many timer ticks
	SYS_BRK = 5,    // brk(addr): set the end of the heap; brk(0) returns it; returns the new end
	SYS_CPU = 6,    // cpu(): the vCPU (APIC ID) running the caller
	SYS_TICKS = 7,  // ticks(): timer ticks since boot (vCPU 0's timer)
	SYS_SPAWN = 8,  // spawn(name, arg): start module `name` with RDI = arg; returns its pid
	SYS_WAIT = 9,   // wait(pid): wait for a child to end; returns its status word (below)
	SYS_MAPBAD = 10, // mapbad(addr): map a page at addr whose PTE has a reserved bit set (for #PF tests)
	SYS_COUNT
};

#define UAPI_EFAULT (-14)
#define UAPI_EINVAL (-22)
#define UAPI_ENOMEM (-12)
#define UAPI_ESRCH (-3)

/* Status word of an ended process: exit status, or killed by an exception. */
#define UAPI_KILLED 0x100              // bit 8: killed; bits 7:0 the vector
#define UAPI_KILLED_BY(vec) (UAPI_KILLED | (vec))

/* The address space of a process (the lower half; the upper half is the kernel's). */
#define UAPI_USER_BASE 0x40000000ULL         // lowest address a program may be linked at (1 GiB)
#define UAPI_USER_END 0x0000800000000000ULL  // end of the lower canonical half
#define UAPI_STACK_TOP 0x00007ffffffff000ULL // initial RSP; the page above stays unmapped
#define UAPI_STACK_PAGES 16                  // 64 KiB of stack, mapped when the process starts
#define UAPI_HEAP_MAX (64ULL << 20)          // brk may grow the heap to 64 MiB
#define UAPI_WRITE_MAX 4096                  // longest write(); longer ones are cut

/* Addresses the tests use: guaranteed kernel-only mappings (see guest/kernel/mm.c). */
#define UAPI_KERNEL_IMAGE 0x100000ULL            // the kernel image (read-only text at 1 MiB)
#define UAPI_KERNEL_DIRECT 0xffff800000000000ULL // the kernel's direct map of RAM

#endif
