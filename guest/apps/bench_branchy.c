/* SPDX-License-Identifier: MIT */
/*
 * Benchmark guest: branchy integer work, the opposite of bench_hash's
 * straight-line arithmetic. A small register bytecode interpreter (one
 * switch per bytecode, so indirect jumps and unpredictable branches) runs
 * two programs: the total Collatz steps of 1..N and a count of primes
 * below M by trial division. A native sieve of Eratosthenes follows.
 * Each result is checked against plain C in the guest. Prints
 *   bench_branchy: collatz=C primes=P sieve=S checksum=X ok
 *   bench_branchy: rdtsc T
 * Sizes scale with the command line's scale=K (collatz 1..1250K, primes
 * below 5000K, sieve below 500000K); the default run retires a few
 * hundred million instructions.
 */
#include "io.h"
#include "libc.h"
#include "rand.h"

enum vm_op { LI, MOV, ADD, ADDI, MUL, ANDI, SHRI, MOD, JEQ, JZ, JLE, JMP, HALT };

struct vm_insn {
	uint8_t op, a, b, c; // registers
	int32_t imm;         // immediate or jump target
};

#define NREGS 8
#define BENCH_SCALE 16 // default scale=

/* Runs prog from instruction 0 until HALT; returns r3. */
__attribute__((noinline)) static uint64_t vm_run(const struct vm_insn *prog, uint64_t *r)
{
	for (const struct vm_insn *p = prog;; p++) {
		switch (p->op) {
		case LI: r[p->a] = (uint64_t)(int64_t)p->imm; break;
		case MOV: r[p->a] = r[p->b]; break;
		case ADD: r[p->a] = r[p->b] + r[p->c]; break;
		case ADDI: r[p->a] = r[p->b] + (uint64_t)(int64_t)p->imm; break;
		case MUL: r[p->a] = r[p->b] * r[p->c]; break;
		case ANDI: r[p->a] = r[p->b] & (uint64_t)(int64_t)p->imm; break;
		case SHRI: r[p->a] = r[p->b] >> (p->imm & 63); break;
		case MOD: r[p->a] = r[p->c] ? r[p->b] % r[p->c] : 0; break;
		case JEQ: if (r[p->a] == r[p->b]) p = prog + p->imm - 1; break;
		case JZ: if (!r[p->a]) p = prog + p->imm - 1; break;
		case JLE: if (r[p->a] <= r[p->b]) p = prog + p->imm - 1; break;
		case JMP: p = prog + p->imm - 1; break;
		case HALT: return r[3];
		}
	}
}

/* r3 = total Collatz steps of 1..r1. r0 n, r2 x, r4 scratch, r5 = 1, r6 = 3. */
static const struct vm_insn collatz_prog[] = {
	/* 0 */ { LI, 0, 0, 0, 1 },    { LI, 3, 0, 0, 0 },    { LI, 5, 0, 0, 1 },    { LI, 6, 0, 0, 3 },
	/* 4 */ { MOV, 2, 0, 0, 0 },   { JEQ, 2, 5, 0, 14 },  { ANDI, 4, 2, 0, 1 },  { JZ, 4, 0, 0, 11 },
	/* 8 */ { MUL, 2, 2, 6, 0 },   { ADDI, 2, 2, 0, 1 },  { JMP, 0, 0, 0, 12 },  { SHRI, 2, 2, 0, 1 },
	/* 12 */ { ADDI, 3, 3, 0, 1 }, { JMP, 0, 0, 0, 5 },   { JEQ, 0, 1, 0, 17 },  { ADDI, 0, 0, 0, 1 },
	/* 16 */ { JMP, 0, 0, 0, 4 },  { HALT, 0, 0, 0, 0 },
};

/* r3 = number of primes in [2, r1). r0 n, r2 d, r4 d*d or n % d. */
static const struct vm_insn primes_prog[] = {
	/* 0 */ { LI, 3, 0, 0, 0 },    { LI, 0, 0, 0, 2 },    { JLE, 1, 0, 0, 14 },  { LI, 2, 0, 0, 2 },
	/* 4 */ { MUL, 4, 2, 2, 0 },   { JLE, 4, 0, 0, 7 },   { JMP, 0, 0, 0, 11 },  { MOD, 4, 0, 2, 0 },
	/* 8 */ { JZ, 4, 0, 0, 12 },   { ADDI, 2, 2, 0, 1 },  { JMP, 0, 0, 0, 4 },   { ADDI, 3, 3, 0, 1 },
	/* 12 */ { ADDI, 0, 0, 0, 1 }, { JMP, 0, 0, 0, 2 },   { HALT, 0, 0, 0, 0 },
};

static uint64_t vm_collatz(uint64_t n)
{
	uint64_t r[NREGS] = { 0 };
	r[1] = n;
	return vm_run(collatz_prog, r);
}

static uint64_t vm_primes(uint64_t m)
{
	uint64_t r[NREGS] = { 0 };
	r[1] = m;
	return vm_run(primes_prog, r);
}

static uint64_t c_collatz(uint64_t n)
{
	uint64_t steps = 0;
	for (uint64_t k = 1; k <= n; k++)
		for (uint64_t x = k; x != 1; steps++)
			x = x & 1 ? 3 * x + 1 : x >> 1;
	return steps;
}

static uint64_t c_primes(uint64_t m)
{
	uint64_t count = 0;
	for (uint64_t k = 2; k < m; k++) {
		uint64_t d = 2;
		while (d * d <= k && k % d)
			d++;
		count += d * d > k;
	}
	return count;
}

/* Counts primes below n with a byte sieve in free memory. */
static uint64_t sieve(uint8_t *composite, uint64_t n)
{
	uint64_t count = 0;
	memset(composite, 0, n);
	for (uint64_t k = 2; k < n; k++) {
		if (composite[k])
			continue;
		count++;
		for (uint64_t m = k * k; m < n; m += k)
			composite[m] = 1;
	}
	return count;
}

int main(const struct facet_bootinfo *bi)
{
	uint64_t scale = cmdline_u64("scale", BENCH_SCALE);
	uint64_t cn = 1250 * scale, pm = 5000 * scale, sn = 500000 * scale;
	if (sn > bi->stack_bottom - bi->free_start)
		panic("bench_branchy: scale %llu too large for free memory", (unsigned long long)scale);
	uint64_t t0 = rdtsc();
	uint64_t collatz = vm_collatz(cn), primes = vm_primes(pm);
	uint64_t sv = sieve((uint8_t *)(uintptr_t)bi->free_start, sn);
	uint64_t t1 = rdtsc();
	bool ok = collatz == c_collatz(cn) && primes == c_primes(pm);
	uint64_t sum = checksum_add(checksum_add(checksum_add(CHECKSUM_INIT, collatz), primes), sv);
	printf("bench_branchy: collatz=%llu primes=%llu sieve=%llu checksum=%016llx %s\n", (unsigned long long)collatz,
	       (unsigned long long)primes, (unsigned long long)sv, (unsigned long long)sum, ok ? "ok" : "MISMATCH");
	printf("bench_branchy: rdtsc %llu\n", (unsigned long long)(t1 - t0));
	return ok ? 0 : 1;
}
