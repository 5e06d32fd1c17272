/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM backing and port I/O dispatch (see mem.h).
 * RAM is one anonymous mapping, so untouched guest memory costs no host
 * memory; the code marks are one byte per frame for the same reason.
 */
#include "mem/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int mem_init(struct mem *m, u64 size)
{
	memset(m, 0, sizeof(*m));
	if (size == 0 || size % PAGE_SIZE)
		return -EINVAL;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	m->ram = p;
	m->size = size;
	m->code = calloc(size >> PAGE_SHIFT, 1);
	m->io = calloc(IO_PORTS, sizeof(*m->io));
	m->ones = malloc(PAGE_SIZE);
	m->sink = malloc(PAGE_SIZE);
	if (!m->code || !m->io || !m->ones || !m->sink) {
		mem_fini(m);
		return -ENOMEM;
	}
	memset(m->ones, 0xff, PAGE_SIZE);
	return 0;
}

void mem_fini(struct mem *m)
{
	if (m->ram)
		munmap(m->ram, m->size);
	free(m->code);
	free(m->io);
	free(m->ones);
	free(m->sink);
	memset(m, 0, sizeof(*m));
}

void *mem_hpa_ptr(struct mem *m, hpa_t hpa, u64 len)
{
	if (hpa >= m->size || len > m->size - hpa)
		return NULL;
	return m->ram + hpa;
}

int mem_write_phys(struct mem *m, hpa_t hpa, const void *src, u64 len)
{
	void *p = mem_hpa_ptr(m, hpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

void mem_io_attach(struct mem *m, u16 first, unsigned count, io_in_fn in, io_out_fn out, void *opaque)
{
	for (unsigned p = first; p < (unsigned)first + count && p < IO_PORTS; p++)
		m->io[p] = (struct io_port){ .in = in, .out = out, .opaque = opaque };
}

u32 mem_io_in(struct mem *m, u16 port, unsigned size)
{
	struct io_port *io = &m->io[port];
	if (!io->in)
		return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	return io->in(io->opaque, port, size);
}

void mem_io_out(struct mem *m, u16 port, unsigned size, u32 val)
{
	struct io_port *io = &m->io[port];
	if (io->out)
		io->out(io->opaque, port, size, val);
}
