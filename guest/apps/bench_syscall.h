/* SPDX-License-Identifier: MIT */
/*
 * What bench_syscall.c (the kernel side, in C) and bench_syscall_asm.S
 * (the SYSCALL entry, the exception stubs and the ring-3 program) agree
 * on: GDT selectors, the system call numbers, the per-CPU block that
 * SWAPGS makes GS point to, the saved-register frame, and where the
 * user program's pages sit in each address space. Included by both, so
 * the C parts hide behind __ASSEMBLER__.
 */
#ifndef GUEST_BENCH_SYSCALL_H
#define GUEST_BENCH_SYSCALL_H

/*
 * GDT selectors. SYSCALL loads CS = STAR[47:32] and SS = that + 8;
 * 64-bit SYSRET loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8,
 * both with RPL 3 (SDM Vol. 2B, SYSCALL and SYSRET), hence user data
 * right below user code, and the unused 32-bit user code slot at 0x18.
 */
#define BSYS_KERNEL_CS 0x08
#define BSYS_KERNEL_DS 0x10
#define BSYS_USER32_CS 0x18 // STAR[63:48]
#define BSYS_USER_DS 0x23   // 0x20 | RPL 3
#define BSYS_USER_CS 0x2b   // 0x28 | RPL 3
#define BSYS_TSS 0x30       // 16-byte descriptor

/* System calls: RAX = number, RDI and RSI = arguments, RAX = result. */
#define BSYS_SYS_MIX 1  // fold (RDI, RSI) into the process's state; returns the new state
#define BSYS_SYS_EXIT 2 // the process ends with its accumulator RDI and data word RSI

/* The per-CPU block at GS base while in the kernel: byte offsets. */
#define BSYS_PC_KSTACK 0   // top of the running process's kernel stack
#define BSYS_PC_USER_RSP 8 // user RSP, kept across the switch to the kernel stack

/* The user address space (PML4 slot 1; slot 0 is the shared kernel identity map). */
#define BSYS_USER_CODE_VA 0x8000000000ull   // the ring-3 program's pages, read-only
#define BSYS_USER_DATA_VA 0x8000100000ull   // one read-write page per process
#define BSYS_USER_STACK_VA 0x8000200000ull  // BSYS_USER_STACK_PAGES pages per process
#define BSYS_USER_STACK_PAGES 2

#ifndef __ASSEMBLER__
#include <stdint.h>

/*
 * The registers of a process that entered the kernel, as
 * bsys_syscall_entry pushes them on the process's kernel stack (lowest
 * address first): the general registers, then an IRETQ frame (RIP, CS,
 * RFLAGS, RSP, SS) built from what SYSCALL left in RCX and R11. The same
 * frame returns through SYSRET or, to another process, through IRETQ.
 */
struct bsys_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* An exception: the general registers, the vector and error code the stub pushed, the CPU's frame. */
struct bsys_exc_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Handles the system call in f (called by bsys_syscall_entry); returns the frame to resume. */
struct bsys_frame *bsys_syscall(struct bsys_frame *f);
/* Reports an exception and ends the run (called by the stubs; never returns). */
__attribute__((noreturn)) void bsys_exception(const struct bsys_exc_frame *f);

/* The SYSCALL entry point, for IA32_LSTAR. */
void bsys_syscall_entry(void);
/* 32 stubs, 16 bytes apart: the handler of vector v is at bsys_exc_stubs + 16 * v. */
extern const char bsys_exc_stubs[];
/* Enters the user context in f with SWAPGS and IRETQ; never returns. */
__attribute__((noreturn)) void bsys_resume(struct bsys_frame *f);
/* Loads the GDT described by the 10-byte GDTR image at gdtr, reloads CS, SS, DS and ES. */
void bsys_load_gdt(const void *gdtr);
/* The ring-3 program (page aligned, whole pages), its entry point and a privileged instruction in it. */
extern const char bsys_user_start[], bsys_user_end[], bsys_user_main[], bsys_user_fault[];
#endif

#endif
