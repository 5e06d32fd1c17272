/* SPDX-License-Identifier: MIT */
/*
 * The kernel console (port 0xE9, one byte per OUT), the end of a run
 * (port 0xF4) and the kernel command line.
 *
 * Several vCPUs print at once, so every kprintf call formats its text
 * first and writes it under the console lock: lines from different vCPUs
 * and processes never interleave within a line. The lock is a ticket-free
 * XCHG spinlock (kernel.h); it is never held across anything that waits.
 */
#include "kernel.h"

static struct spinlock con_lock;
static char kcmdline_buf[FACET_CMDLINE_MAX];

void console_lock(void)
{
	spin_lock(&con_lock);
}

void console_unlock(void)
{
	spin_unlock(&con_lock);
}

void console_reset_for_panic(void)
{
	/* Another vCPU lets go within a line; only a holder that is this very vCPU never does. */
	for (unsigned k = 0; k < 10000000 && con_lock.locked; k++)
		cpu_pause();
	con_lock.locked = 0;
}

void console_put(const char *s, size_t n)
{
	while (n--)
		outb(FACET_PORT_CONSOLE, (uint8_t)*s++);
}

static int vkprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	console_lock();
	console_put(buf, len);
	console_unlock();
	return (int)len;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vkprintf(fmt, ap);
	va_end(ap);
	return n;
}

void kexit(int status)
{
	outb(FACET_PORT_EXIT, (uint8_t)status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void kpanic(const char *fmt, ...)
{
	va_list ap;
	char buf[400];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("kernel panic: %s\n", buf);
	kexit(KERNEL_PANIC_STATUS);
}

void kcmdline_init(const char *s, uint64_t len)
{
	if (len >= sizeof(kcmdline_buf))
		len = sizeof(kcmdline_buf) - 1;
	memcpy(kcmdline_buf, s, len);
	kcmdline_buf[len] = '\0';
	kcfg.cmdline = kcmdline_buf;
}

/* Returns the start of KEY's value (after "KEY="), of the bare word KEY (pointing at its end), or NULL. */
static const char *find_key(const char *key)
{
	size_t klen = strlen(key);
	for (const char *s = kcmdline_buf; *s;) {
		while (*s == ' ')
			s++;
		if (!strncmp(s, key, klen) && (s[klen] == '=' || s[klen] == ' ' || s[klen] == '\0'))
			return s[klen] == '=' ? s + klen + 1 : s + klen;
		while (*s && *s != ' ')
			s++;
	}
	return NULL;
}

uint64_t kcmdline_u64(const char *key, uint64_t dflt)
{
	const char *s = find_key(key);
	if (!s || *s < '0' || *s > '9')
		return dflt;
	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

bool kcmdline_has(const char *word)
{
	return find_key(word) != NULL;
}

bool kcmdline_str(const char *key, char *buf, size_t len)
{
	const char *s = find_key(key);
	if (!s || !len)
		return false;
	size_t n = 0;
	while (s[n] && s[n] != ' ' && n + 1 < len)
		n++;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

bool klist_has(const char *list, const char *word)
{
	size_t wlen = strlen(word);
	for (const char *s = list; *s;) {
		size_t n = 0;
		while (s[n] && s[n] != ',')
			n++;
		if (n == wlen && !strncmp(s, word, n))
			return true;
		s += n + (s[n] == ',');
	}
	return false;
}
