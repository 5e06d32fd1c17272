/* SPDX-License-Identifier: MIT */
/*
 * The report printed when a run ends badly: an exception the guest did
 * not handle (no IDT), a triple fault (the shutdown a real machine would
 * do: the report names the fault and the event that led to it), or a
 * halt nothing can wake. It names the vector, error
 * code and RIP, formats the instruction at RIP and dumps the registers.
 */
#include <stdio.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/dis.h"
#include "cpu/flags.h"
#include "vmm/machine.h"

static const char *const vector_names[32] = {
	[0] = "#DE divide error", [1] = "#DB debug", [2] = "NMI", [3] = "#BP breakpoint", [4] = "#OF overflow",
	[5] = "#BR bound range", [6] = "#UD invalid opcode", [7] = "#NM device not available",
	[8] = "#DF double fault", [10] = "#TS invalid TSS", [11] = "#NP segment not present",
	[12] = "#SS stack fault", [13] = "#GP general protection", [14] = "#PF page fault",
	[16] = "#MF x87 error", [17] = "#AC alignment check", [18] = "#MC machine check",
	[19] = "#XM SIMD exception", [20] = "#VE virtualization exception",
};

/* Copies up to 15 code bytes at rip without disturbing the vCPU's pending exception. */
static size_t peek_code(struct cpu *c, u8 *buf)
{
	struct exception saved = c->exc;
	u64 cr2 = c->cr2;
	size_t n = 0;
	for (; n < 15; n++) {
		u8 *p = mmu_translate(c, c->r[REG_RIP] + n, ACC_READ);
		if (!p)
			break;
		buf[n] = *p;
	}
	c->exc = saved;
	c->cr2 = cr2;
	return n;
}

/* Prints "N (name), error code E, address A" for one event. */
static void print_exception(const struct cpu *c, const struct exception *e, FILE *out)
{
	const char *name = e->vector < 32 && vector_names[e->vector] ? vector_names[e->vector] : "interrupt";
	fprintf(out, "%u (%s)", e->vector, name);
	if (e->has_error)
		fprintf(out, ", error code %#x", e->error);
	if (e->vector == VEC_PF)
		fprintf(out, ", address %#llx", (unsigned long long)c->cr2);
}

static void dump_registers(struct cpu *c, FILE *out)
{
	static const char *const names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					       "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };
	for (unsigned k = 0; k < 16; k++)
		fprintf(out, "  %-3s %016llx%s", names[k], (unsigned long long)c->r[k], k % 4 == 3 ? "\n" : "");
	fprintf(out, "  rip %016llx  rflags %016llx  cr2 %016llx  cr3 %016llx\n", (unsigned long long)c->r[REG_RIP],
		(unsigned long long)flags_get(c), (unsigned long long)c->cr2, (unsigned long long)c->cr3);
	fprintf(out, "  fs.base %016llx  gs.base %016llx  instructions retired %llu\n",
		(unsigned long long)c->seg_base[SEG_FS], (unsigned long long)c->seg_base[SEG_GS],
		(unsigned long long)c->icount);
	fprintf(out, "  cs %04x  ss %04x  cpl %u  cr0 %08llx  cr4 %08llx  efer %llx  kernel_gs.base %016llx\n",
		c->seg[SREG_CS].sel, c->seg[SREG_SS].sel, c->cpl, (unsigned long long)c->cr0, (unsigned long long)c->cr4,
		(unsigned long long)c->efer, (unsigned long long)c->kernel_gs_base);
}

void machine_report(struct machine *mc, enum run_result r, FILE *out)
{
	struct cpu *c = &mc->cpus[mc->stopped_cpu];
	u8 code[15];
	char text[128] = "(code not readable)";
	size_t n = peek_code(c, code);
	if (n)
		dis_format(code, n, c->r[REG_RIP], text, sizeof(text));
	if (r == RUN_EXCEPTION) {
		fprintf(out, "facet: vCPU %u: unhandled exception ", c->id);
		print_exception(c, &c->exc, out);
		fprintf(out, "\n");
	} else if (r == RUN_TRIPLE_FAULT) {
		fprintf(out, "facet: vCPU %u: triple fault (shutdown): ", c->id);
		print_exception(c, &c->exc, out);
		fprintf(out, " while delivering #DF; the first event was ");
		print_exception(c, &c->exc_first, out);
		fprintf(out, "\n  idtr %#llx limit %#x, gdtr %#llx limit %#x, tr %#x, cpl %u\n",
			(unsigned long long)c->idtr.base, c->idtr.limit, (unsigned long long)c->gdtr.base, c->gdtr.limit,
			c->seg[SREG_TR].sel, c->cpl);
	} else if (r == RUN_HALT && !(c->rflags & RFLAGS_IF)) {
		fprintf(out, "facet: vCPU %u: HLT with interrupts disabled: nothing can wake it\n", c->id);
	} else if (r == RUN_HALT) {
		fprintf(out, "facet: vCPU %u: HLT, and every vCPU is halted with no interrupt that can wake one\n", c->id);
	} else if (r == RUN_LIMIT) {
		fprintf(out, "facet: instruction limit reached\n");
	}
	fprintf(out, "  at rip %#llx: %s\n", (unsigned long long)c->r[REG_RIP], text);
	dump_registers(c, out);
}
