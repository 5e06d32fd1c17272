/* SPDX-License-Identifier: MIT */
/*
 * The debug devices every Facet guest can rely on, compatible with QEMU's
 * debugcon and isa-debug-exit: port 0xE9 prints a byte on the console,
 * a write of N to port 0xF4 ends the run with exit status N.
 */
#ifndef FACET_DEVICES_H
#define FACET_DEVICES_H

struct machine;

/* Attaches the console and the exit port to the machine's I/O bus. */
void devices_attach(struct machine *mc);

#endif
