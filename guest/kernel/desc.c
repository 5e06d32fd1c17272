/* SPDX-License-Identifier: MIT */
/*
 * Descriptor tables, system MSRs and the local APIC timer of the guest
 * kernel (SDM Vol. 3A chapters 3, 6, 8 and 11).
 *
 * One GDT for all vCPUs: null, kernel code and data, then the user
 * selectors in the order SYSRET needs (STAR[63:48] = 0x18: SS = 0x20|3,
 * 64-bit CS = 0x28|3; SDM Vol. 2B SYSRET), then one 16-byte TSS
 * descriptor per vCPU (LTR marks it busy, so they cannot be shared). Each
 * TSS has RSP0 = the vCPU's kernel stack top, IST1 a stack for #DF and
 * IST2 one for NMI and #MC, and no I/O bitmap, so port I/O at CPL 3 is #GP.
 * One IDT of interrupt gates (IF cleared on entry) to entry.S's stubs.
 *
 * The APIC is used in x2APIC mode through MSRs 0x800+ (SDM Vol. 3A 11.12).
 * Under a Multiboot loader without x2APIC (QEMU's TCG), the same
 * registers are reached through the xAPIC page at 0xFEE00000.
 */
#include "kernel.h"

#define GDT_ENTRIES (6 + 2 * KMAX_CPUS)
#define XAPIC_PHYS 0xfee00000ULL

/* APIC register offsets (xAPIC MMIO offset; x2APIC MSR = 0x800 + offset / 16). */
#define APIC_ID 0x20
#define APIC_TPR 0x80
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_DIV 0x3e0
#define APIC_SVR_ENABLE (1u << 8)
#define APIC_TIMER_PERIODIC (1u << 17)
#define APIC_DIV_1 0xb

struct gate {
	uint16_t off_lo, sel;
	uint8_t ist, attr;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static struct gate idt[256] __attribute__((aligned(16)));
static uint8_t ist_stacks[KMAX_CPUS][2][IST_STACK_SIZE] __attribute__((aligned(16)));
struct percpu percpus[KMAX_CPUS];
bool kernel_smap;

_Static_assert(offsetof(struct percpu, kstack_top) == 8, "entry.S uses PCPU_KSTACK_TOP 8");
_Static_assert(offsetof(struct percpu, user_rsp) == 16, "entry.S uses PCPU_USER_RSP 16");
_Static_assert(sizeof(struct trap_frame) == TRAP_FRAME_SIZE, "entry.S uses TRAP_FRAME_SIZE");
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS is 104 bytes");

struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint64_t base;
};

/* Descriptor words (SDM Vol. 3A 3.4.5): P, DPL, S, type; L for 64-bit code, D/B for 32-bit code. */
#define SEG_P (1ULL << 47)
#define SEG_S (1ULL << 44)
#define SEG_DPL3 (3ULL << 45)
#define SEG_CODE (0xaULL << 40) // execute/read
#define SEG_DATA (0x2ULL << 40) // read/write
#define SEG_L (1ULL << 53)
#define SEG_DB (1ULL << 54)
#define SEG_G (1ULL << 55)
#define SEG_LIMIT 0x000f00000000ffffULL

static void gdt_set_tss(unsigned cpu, const struct tss *t)
{
	uint64_t base = (uint64_t)t, limit = sizeof(*t) - 1;
	unsigned k = TSS_SEL(cpu) / 8;
	gdt[k] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x9ULL << 40 | SEG_P | ((base >> 24) & 0xff) << 56;
	gdt[k + 1] = base >> 32;
}

static void idt_set(unsigned vec, uint64_t handler, unsigned ist)
{
	idt[vec] = (struct gate){
		.off_lo = (uint16_t)handler,
		.sel = KERNEL_CS,
		.ist = (uint8_t)ist,
		.attr = 0x8e, // present, DPL 0, 64-bit interrupt gate
		.off_mid = (uint16_t)(handler >> 16),
		.off_hi = (uint32_t)(handler >> 32),
	};
}

void desc_init_global(void)
{
	gdt[KERNEL_CS / 8] = SEG_P | SEG_S | SEG_CODE | SEG_L | SEG_G | SEG_LIMIT;
	gdt[KERNEL_DS / 8] = SEG_P | SEG_S | SEG_DATA | SEG_DB | SEG_G | SEG_LIMIT;
	gdt[USER_CS32 / 8] = SEG_P | SEG_S | SEG_CODE | SEG_DPL3 | SEG_DB | SEG_G | SEG_LIMIT;
	gdt[USER_DS / 8] = SEG_P | SEG_S | SEG_DATA | SEG_DPL3 | SEG_DB | SEG_G | SEG_LIMIT;
	gdt[USER_CS / 8] = SEG_P | SEG_S | SEG_CODE | SEG_DPL3 | SEG_L | SEG_G | SEG_LIMIT;
	for (unsigned v = 0; v < 256; v++)
		idt_set(v, (uint64_t)isr_stubs + 16 * v, 0);
	idt_set(8, (uint64_t)isr_stubs + 16 * 8, 1);   // #DF on IST1: the kernel stack may be what failed
	idt_set(2, (uint64_t)isr_stubs + 16 * 2, 2);   // NMI and #MC on IST2: they can arrive anywhere
	idt_set(18, (uint64_t)isr_stubs + 16 * 18, 2);
}

/* Reloads CS with LRETQ (a far return is how 64-bit code loads CS) and the data segments. */
static void load_segments(void)
{
	__asm__ volatile("pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\tmovl %[ds], %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movl %%eax, %%fs\n\t"
			 "movl %%eax, %%gs"
			 :
			 : [cs] "i"(KERNEL_CS), [ds] "i"(KERNEL_DS)
			 : "rax", "memory");
}

static void init_tss(struct percpu *cpu)
{
	struct tss *t = &cpu->tss;
	memset(t, 0, sizeof(*t));
	t->rsp[0] = cpu->kstack_top;
	t->ist[0] = (uint64_t)ist_stacks[cpu->id][0] + IST_STACK_SIZE;
	t->ist[1] = (uint64_t)ist_stacks[cpu->id][1] + IST_STACK_SIZE;
	t->iomap_base = sizeof(*t);
	gdt_set_tss(cpu->id, t);
}

void desc_init_cpu(struct percpu *cpu)
{
	extern char kstacks[];
	cpu->self = cpu;
	cpu->kstack_top = (uint64_t)kstacks + (uint64_t)(cpu->id + 1) * KSTACK_SIZE;
	init_tss(cpu);
	struct dtr g = { sizeof(gdt) - 1, (uint64_t)gdt }, i = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lgdt %0" : : "m"(g) : "memory");
	load_segments();
	__asm__ volatile("ltr %w0" : : "r"(TSS_SEL(cpu->id)) : "memory");
	__asm__ volatile("lidt %0" : : "m"(i) : "memory");
	wrmsr(MSR_GS_BASE, (uint64_t)cpu);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	wrmsr(MSR_FS_BASE, 0);
	wrmsr(MSR_STAR, (uint64_t)(USER_CS32 & ~3) << 48 | (uint64_t)KERNEL_CS << 32);
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_CSTAR, 0);
	wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC);
}

void cpu_features_enable(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE | (kcfg.nx ? EFER_NXE : 0));
	write_cr0(read_cr0() | CR0_WP);
	uint64_t cr4 = read_cr4();
	if (kcfg.pge)
		cr4 |= CR4_PGE;
	if (kcfg.pcid && !(read_cr3() & 0xfff))
		cr4 |= CR4_PCIDE;
	if (kcfg.smep)
		cr4 |= CR4_SMEP;
	if (kcfg.smap)
		cr4 |= CR4_SMAP;
	write_cr4(cr4);
	kernel_smap = kcfg.smap;
}

static void apic_write(unsigned reg, uint32_t v)
{
	if (kcfg.x2apic)
		wrmsr(0x800 + (reg >> 4), v);
	else
		*(volatile uint32_t *)((uint8_t *)phys_to_virt(XAPIC_PHYS) + reg) = v;
}

static uint32_t apic_read(unsigned reg)
{
	if (kcfg.x2apic)
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return *(volatile uint32_t *)((uint8_t *)phys_to_virt(XAPIC_PHYS) + reg);
}

uint32_t apic_id(void)
{
	uint32_t id = apic_read(APIC_ID);
	return kcfg.x2apic ? id : id >> 24;
}

void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

void apic_timer_start(void)
{
	if (kcfg.x2apic) {
		uint64_t base = rdmsr(MSR_APIC_BASE);
		if ((base & (APIC_BASE_EN | APIC_BASE_EXTD)) != (APIC_BASE_EN | APIC_BASE_EXTD))
			wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	} else if (mm_lookup(kernel_pml4, DMAP_BASE + XAPIC_PHYS) == 0) {
		/* The xAPIC page is outside RAM: map it uncached (PCD | PWT) in the shared kernel half. */
		if (mm_map(kernel_pml4, DMAP_BASE + XAPIC_PHYS, XAPIC_PHYS, PTE_P | PTE_W | PTE_NX | 0x18))
			kpanic("no memory to map the xAPIC");
	}
	apic_write(APIC_TPR, 0);
	apic_write(APIC_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
	apic_write(APIC_TIMER_DIV, APIC_DIV_1);
	apic_write(APIC_LVT_TIMER, APIC_TIMER_PERIODIC | VEC_TIMER);
	apic_write(APIC_TIMER_INIT, (uint32_t)kcfg.tick);
}
