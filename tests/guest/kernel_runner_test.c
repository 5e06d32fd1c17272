/* SPDX-License-Identifier: MIT */
/*
 * Modules, the runner side of `facet run KERNEL.elf -- APP.elf ...`:
 * boot_add_modules() places each file's bytes page aligned after the
 * image behind a table of {address, size, basename} and moves free_start
 * past them (abi/bootinfo.h, version 2); the command line rejects an
 * unreadable file, too many modules, a name too long and modules that do
 * not fit in RAM with one line on stderr and exit status 2; and the
 * kernel sees the modules with the files' sizes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../abi/bootinfo.h"
#include "../unit/test.h"
#include "kernel_test.h"
#include "mem/mem.h"
#include "vmm/boot.h"
#include "vmm/elf.h"

#define RUNNER_MEM (16ULL << 20)

/* Sets up 16 MiB of RAM with boot information for an image at [1 MiB, 1 MiB + 0x2345). */
static int setup(struct mem *m)
{
	struct elf_image img = { .entry = 0x100000, .lo = 0x100000, .hi = 0x102345 };
	char err[128];
	if (mem_init(m, RUNNER_MEM))
		return -1;
	return boot_setup(m, &img, "x", 1, err, sizeof(err));
}

TEST(kernel, modules_table_layout)
{
	struct mem m;
	ASSERT_EQ(0, setup(&m));
	static const u8 a[] = "first module", b[5000] = { 1, 2, 3 };
	const struct boot_module mods[] = { { "dir/a.elf", a, sizeof(a) }, { "b", b, sizeof(b) }, { "empty", NULL, 0 } };
	char err[128] = "";
	EXPECT_EQ(0, boot_add_modules(&m, mods, 3, err, sizeof(err)));
	struct facet_bootinfo bi;
	memcpy(&bi, m.ram + FACET_BOOTINFO_ADDR, sizeof(bi));
	EXPECT_EQ(2, bi.version);
	EXPECT_EQ(3, bi.nmodules);
	EXPECT_EQ(0x103000, bi.modules); // the first page after the image
	struct facet_module fm[3];
	memcpy(fm, m.ram + bi.modules, sizeof(fm));
	EXPECT_EQ(0x104000, fm[0].addr);
	EXPECT_EQ(sizeof(a), fm[0].size);
	EXPECT_STREQ("a.elf", fm[0].name);
	EXPECT_EQ(0x105000, fm[1].addr);
	EXPECT_EQ(sizeof(b), fm[1].size);
	EXPECT_STREQ("b", fm[1].name);
	EXPECT_EQ(0x107000, fm[2].addr);
	EXPECT_EQ(0, fm[2].size);
	EXPECT_EQ(0x107000, bi.free_start);
	EXPECT_EQ(0, memcmp(m.ram + fm[0].addr, a, sizeof(a)));
	EXPECT_EQ(0, memcmp(m.ram + fm[1].addr, b, sizeof(b)));
	mem_fini(&m);
}

TEST(kernel, modules_rejected_leave_ram_alone)
{
	struct mem m;
	ASSERT_EQ(0, setup(&m));
	struct facet_bootinfo before, after;
	memcpy(&before, m.ram + FACET_BOOTINFO_ADDR, sizeof(before));
	static struct boot_module many[FACET_MODULES_MAX + 1];
	for (unsigned k = 0; k <= FACET_MODULES_MAX; k++)
		many[k] = (struct boot_module){ "m", NULL, 0 };
	char err[128] = "";
	EXPECT_EQ(-1, boot_add_modules(&m, many, FACET_MODULES_MAX + 1, err, sizeof(err)));
	EXPECT_TRUE(strstr(err, "too many modules") != NULL);
	const struct boot_module big = { "big", NULL, RUNNER_MEM };
	EXPECT_EQ(-1, boot_add_modules(&m, &big, 1, err, sizeof(err)));
	EXPECT_TRUE(strstr(err, "out of guest memory") != NULL);
	const struct boot_module longname = { "/x/a_module_name_that_is_much_longer_than_the_table_allows.elf", NULL, 0 };
	EXPECT_EQ(-1, boot_add_modules(&m, &longname, 1, err, sizeof(err)));
	EXPECT_TRUE(strstr(err, "longer than") != NULL);
	EXPECT_EQ(0, boot_add_modules(&m, many, FACET_MODULES_MAX, err, sizeof(err)));
	memcpy(&after, m.ram + FACET_BOOTINFO_ADDR, sizeof(after));
	EXPECT_EQ(FACET_MODULES_MAX, after.nmodules);
	EXPECT_EQ(0, before.nmodules);
	mem_fini(&m);
}

/* Runs facet with argv (facet path first) and checks status 2 and one stderr line containing want. */
static void expect_cli_error(const char *const *argv, const char *want)
{
	struct guest_job j = { 0 };
	for (size_t k = 0; argv[k] && k < GUEST_MAX_ARGS - 1; k++)
		j.argv[k] = argv[k];
	guest_jobs_run(&j, 1, 60);
	EXPECT_EQ(2, j.status);
	const char *nl = strchr(j.err, '\n');
	if (!strstr(j.err, want) || !nl || nl[1])
		test_fail(__FILE__, __LINE__, "want one stderr line with \"%s\", got \"%s\"", want, j.err);
	guest_jobs_free(&j, 1);
}

TEST(kernel, module_errors_on_the_command_line)
{
	char facet[KT_PATH], kernel[KT_PATH], hello[KT_PATH], big[] = "/tmp/facet-kernel-test-XXXXXX";
	snprintf(facet, sizeof(facet), "%s/facet", test_build_dir());
	kernel_elf_path(kernel, sizeof(kernel));
	kernel_app_path(hello, sizeof(hello), "hello");
	const char *missing[] = { facet, "run", kernel, "--", hello, "/nonexistent/app.elf", NULL };
	expect_cli_error(missing, "cannot read /nonexistent/app.elf: No such file or directory");
	/* Too many modules needs more arguments than a guest_job holds: modules_rejected_leave_ram_alone covers it. */
	char longname[KT_PATH];
	snprintf(longname, sizeof(longname), "/tmp/facet-kernel-test-%d-a-module-name-too-long-for-the-table.elf",
		 (int)getpid());
	char *target = realpath(hello, NULL);
	ASSERT_TRUE(target != NULL);
	EXPECT_EQ(0, symlink(target, longname));
	free(target);
	const char *toolong[] = { facet, "run", kernel, "--", longname, NULL };
	expect_cli_error(toolong, "module name longer than 47 bytes");
	unlink(longname);
	int fd = mkstemp(big);
	ASSERT_TRUE(fd >= 0);
	EXPECT_EQ(0, ftruncate(fd, 12 << 20));
	close(fd);
	const char *oom[] = { facet, "run", "--mem", "8M", kernel, "--", big, NULL };
	expect_cli_error(oom, "out of guest memory for the modules");
	unlink(big);
}

TEST(kernel, kernel_sees_the_modules)
{
	struct kernel_run r = { .cpus = 1, .apps = { "hello", "sum" } };
	kernel_runs(&r, 1);
	EXPECT_KERNEL_STATUS(&r, 0);
	for (int k = 0; k < 2 && r.job.out; k++) {
		char line[128];
		struct stat st;
		kernel_app_path(line, sizeof(line), r.apps[k]);
		ASSERT_EQ(0, stat(line, &st));
		snprintf(line, sizeof(line), "kernel: module %d: %s.elf, %lld bytes", k, r.apps[k], (long long)st.st_size);
		EXPECT_LINE("modules", r.job.out, line);
	}
	kernel_runs_free(&r, 1);
}
