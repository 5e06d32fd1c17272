/* SPDX-License-Identifier: MIT */
/*
 * The `facet` command line. The only place in Facet that may exit().
 *
 * Exit status of `facet run`: the byte the guest wrote to port 0xF4; 2 for
 * a usage error or a guest image that cannot be loaded; 3 when the guest
 * ended with an unhandled exception or a halt nothing can wake; 4 when
 * the instruction limit was reached.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/dcache.h"
#include "vmm/boot.h"
#include "vmm/machine.h"

#define EXIT_USAGE 2
#define EXIT_CRASH 3
#define EXIT_LIMIT 4

static const char main_usage[] =
	"usage: facet COMMAND [ARGS]\n"
	"\n"
	"Facet is an x86-64 full-system emulator with a model of Intel VT-x\n"
	"memory-protection hardware.\n"
	"\n"
	"commands:\n"
	"  run GUEST.elf [-- APP.elf ...]\n"
	"                  run a freestanding 64-bit guest (see `facet run --help`)\n"
	"  help            show this text\n"
	"\n"
	"options:\n"
	"  -h, --help      show this text\n";

static const char run_usage[] =
	"usage: facet run [OPTIONS] GUEST.elf [-- APP.elf ...]\n"
	"\n"
	"Loads a statically linked ELF64 x86-64 executable into guest RAM at its\n"
	"physical addresses and starts it in 64-bit mode at CPL 0, with RAM\n"
	"identity-mapped (page 0 left unmapped), RSP at the top of RAM and RDI\n"
	"pointing to the boot information (abi/bootinfo.h: memory size, command\n"
	"line, image bounds, free memory).\n"
	"\n"
	"Port 0xE9 is the console. A byte N written to port 0xF4 ends the run with\n"
	"exit status N (as QEMU's isa-debug-exit, which exits with (N << 1) | 1).\n"
	"An exception the guest does not handle ends the run with a report on\n"
	"stderr: vector, error code, RIP, the instruction there and the registers.\n"
	"\n"
	"Files after `--` are modules: their bytes are placed, page aligned, in\n"
	"guest memory after the guest image and listed in the boot information\n"
	"with their basenames (a guest kernel loads them as its processes).\n"
	"\n"
	"Every vCPU starts at the entry point, with RSI = its APIC ID (0 to N-1)\n"
	"and its own 16 KiB slice of the boot stack. The vCPUs take turns of a\n"
	"fixed number of instructions, so a run with the same inputs is the same\n"
	"run every time; the guest runtime of guest/lib parks vCPUs other than 0.\n"
	"\n"
	"options:\n"
	"  --mem SIZE        guest RAM, a multiple of 2 MiB (suffix K, M or G;\n"
	"                    plain numbers are MiB; default 256M)\n"
	"  --cmdline TEXT    command line handed to the guest (default empty)\n"
	"  --cpus N          vCPUs, 1 to 64 (default 2)\n"
	"  --quantum N       instructions per vCPU turn (default 10000)\n"
	"  --max-insns N     stop after N instructions (exit status 4)\n"
	"  --stats           print run statistics as one JSON line on stderr\n"
	"  -h, --help        show this text\n"
	"\n"
	"exit status: the guest's status byte; 2 usage or load error; 3 unhandled\n"
	"exception or final halt; 4 instruction limit reached.\n";

/* Parses a size with an optional K/M/G suffix (plain numbers are MiB); 0 on error. */
static u64 parse_size(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return 0;
	u64 unit = 1ULL << 20;
	if (*end == 'K' || *end == 'k')
		unit = 1ULL << 10, end++;
	else if (*end == 'M' || *end == 'm')
		end++;
	else if (*end == 'G' || *end == 'g')
		unit = 1ULL << 30, end++;
	if (*end || v > (1ULL << 40) / unit)
		return 0;
	return v * unit;
}

static u8 *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	u8 *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			u8 *nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_stats(const struct machine *mc, double secs, enum run_result r)
{
	static const char *const results[] = { "exit", "exception", "halt", "limit", "triple_fault" };
	const struct dcache_stats *ds = dcache_stats(mc->dc);
	u64 n = machine_icount(mc);
	fprintf(stderr,
		"{\"result\":\"%s\",\"exit_status\":%u,\"cpus\":%u,\"instructions\":%llu,\"seconds\":%.6f,\"mips\":%.2f,"
		"\"blocks_built\":%llu,\"insns_decoded\":%llu,\"code_pages_invalidated\":%llu,\"dcache_flushes\":%llu}\n",
		results[r], mc->exit_status, mc->ncpus, (unsigned long long)n, secs, secs > 0 ? n / secs / 1e6 : 0.0,
		(unsigned long long)ds->blocks_built, (unsigned long long)ds->insns_decoded,
		(unsigned long long)ds->pages_invalidated, (unsigned long long)ds->flushes);
}

/* Parses a whole number from 1 to max for option opt into *out; prints why and returns -1 if it is not one. */
static int parse_count(const char *opt, const char *arg, u64 max, u64 *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || *arg == '-' || v < 1 || v > max) {
		fprintf(stderr, "facet run: bad %s '%s': give a number from 1 to %llu\n", opt, arg,
			(unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

struct run_opts {
	struct machine_config cfg;
	u64 max_insns;
	bool stats;
	const char *path;
	char **apps;     // module files given after `--`
	unsigned napps;
};

/*
 * Returns the index of the `--` that ends the options and the guest file,
 * or argc when there is none. A `--` that is the argument of an option
 * (`--cmdline --`) does not count.
 */
static int find_modules_mark(int argc, char **argv, const struct option *longopts)
{
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--"))
			return k;
		if (strncmp(argv[k], "--", 2) || strchr(argv[k], '='))
			continue;
		for (const struct option *lo = longopts; lo->name; lo++)
			if (!strcmp(argv[k] + 2, lo->name) && lo->has_arg == required_argument)
				k++;
	}
	return argc;
}

static int parse_run(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },       { "cmdline", required_argument, NULL, 'c' },
		{ "max-insns", required_argument, NULL, 'n' }, { "stats", no_argument, NULL, 's' },
		{ "cpus", required_argument, NULL, 'p' },      { "quantum", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },            { NULL, 0, NULL, 0 },
	};
	*o = (struct run_opts){ .cfg = { .mem_size = 256ULL << 20, .ncpus = 2, .cmdline = "", .console = stdout } };
	int ch, mark = find_modules_mark(argc, argv, longopts);
	u64 v;
	if (mark < argc) {
		o->apps = argv + mark + 1;
		o->napps = (unsigned)(argc - mark - 1);
		argc = mark;
	}
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			if (!(o->cfg.mem_size = parse_size(optarg))) {
				fprintf(stderr, "facet run: bad --mem '%s': give a size such as 256M or 1G\n", optarg);
				return -1;
			}
			break;
		case 'c': o->cfg.cmdline = optarg; break;
		case 'n': o->max_insns = strtoull(optarg, NULL, 0); break;
		case 's': o->stats = true; break;
		case 'p':
			if (parse_count("--cpus", optarg, MACHINE_MAX_CPUS, &v))
				return -1;
			o->cfg.ncpus = (unsigned)v;
			break;
		case 'q':
			if (parse_count("--quantum", optarg, UINT32_MAX, &o->cfg.quantum))
				return -1;
			break;
		case 'h': fputs(run_usage, stdout); exit(0);
		default: fprintf(stderr, "facet run: see `facet run --help`\n"); return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "facet run: expected one guest ELF file; see `facet run --help`\n");
		return -1;
	}
	o->path = argv[optind];
	return 0;
}

/* Reads the module files and hands them to the guest; prints one line and returns -1 on an error. */
static int load_apps(struct machine *mc, const struct run_opts *o)
{
	struct boot_module *mods = calloc(o->napps ? o->napps : 1, sizeof(*mods));
	int rc = -1;
	unsigned n = 0;
	char err[256];
	if (!mods) {
		fprintf(stderr, "facet run: out of host memory for %u modules\n", o->napps);
		return -1;
	}
	for (; n < o->napps; n++) {
		mods[n].name = o->apps[n];
		if (!(mods[n].data = read_file(o->apps[n], &mods[n].len))) {
			fprintf(stderr, "facet run: cannot read %s: %s\n", o->apps[n], strerror(errno));
			goto out;
		}
	}
	if (machine_add_modules(mc, mods, n, err, sizeof(err)))
		fprintf(stderr, "facet run: %s\n", err);
	else
		rc = 0;
out:
	for (unsigned k = 0; k < n; k++)
		free((void *)mods[k].data);
	free(mods);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	if (parse_run(argc, argv, &o))
		return EXIT_USAGE;
	size_t len;
	u8 *elf = read_file(o.path, &len);
	if (!elf) {
		fprintf(stderr, "facet run: cannot read %s: %s\n", o.path, strerror(errno));
		return EXIT_USAGE;
	}
	struct machine *mc = machine_new(&o.cfg);
	if (!mc) {
		fprintf(stderr, "facet run: cannot create the machine: %s\n", strerror(errno));
		free(elf);
		return EXIT_USAGE;
	}
	char err[256];
	int status = EXIT_USAGE;
	if (machine_load(mc, elf, len, err, sizeof(err))) {
		fprintf(stderr, "facet run: %s: %s\n", o.path, err);
		goto out;
	}
	if (load_apps(mc, &o)) {
		status = EXIT_USAGE;
		goto out;
	}
	double t0 = now();
	enum run_result r = machine_run(mc, o.max_insns);
	double secs = now() - t0;
	fflush(stdout);
	if (r != RUN_EXIT)
		machine_report(mc, r, stderr);
	if (o.stats)
		print_stats(mc, secs, r);
	status = r == RUN_EXIT ? mc->exit_status : r == RUN_LIMIT ? EXIT_LIMIT : EXIT_CRASH;
out:
	machine_free(mc);
	free(elf);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(main_usage, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	fprintf(stderr, "facet: unknown command '%s'; see `facet --help`\n", cmd);
	return EXIT_USAGE;
}
