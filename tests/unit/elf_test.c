/* SPDX-License-Identifier: MIT */
/*
 * Bad input for the ELF loader (issue 2, item 6). Every case starts from a
 * small valid ELF64 image built here, byte by byte, breaks one thing, and
 * checks two ways in: elf_load() must return -1 with a one-line reason
 * naming the problem and leave RAM untouched, and `facet run` must print
 * exactly one error line naming it and exit with status 2 (never crash,
 * never run the guest). Files that cannot be read (missing, a directory)
 * are checked through `facet run` only.
 *
 * The valid image: a text segment (R+X) at 1 MiB with the entry point,
 * and a data segment (R+W) with a .bss tail. Its code writes 42 to the
 * exit port, so a successful run exits with status 42.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mem/mem.h"
#include "test.h"
#include "vmm/boot.h"
#include "vmm/elf.h"

#define IMG_MEM (16ULL << 20) // RAM of both the unit machine and `facet run --mem 16M`
#define TEXT_ADDR 0x100000ULL
#define DATA_ADDR 0x101000ULL
#define TEXT_OFF 0x100
#define DATA_OFF 0x180
#define DATA_LEN 16
#define IMG_LEN (DATA_OFF + DATA_LEN)

extern char **environ;

/* The file image: its first bytes are the ELF header and two program headers, as in the file. */
struct img {
	union {
		u8 b[IMG_LEN];
		struct {
			Elf64_Ehdr eh;
			Elf64_Phdr ph[2];
		};
	};
	size_t len;
};

static const u8 text[] = { 0xb0, 0x2a, 0xe6, 0xf4, 0xf4 }; // mov al, 42; out 0xf4, al; hlt

static void make_valid(struct img *im)
{
	memset(im, 0, sizeof(*im));
	memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
	im->eh.e_ident[EI_CLASS] = ELFCLASS64;
	im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh.e_ident[EI_VERSION] = EV_CURRENT;
	im->eh.e_type = ET_EXEC;
	im->eh.e_machine = EM_X86_64;
	im->eh.e_version = EV_CURRENT;
	im->eh.e_entry = TEXT_ADDR;
	im->eh.e_phoff = offsetof(struct img, ph);
	im->eh.e_ehsize = sizeof(Elf64_Ehdr);
	im->eh.e_phentsize = sizeof(Elf64_Phdr);
	im->eh.e_phnum = 2;
	im->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = TEXT_OFF,
				  .p_vaddr = TEXT_ADDR, .p_paddr = TEXT_ADDR, .p_filesz = sizeof(text),
				  .p_memsz = 0x1000, .p_align = 0x1000 };
	im->ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = DATA_OFF,
				  .p_vaddr = DATA_ADDR, .p_paddr = DATA_ADDR, .p_filesz = DATA_LEN,
				  .p_memsz = 0x2000, .p_align = 0x1000 };
	memcpy(im->b + TEXT_OFF, text, sizeof(text));
	memset(im->b + DATA_OFF, 0x5a, DATA_LEN);
	im->len = IMG_LEN;
}

/* The boot stack starts here in a 16 MiB machine (the loader's reserved_hi). */
#define STACK_BOTTOM (IMG_MEM - BOOT_STACK_SIZE)

/* One way to break the valid image, and a word the error must contain. */
struct bad_case {
	const char *name;
	void (*mutate)(struct img *im);
	const char *want;
};

static void empty(struct img *im) { im->len = 0; }
static void magic_only(struct img *im) { im->len = SELFMAG; }
static void short_header(struct img *im) { im->len = 40; }
static void no_phdrs_in_file(struct img *im) { im->len = 0x60; }
static void cut_in_data(struct img *im) { im->len = DATA_OFF + 4; }
static void bad_magic(struct img *im) { im->b[1] = 'X'; }
static void text_file(struct img *im) { memcpy(im->b, "#!/bin/sh\n", 10); }
static void elf32(struct img *im) { im->eh.e_ident[EI_CLASS] = ELFCLASS32; }
static void elf32_short(struct img *im) { im->eh.e_ident[EI_CLASS] = ELFCLASS32, im->len = 52; }
static void big_endian(struct img *im) { im->eh.e_ident[EI_DATA] = ELFDATA2MSB; }
static void aarch64(struct img *im) { im->eh.e_machine = EM_AARCH64; }
static void i386(struct img *im) { im->eh.e_machine = EM_386; }
static void dyn(struct img *im) { im->eh.e_type = ET_DYN; }
static void rel(struct img *im) { im->eh.e_type = ET_REL; }
static void phentsize(struct img *im) { im->eh.e_phentsize = 32; }
static void phnum0(struct img *im) { im->eh.e_phnum = 0; }
static void phoff_far(struct img *im) { im->eh.e_phoff = 0x10000; }
static void phoff_wraps(struct img *im) { im->eh.e_phoff = ~0ULL - 8; }
static void phnum_big(struct img *im) { im->eh.e_phnum = 0xffff; }
static void seg_offset_far(struct img *im) { im->ph[1].p_offset = 0x100000; }
static void seg_filesz_big(struct img *im) { im->ph[1].p_filesz = 0x1000, im->ph[1].p_memsz = 0x1000; }
static void seg_filesz_wraps(struct img *im) { im->ph[1].p_filesz = ~0ULL - 0x100; }
static void filesz_gt_memsz(struct img *im) { im->ph[1].p_memsz = DATA_LEN - 1; }
static void vaddr_ne_paddr(struct img *im) { im->ph[1].p_vaddr = DATA_ADDR + 0x1000; }

static void place_data(struct img *im, u64 addr, u64 memsz)
{
	im->ph[1].p_vaddr = im->ph[1].p_paddr = addr;
	im->ph[1].p_memsz = memsz;
}

static void above_ram(struct img *im) { place_data(im, 1ULL << 30, 0x1000); }
static void across_ram_end(struct img *im) { place_data(im, IMG_MEM - 0x1000, 0x2000); }
static void addr_wraps(struct img *im) { place_data(im, ~0ULL - 0xfff, 0x2000); }
static void memsz_huge(struct img *im) { place_data(im, DATA_ADDR, ~0ULL); }
static void low_memory(struct img *im) { place_data(im, 0x1000, 0x1000); }
static void page_zero(struct img *im) { place_data(im, 0, 0x10); }
static void into_stack(struct img *im) { place_data(im, STACK_BOTTOM - 0x1000, 0x2000); }
static void in_stack(struct img *im) { place_data(im, IMG_MEM - 0x2000, 0x1000); }
static void entry_far(struct img *im) { im->eh.e_entry = 0x800000; }
static void entry_in_data(struct img *im) { im->eh.e_entry = DATA_ADDR + 8; }
static void entry_past_text(struct img *im) { im->eh.e_entry = TEXT_ADDR + 0x1000; }
static void entry_wraps(struct img *im) { im->eh.e_entry = ~0ULL; }
static void no_load(struct img *im) { im->ph[0].p_type = im->ph[1].p_type = PT_NOTE; }

static const struct bad_case bad_cases[] = {
	{ "empty", empty, "empty file" },
	{ "magic_only", magic_only, "truncated ELF header" },
	{ "short_header", short_header, "truncated ELF header" },
	{ "no_phdrs_in_file", no_phdrs_in_file, "program header table" },
	{ "cut_in_data", cut_in_data, "segment 1: file data" },
	{ "bad_magic", bad_magic, "bad magic" },
	{ "text_file", text_file, "bad magic" },
	{ "elf32", elf32, "not ELF64" },
	{ "elf32_short", elf32_short, "not ELF64" },
	{ "big_endian", big_endian, "big-endian" },
	{ "aarch64", aarch64, "not an x86-64 executable" },
	{ "i386", i386, "not an x86-64 executable" },
	{ "dyn", dyn, "ET_DYN" },
	{ "rel", rel, "ET_REL" },
	{ "phentsize", phentsize, "program header entry size" },
	{ "phnum0", phnum0, "no program headers" },
	{ "phoff_far", phoff_far, "program header table" },
	{ "phoff_wraps", phoff_wraps, "program header table" },
	{ "phnum_big", phnum_big, "program header table" },
	{ "seg_offset_far", seg_offset_far, "segment 1: file data" },
	{ "seg_filesz_big", seg_filesz_big, "segment 1: file data" },
	{ "seg_filesz_wraps", seg_filesz_wraps, "segment 1: file data" },
	{ "filesz_gt_memsz", filesz_gt_memsz, "file size 0x10 larger than memory size" },
	{ "vaddr_ne_paddr", vaddr_ne_paddr, "differs from physical" },
	{ "above_ram", above_ram, "outside guest RAM" },
	{ "across_ram_end", across_ram_end, "outside guest RAM" },
	{ "addr_wraps", addr_wraps, "outside guest RAM" },
	{ "memsz_huge", memsz_huge, "outside guest RAM" },
	{ "low_memory", low_memory, "reserved low memory" },
	{ "page_zero", page_zero, "reserved low memory" },
	{ "into_stack", into_stack, "boot stack" },
	{ "in_stack", in_stack, "boot stack" },
	{ "entry_far", entry_far, "entry point 0x800000" },
	{ "entry_in_data", entry_in_data, "entry point" },
	{ "entry_past_text", entry_past_text, "entry point" },
	{ "entry_wraps", entry_wraps, "entry point" },
	{ "no_load", no_load, "no PT_LOAD" },
};

/* Loads im into a fresh 16 MiB RAM with the runner's reserved ranges; returns elf_load's result. */
static int load(const struct img *im, struct mem *m, struct elf_image *out, char *err, size_t errlen)
{
	if (mem_init(m, IMG_MEM))
		return -2;
	return elf_load(m, im->len ? im->b : NULL, im->len, boot_reserved_lo(), boot_stack_bottom(m), out, err, errlen);
}

static bool all_zero(const u8 *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (p[k])
			return false;
	return true;
}

TEST(elf, valid_image_loads)
{
	struct img im;
	struct mem m;
	struct elf_image out;
	char err[256] = "";
	make_valid(&im);
	ASSERT_EQ(0, load(&im, &m, &out, err, sizeof(err)));
	EXPECT_EQ(TEXT_ADDR, out.entry);
	EXPECT_EQ(TEXT_ADDR, out.lo);
	EXPECT_EQ(DATA_ADDR + 0x2000, out.hi);
	EXPECT_EQ(0, memcmp(m.ram + TEXT_ADDR, text, sizeof(text)));
	EXPECT_EQ(0x5a, m.ram[DATA_ADDR + DATA_LEN - 1]);
	EXPECT_TRUE(all_zero(m.ram + DATA_ADDR + DATA_LEN, 0x2000 - DATA_LEN));
	mem_fini(&m);
}

TEST(elf, bad_images_rejected)
{
	for (size_t k = 0; k < ARRAY_SIZE(bad_cases); k++) {
		const struct bad_case *bc = &bad_cases[k];
		struct img im;
		struct mem m;
		struct elf_image out;
		char err[256] = "";
		make_valid(&im);
		bc->mutate(&im);
		int rc = load(&im, &m, &out, err, sizeof(err));
		if (rc != -1 || !strstr(err, bc->want) || strchr(err, '\n'))
			test_fail(__FILE__, __LINE__, "case %s: want -1 and an error with \"%s\", got %d \"%s\"", bc->name,
				  bc->want, rc, err);
		if (rc != -2 && (!all_zero(m.ram + TEXT_ADDR, 0x3000) || !all_zero(m.ram + 0x1000, 0x1000)))
			test_fail(__FILE__, __LINE__, "case %s: RAM was written although the image was rejected", bc->name);
		if (rc != -2)
			mem_fini(&m);
	}
}

/* The result of one `facet run`: how it ended and what it wrote to stderr. */
struct run {
	int status;  // exit status, or -1 when it did not exit normally
	int signal;  // the signal that ended it, or 0
	char err[1024];
};

/* Runs `facet run --mem 16M path` with stdout discarded and stderr kept in dir/stderr. */
static int run_facet(const char *dir, const char *path, struct run *r)
{
	char facet[512], errpath[512];
	snprintf(facet, sizeof(facet), "%s/facet", test_build_dir());
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	char *argv[] = { facet, "run", "--mem", "16M", (char *)path, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pid_t pid;
	int rc = posix_spawn(&pid, facet, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	int ws;
	if (rc || waitpid(pid, &ws, 0) != pid)
		return -1;
	r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	r->signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
	FILE *f = fopen(errpath, "r");
	size_t n = f ? fread(r->err, 1, sizeof(r->err) - 1, f) : 0;
	r->err[n] = 0;
	if (f)
		fclose(f);
	unlink(errpath);
	return 0;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Checks that `facet run path` failed as a load error: status 2, one stderr line with `want` and the path. */
static void expect_load_error(const char *dir, const char *path, const char *name, const char *want)
{
	struct run r;
	if (run_facet(dir, path, &r)) {
		test_fail(__FILE__, __LINE__, "case %s: cannot start %s/facet: %s", name, test_build_dir(), strerror(errno));
		return;
	}
	size_t len = strlen(r.err);
	if (r.status != 2 || count_lines(r.err) != 1 || len == 0 || r.err[len - 1] != '\n' || !strstr(r.err, want) ||
	    !strstr(r.err, path))
		test_fail(__FILE__, __LINE__,
			  "case %s: want status 2 and one stderr line naming %s with \"%s\", got status %d (signal %d), stderr:\n%s",
			  name, path, want, r.status, r.signal, r.err);
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t n = fwrite(data, 1, len, f);
	return fclose(f) || n != len ? -1 : 0;
}

TEST(elf, facet_run_rejects_bad_images)
{
	char dir[] = "/tmp/facet-elf-XXXXXX", path[64];
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/guest.elf", dir);
	for (size_t k = 0; k < ARRAY_SIZE(bad_cases); k++) {
		struct img im;
		make_valid(&im);
		bad_cases[k].mutate(&im);
		if (write_file(path, im.b, im.len)) {
			test_fail(__FILE__, __LINE__, "cannot write %s", path);
			break;
		}
		expect_load_error(dir, path, bad_cases[k].name, bad_cases[k].want);
	}
	unlink(path);
	expect_load_error(dir, dir, "directory", "Is a directory");
	expect_load_error(dir, path, "missing", "No such file");
	rmdir(dir);
}

TEST(elf, facet_run_accepts_valid_image)
{
	char dir[] = "/tmp/facet-elf-XXXXXX", path[64];
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/guest.elf", dir);
	struct img im;
	make_valid(&im);
	struct run r = { .status = -1 };
	if (write_file(path, im.b, im.len) == 0 && run_facet(dir, path, &r) == 0) {
		/* Status 42 once MOV and OUT are implemented, 3 (#UD report) before: never a load error. */
		EXPECT_TRUE(r.status == 42 || r.status == 3);
		EXPECT_TRUE(strstr(r.err, path) == NULL);
	} else {
		test_fail(__FILE__, __LINE__, "cannot write or run %s", path);
	}
	unlink(path);
	rmdir(dir);
}
