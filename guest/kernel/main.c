/* SPDX-License-Identifier: MIT */
/*
 * Boot of the guest kernel. Every vCPU enters kmain() from entry.S with
 * the boot information and its APIC ID. The BSP (APIC ID 0) reads the
 * boot information (command line, modules), detects CPU features, builds
 * the kernel's page tables and descriptor tables, runs the kernel tests
 * the command line asks for, creates a process per module and releases
 * the APs; then every vCPU loads its own GDT/TSS/IDT/MSRs, starts its
 * APIC timer and enters the scheduler's idle loop.
 *
 * Command line (facet run --cmdline):
 *   tick=N      APIC timer initial count, divide by 1 (default 20000)
 *   maxticks=N  stop every process after N ticks of vCPU 0 (default: never)
 *   bg=A,B      modules that are background work, stopped when the rest end
 *   ktest=T,T   kernel self-tests before the processes start: smep, smap, panic
 *   nosmep nosmap nopcid nopge   leave that CPU feature off
 */
#include "kernel.h"

struct kconfig kcfg;
const struct facet_bootinfo *kbi;
static struct facet_module kmod_table[FACET_MODULES_MAX];
const struct facet_module *kmodules = kmod_table;
unsigned knmodules;
static volatile uint32_t aps_go;
static volatile uint64_t cpus_online;

extern uint64_t kdmap_base;

const struct facet_module *module_find(const char *name)
{
	for (unsigned k = 0; k < knmodules; k++)
		if (!strcmp(kmodules[k].name, name))
			return &kmodules[k];
	return NULL;
}

/* Reads the CPUID bits the kernel uses (SDM Vol. 2A CPUID, tables 3-8 to 3-10); nosmep etc. override. */
static void detect_features(void)
{
	uint32_t r[4], max, ext;
	cpuid(0, 0, r);
	max = r[0];
	cpuid(1, 0, r);
	kcfg.x2apic = r[2] & (1u << 21);
	kcfg.pcid = (r[2] & (1u << 17)) && !kcmdline_has("nopcid");
	kcfg.pge = (r[3] & (1u << 13)) && !kcmdline_has("nopge");
	if (max >= 7) {
		cpuid(7, 0, r);
		kcfg.smep = (r[1] & (1u << 7)) && !kcmdline_has("nosmep");
		kcfg.smap = (r[1] & (1u << 20)) && !kcmdline_has("nosmap");
	}
	cpuid(0x80000000u, 0, r);
	ext = r[0];
	kcfg.maxphyaddr = 36;
	if (ext >= 0x80000001u) {
		cpuid(0x80000001u, 0, r);
		kcfg.nx = r[3] & (1u << 20);
	}
	if (ext >= 0x80000008u) {
		cpuid(0x80000008u, 0, r);
		kcfg.maxphyaddr = r[0] & 0xff;
	}
}

/* Copies what the kernel keeps of the boot information (it is read through the identity map here). */
static void read_bootinfo(const struct facet_bootinfo *bi)
{
	if (bi->magic != FACET_BOOTINFO_MAGIC)
		kpanic("bad boot information magic %#llx", (unsigned long long)bi->magic);
	kcmdline_init((const char *)bi->cmdline, bi->cmdline_len);
	if (bi->version >= 2 && bi->modules) {
		knmodules = bi->nmodules < FACET_MODULES_MAX ? bi->nmodules : FACET_MODULES_MAX;
		memcpy(kmod_table, (const void *)bi->modules, knmodules * sizeof(kmod_table[0]));
		for (unsigned k = 0; k < knmodules; k++)
			kmod_table[k].name[FACET_MODULE_NAME_MAX - 1] = '\0';
	}
	kcfg.ncpus = bi->ncpus < 1 ? 1 : bi->ncpus > KMAX_CPUS ? KMAX_CPUS : bi->ncpus;
	kcfg.tick = kcmdline_u64("tick", 20000);
	kcfg.maxticks = kcmdline_u64("maxticks", 0);
}

static void print_banner(const struct facet_bootinfo *bi)
{
	kprintf("kernel: %u vCPUs, %llu MiB, %u modules, cmdline \"%s\"\n", kcfg.ncpus,
		(unsigned long long)(bi->mem_size >> 20), knmodules, kcfg.cmdline);
	kprintf("kernel: features:%s%s%s%s%s%s, MAXPHYADDR %u\n", kcfg.nx ? " nx" : "", kcfg.smep ? " smep" : "",
		kcfg.smap ? " smap" : "", kcfg.pcid ? " pcid" : "", kcfg.pge ? " pge" : "",
		kcfg.x2apic ? " x2apic" : " xapic", kcfg.maxphyaddr);
	for (unsigned k = 0; k < knmodules; k++)
		kprintf("kernel: module %u: %s, %llu bytes\n", k, kmodules[k].name,
			(unsigned long long)kmodules[k].size);
}

/* The BSP's share of the boot: everything global. */
static void bsp_init(uint64_t bi_pa)
{
	const struct facet_bootinfo *bi = (const struct facet_bootinfo *)bi_pa;
	read_bootinfo(bi);
	detect_features();
	mm_init(bi->free_start, bi->stack_bottom);
	cpu_features_enable();
	mm_build_kernel_tables(bi->mem_size);
	mm_switch(kernel_pml4, 0, false);
	kdmap_base = DMAP_BASE;
	kbi = phys_to_virt(bi_pa);
	desc_init_global();
	print_banner(kbi);
}

/* What every vCPU sets up for itself: descriptor tables, MSRs, GS, its timer. */
static void cpu_local_init(uint32_t id)
{
	struct percpu *cpu = &percpus[id];
	cpu->id = id;
	desc_init_cpu(cpu);
	apic_timer_start();
	if (apic_id() != id)
		kprintf("kernel: cpu %u: APIC ID register says %u\n", id, apic_id());
	cpu->online = true;
	atomic_add(&cpus_online, 1);
}

void kmain(uint64_t bi_pa, uint64_t id)
{
	if (id == 0) {
		bsp_init(bi_pa);
		cpu_local_init(0);
		char which[128];
		if (kcmdline_str("ktest", which, sizeof(which)))
			ktest_failures = ktest_run(which);
		sched_start_modules();
		aps_go = 1;
	} else {
		while (!aps_go)
			cpu_pause();
		cpu_features_enable();
		mm_switch(kernel_pml4, 0, false);
		cpu_local_init((uint32_t)id);
	}
	sched_idle();
}
