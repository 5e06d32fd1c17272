/* SPDX-License-Identifier: MIT */
/*
 * Runs the registered tests (see test.h): `runner [FILTER]` runs those
 * whose "group.name" contains FILTER. Prints each failure as it happens
 * and ends with "N passed, N failed"; exits 1 if anything failed.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECK() __lsan_do_recoverable_leak_check()
#else
#define LEAK_CHECK() 0
#endif

static struct test *head, **tail = &head;
static struct test *current;
static int current_failures;

void test_register(struct test *t)
{
	*tail = t;
	tail = &t->next;
}

int test_failures(void)
{
	return current_failures;
}

const char *test_build_dir(void)
{
	const char *d = getenv("FACET_BUILD");
	return d && *d ? d : "build";
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stdout, "%s:%d: %s.%s: ", file, line, current->group, current->name);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	current_failures++;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : "";
	int passed = 0, failed = 0;
	char full[256];
	for (current = head; current; current = current->next) {
		snprintf(full, sizeof(full), "%s.%s", current->group, current->name);
		if (!strstr(full, filter))
			continue;
		current_failures = 0;
		current->fn();
		if (current_failures)
			failed++, printf("FAIL %s\n", full);
		else
			passed++;
		fflush(stdout);
	}
	if (LEAK_CHECK()) {
		printf("FAIL leak check: memory leaked (see the report above)\n");
		failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
