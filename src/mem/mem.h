/* SPDX-License-Identifier: MIT */
/*
 * Host-physical memory of one machine: the guest RAM backing, the per-page
 * "holds decoded code" marks that keep the decode cache coherent, and the
 * port I/O bus that devices attach to.
 *
 * Host-physical addresses (hpa_t) are offsets into the RAM backing; frame
 * 0 is the first byte of RAM. Anything at or above the RAM size is not
 * memory (later issues map MMIO there).
 */
#ifndef FACET_MEM_H
#define FACET_MEM_H

#include "lib/types.h"

#define IO_PORTS 65536

/* A port I/O handler: reads return the value, writes receive it (size 1, 2 or 4). */
typedef u32 (*io_in_fn)(void *opaque, u16 port, unsigned size);
typedef void (*io_out_fn)(void *opaque, u16 port, unsigned size, u32 val);

struct io_port {
	io_in_fn in;   // NULL: reads return all ones, as an empty ISA bus does
	io_out_fn out; // NULL: writes are dropped
	void *opaque;
};

struct mem {
	u8 *ram;          // RAM backing, `size` bytes, page aligned (owned)
	u64 size;         // RAM size in bytes, a multiple of 4 KiB
	u8 *code;         // one byte per frame: nonzero when decoded code came from it (owned)
	struct io_port *io; // IO_PORTS entries (owned)
	u8 *ones;         // a read-only page of 0xFF: what reads of unbacked addresses see (owned)
	u8 *sink;         // a page where writes to unbacked addresses go (owned)
};

/* True when host-physical page `page` is RAM. */
static inline bool mem_is_ram(const struct mem *m, hpa_t page)
{
	return page < m->size;
}

/* Allocates `size` bytes of zeroed RAM. Returns 0 or -errno (size not page aligned, no memory). */
must_check int mem_init(struct mem *m, u64 size);
/* Frees what mem_init allocated. */
void mem_fini(struct mem *m);
/* Returns the host pointer for hpa, or NULL when [hpa, hpa+len) is not all RAM. */
void *mem_hpa_ptr(struct mem *m, hpa_t hpa, u64 len);
/* Copies len bytes of host data into RAM at hpa; returns 0 or -EFAULT. */
must_check int mem_write_phys(struct mem *m, hpa_t hpa, const void *src, u64 len);
/* Attaches handlers to ports [first, first+count). */
void mem_io_attach(struct mem *m, u16 first, unsigned count, io_in_fn in, io_out_fn out, void *opaque);
/* Performs a port read or write through the attached handlers. */
u32 mem_io_in(struct mem *m, u16 port, unsigned size);
void mem_io_out(struct mem *m, u16 port, unsigned size, u32 val);

#endif
