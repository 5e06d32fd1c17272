/* SPDX-License-Identifier: MIT */
/*
 * Console output and the end of a run (libc.h). The console is port 0xE9
 * (Facet's console, QEMU's debugcon, Bochs's port_e9_hack): one byte per
 * OUT. exit() writes its status to port 0xF4, which ends the run under
 * Facet and under QEMU's isa-debug-exit; Bochs has no such device, so
 * exit() goes on to Bochs's shutdown port 0x8900 and halts for good.
 */
#include "io.h"
#include "libc.h"

#define PORT_BOCHS_SHUTDOWN 0x8900

const struct facet_bootinfo *guest_bootinfo;

void console_write(const char *s, size_t n)
{
	while (n--)
		outb(FACET_PORT_CONSOLE, (uint8_t)*s++);
}

int putchar(int c)
{
	outb(FACET_PORT_CONSOLE, (uint8_t)c);
	return (unsigned char)c;
}

int puts(const char *s)
{
	size_t n = strlen(s);
	console_write(s, n);
	putchar('\n');
	return (int)n + 1;
}

void exit(int status)
{
	static const char shutdown[] = "Shutdown";
	outb(FACET_PORT_EXIT, (uint8_t)status);
	for (const char *p = shutdown; *p; p++)
		outb(PORT_BOCHS_SHUTDOWN, (uint8_t)*p);
	for (;;)
		cli_hlt();
}

void panic(const char *fmt, ...)
{
	va_list ap;
	printf("panic: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(99);
}
