/* SPDX-License-Identifier: MIT */
/* Console (0xE9) and exit (0xF4) ports; see devices.h. */
#include "vmm/devices.h"

#include "../../abi/bootinfo.h"
#include "cpu/cpu.h"
#include "vmm/machine.h"

static u32 console_in(void *opaque, u16 port, unsigned size)
{
	(void)opaque, (void)port, (void)size;
	return 0xe9; // Bochs and QEMU answer reads of the debug port with its number
}

static void console_out(void *opaque, u16 port, unsigned size, u32 val)
{
	struct machine *mc = opaque;
	(void)port, (void)size;
	if (mc->console)
		fputc((int)(val & 0xff), mc->console);
}

static void exit_out(void *opaque, u16 port, unsigned size, u32 val)
{
	struct machine *mc = opaque;
	(void)port, (void)size;
	mc->exited = true;
	mc->exit_status = (u8)val;
	for (unsigned k = 0; k < mc->ncpus; k++)
		mc->cpus[k].stop_request = true;
}

void devices_attach(struct machine *mc)
{
	mem_io_attach(&mc->mem, FACET_PORT_CONSOLE, 1, console_in, console_out, mc);
	mem_io_attach(&mc->mem, FACET_PORT_EXIT, 1, NULL, exit_out, mc);
}
