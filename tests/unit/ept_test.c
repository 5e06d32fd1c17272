/* SPDX-License-Identifier: MIT */
/*
 * The EPT walk (src/mmu/ept.c) against the SDM (Vol. 3C 28.3, 27.2.1
 * table 27-7, 25.5.7.2) and against a reference model (STYLE T4).
 *
 * The model test builds random EPT hierarchies in RAM (4 KiB, 2 MiB and
 * 1 GiB leaves, random R/W/X/XU at every level, not-present entries with
 * junk in their ignored bits, random memory types, ignored bits and
 * initial A/D flags), and at the same time a flat table with one cell per
 * sampled 4 KiB guest page: present, effective R/W/X/XU, host address,
 * suppress-#VE and the builder's entries on the path. Random accesses go
 * to ept_walk and to the model, which must agree on status, reason, host
 * address, permissions, suppress-#VE and the qualification (computed in
 * the test from table 27-7); the A/D flags of every entry are compared
 * after each run. One run corrupts an entry behind the model's back and
 * must be caught. Directed tests cover the EPTP checks, every
 * misconfiguration, every R/W/X x access combination at every level, A/D
 * and the #VE information.
 */
#include <stdlib.h>

#include "mmu/ept.h"
#include "test.h"

#define RAM_SIZE (4ULL << 20)
#define ROOT 0x1000ULL   // the PML4 table of every hierarchy
#define WB_MT (6ULL << EPT_MT_SHIFT)

static u64 rng_state;

static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

struct env {
	struct mem m;
	hpa_t next; // next free table page
};

static u64 get(struct env *e, hpa_t pa)
{
	u64 v;
	memcpy(&v, e->m.ram + pa, 8);
	return v;
}

static void put(struct env *e, hpa_t pa, u64 v)
{
	memcpy(e->m.ram + pa, &v, 8);
}

static hpa_t new_table(struct env *e)
{
	hpa_t pa = e->next;
	e->next += PAGE_SIZE;
	memset(e->m.ram + pa, 0, PAGE_SIZE);
	return pa;
}

static bool env_init(struct env *e)
{
	if (mem_init(&e->m, RAM_SIZE))
		return false;
	e->next = ROOT;
	new_table(e);
	return true;
}

static void env_reset(struct env *e)
{
	memset(e->m.ram, 0, RAM_SIZE);
	e->next = ROOT + PAGE_SIZE;
}

static u64 eptp_of(bool ad)
{
	return ROOT | EPTP_MT_WB | EPTP_PWL4 | (ad ? EPTP_AD : 0);
}

/* Entry address for gpa at level in table. */
static hpa_t slot(hpa_t table, gpa_t gpa, unsigned level)
{
	return table + ((gpa >> (12 + 9 * (level - 1))) & 511) * 8;
}

/*
 * Builds a fresh path for gpa ending in a leaf at leaf_level (1-3) that
 * maps hpa; low[level] holds bits 11:0 and 63 of each entry (permissions,
 * memory type...). pa[level] receives each entry's address.
 */
static void chain(struct env *e, gpa_t gpa, unsigned leaf_level, const u64 low[5], hpa_t hpa, hpa_t pa[5])
{
	env_reset(e);
	hpa_t table = ROOT;
	for (unsigned l = 4; l > leaf_level; l--) {
		hpa_t next = new_table(e);
		pa[l] = slot(table, gpa, l);
		put(e, pa[l], next | low[l]);
		table = next;
	}
	pa[leaf_level] = slot(table, gpa, leaf_level);
	put(e, pa[leaf_level], hpa | low[leaf_level] | (leaf_level > 1 ? EPT_PS : 0));
}

/* The qualification by table 27-7, written from the access and the effective permissions. */
static u64 sdm_qual(const struct ept_access *a, bool ad, bool mbec, unsigned perm)
{
	u64 q = 0;
	bool pw = a->paging && ad; // guest paging-structure access with EPT A/D: both bits 0 and 1
	if (a->type == ACC_READ || pw)
		q |= 1ULL << 0;
	if (a->type == ACC_WRITE || pw)
		q |= 1ULL << 1;
	if (a->type == ACC_EXEC)
		q = 1ULL << 2;
	q |= (u64)(perm & 1) << 3 | (u64)((perm >> 1) & 1) << 4 | (u64)((perm >> 2) & 1) << 5;
	if (mbec)
		q |= (u64)((perm >> 3) & 1) << 6;
	if (a->gla_valid) {
		q |= 1ULL << 7;
		if (!a->paging)
			q |= 1ULL << 8 | (u64)a->user << 9 | (u64)a->gla_rw << 10 | (u64)a->gla_xd << 11;
	}
	return q;
}

/* True when the effective permissions perm allow access a (SDM 28.3.3.2). */
static bool sdm_allows(unsigned perm, const struct ept_access *a, bool ad, bool mbec)
{
	if (a->type == ACC_EXEC)
		return mbec && a->user ? (perm & 8) : (perm & 4);
	if (a->type == ACC_WRITE || (a->paging && ad))
		return perm & 2;
	return perm & 1;
}

static struct ept_access random_access(void)
{
	struct ept_access a = { .type = (enum access)(rnd() % 3) };
	a.paging = a.type != ACC_EXEC && rnd() % 4 == 0;
	a.user = rnd() & 1;
	a.gla_valid = rnd() % 8 != 0;
	a.gla_rw = rnd() & 1;
	a.gla_xd = rnd() & 1;
	a.gla = a.gla_valid ? rnd() & 0x7fffffffffffULL : 0;
	return a;
}

/* ---- the reference model ---- */

#define N4 2
#define N3 4
#define N2 6
#define N1 8
#define NCELLS (N4 * N3 * N2 * N1)
#define NNODES 1024
static const unsigned idx4[N4] = { 0, 511 };
static const unsigned idx3[N3] = { 0, 1, 255, 511 };
static const unsigned idx2[N2] = { 0, 1, 100, 300, 510, 511 };
static const unsigned idx1[N1] = { 0, 1, 2, 77, 200, 256, 400, 511 };

struct node {
	hpa_t pa;
	u64 val;     // as written, with the A/D flags the model expects now
	bool leaf;
};

struct cell {
	bool present;
	unsigned perm; // EPT_PERM_* ANDed over the path
	hpa_t hpa;     // 4 KiB frame
	bool sve;      // suppress-#VE of the leaf or the not-present entry
	int path[4];   // node numbers, PML4E first
	int depth;
	unsigned shift;
};

struct model {
	struct env *e;
	bool mbec, ad;
	struct node nodes[NNODES];
	int nnodes;
	struct cell cells[NCELLS];
};

static gpa_t cell_gpa(int c)
{
	int i1 = c % N1, i2 = c / N1 % N2, i3 = c / (N1 * N2) % N3, i4 = c / (N1 * N2 * N3);
	return (u64)idx4[i4] << 39 | (u64)idx3[i3] << 30 | (u64)idx2[i2] << 21 | (u64)idx1[i1] << 12;
}

/* Random permission bits: W only with R (no misconfigurations), XU at random. */
static u64 random_perm(void)
{
	u64 p = rnd() & (EPT_R | EPT_W | EPT_X | EPT_XU);
	if ((p & EPT_W) && !(p & EPT_R))
		p &= ~EPT_W;
	return p;
}

static bool model_present(const struct model *md, u64 v)
{
	return (v & 7) || (md->mbec && (v & EPT_XU));
}

/* Writes a random entry at pa for level; returns its node number. *table gets a new table for non-leaves. */
static int model_entry(struct model *md, hpa_t pa, unsigned level, bool *leaf, hpa_t *table)
{
	u64 v = random_perm() | (rnd() & (0x7ffULL << 52)) | (rnd() & (EPT_A | EPT_SVE)) | (rnd() & (1ULL << 11));
	*leaf = level == 1 || (level < 4 && rnd() % 3 == 0);
	if (!model_present(md, v)) {
		v |= rnd() & ~0xfULL & ~EPT_XU; // not present: bits 62:3 are ignored (junk, keeping it not present)
	} else if (*leaf) {
		static const u64 mts[] = { 0, 1, 4, 5, 6 };
		unsigned shift = 12 + 9 * (level - 1);
		v |= (rnd() & ((1ULL << MAXPHYADDR) - 1) & ~((1ULL << shift) - 1)) | mts[rnd() % 5] << EPT_MT_SHIFT;
		v |= (rnd() & (EPT_IPAT | EPT_D)) | (level == 1 ? rnd() & EPT_PS : EPT_PS);
	} else {
		*table = new_table(md->e);
		v |= *table | (rnd() & (1ULL << 9));
	}
	put(md->e, pa, v);
	md->nodes[md->nnodes] = (struct node){ .pa = pa, .val = v, .leaf = *leaf && model_present(md, v) };
	return md->nnodes++;
}

/* Fills the cells under node n (at level, covering cells whose coordinates above level match). */
static void model_fill(struct model *md, const int *path, int depth, unsigned level, int first, int count)
{
	const struct node *nd = &md->nodes[path[depth - 1]];
	for (int c = first; c < first + count; c++) {
		struct cell *cl = &md->cells[c];
		cl->depth = depth;
		memcpy(cl->path, path, sizeof(int) * (size_t)depth);
		cl->present = model_present(md, nd->val);
		cl->perm = 15;
		for (int d = 0; d < depth; d++)
			cl->perm &= (unsigned)(md->nodes[path[d]].val & 7) | ((md->nodes[path[d]].val & EPT_XU) ? 8 : 0);
		cl->sve = (nd->val & EPT_SVE) != 0;
		cl->shift = 12 + 9 * (level - 1);
		gpa_t gpa = cell_gpa(c);
		cl->hpa = (nd->val & EPT_ADDR & ~((1ULL << cl->shift) - 1)) | (gpa & ((1ULL << cl->shift) - 1) & PAGE_MASK);
	}
}

/* Builds the hierarchy below table (level) for cells [first, first + span*n). */
static void model_build(struct model *md, hpa_t table, unsigned level, int *path, int depth, int first)
{
	static const unsigned *idx[5] = { NULL, idx1, idx2, idx3, idx4 };
	static const int n[5] = { 0, N1, N2, N3, N4 };
	int span = 1;
	for (unsigned l = 1; l < level; l++)
		span *= n[l];
	for (int i = 0; i < n[level]; i++) {
		bool leaf;
		hpa_t next = 0;
		path[depth] = model_entry(md, table + idx[level][i] * 8, level, &leaf, &next);
		if (leaf || !model_present(md, md->nodes[path[depth]].val))
			model_fill(md, path, depth + 1, level, first + i * span, span);
		else
			model_build(md, next, level - 1, path, depth + 1, first + i * span);
	}
}

static void model_new(struct model *md, struct env *e, bool mbec, bool ad)
{
	int path[4];
	env_reset(e);
	md->e = e;
	md->mbec = mbec;
	md->ad = ad;
	md->nnodes = 0;
	model_build(md, ROOT, 4, path, 0, 0);
}

/* Runs access a at cell c with page offset off through both; returns the number of disagreements. */
static int model_check(struct model *md, int c, u64 off, const struct ept_access *a, bool report)
{
	struct cell *cl = &md->cells[c];
	gpa_t gpa = cell_gpa(c) | off;
	struct ept_walk w;
	enum ept_status st = ept_walk(&md->e->m, eptp_of(md->ad), md->mbec, gpa, a, &w);
	bool ok = cl->present && sdm_allows(cl->perm, a, md->ad, md->mbec);
	enum ept_status want = ok ? EPT_OK : EPT_VIOLATION;
	unsigned perm = cl->present ? cl->perm : 0;
	int bad = (st != want) + (w.status != st) + (w.perm != perm) + (cl->present && w.hpa != (cl->hpa | off)) +
		  (!ok && w.suppress_ve != cl->sve) + (!ok && ept_violation_qual(&w, a, md->mbec) !=
							      sdm_qual(a, md->ad, md->mbec, perm)) +
		  (cl->present && w.shift != cl->shift) + (!cl->present && w.reason != EPT_NOT_PRESENT);
	if (bad && report)
		test_fail(__FILE__, __LINE__, "gpa %#llx type %d paging %d: status %d want %d, perm %#x want %#x, hpa %#llx",
			  (unsigned long long)gpa, a->type, a->paging, st, want, w.perm, perm,
			  (unsigned long long)w.hpa);
	if (ok && md->ad) {
		for (int d = 0; d < cl->depth; d++)
			md->nodes[cl->path[d]].val |= EPT_A;
		if (a->type == ACC_WRITE || a->paging)
			md->nodes[cl->path[cl->depth - 1]].val |= EPT_D;
	}
	return bad;
}

/* Returns how many entries differ in RAM from what the model expects (A/D included). */
static int model_check_entries(struct model *md)
{
	int bad = 0;
	for (int n = 0; n < md->nnodes; n++)
		bad += get(md->e, md->nodes[n].pa) != md->nodes[n].val;
	return bad;
}

TEST(ept, model)
{
	struct env e;
	static struct model md;
	ASSERT_TRUE(env_init(&e));
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int run = 0; run < 300; run++) {
		model_new(&md, &e, rnd() & 1, rnd() & 1);
		int bad = 0;
		for (int i = 0; i < 400 && !bad; i++) {
			struct ept_access a = random_access();
			bad += model_check(&md, (int)(rnd() % NCELLS), rnd() & 0xfff, &a, true);
		}
		EXPECT_EQ(0, bad);
		EXPECT_EQ(0, model_check_entries(&md));
		if (test_failures())
			break;
	}
	mem_fini(&e.m);
}

/* A corrupted entry (one permission bit cleared behind the model's back) must be caught. */
TEST(ept, model_catches_injected_fault)
{
	struct env e;
	static struct model md;
	ASSERT_TRUE(env_init(&e));
	rng_state = 12345;
	int caught = 0, runs = 0;
	for (int tries = 0; tries < 1000 && runs < 20; tries++) {
		model_new(&md, &e, false, false);
		int c = -1;
		for (int k = 0; k < NCELLS && c < 0; k++)
			if (md.cells[k].present && (md.cells[k].perm & EPT_PERM_R))
				c = k;
		if (c < 0)
			continue; // no readable page in this hierarchy
		runs++;
		struct node *nd = &md.nodes[md.cells[c].path[0]]; // the PML4E on the cell's path
		put(&e, nd->pa, get(&e, nd->pa) & ~(EPT_R | EPT_W)); // now refuses reads, or is not present
		struct ept_access a = { .type = ACC_READ };
		caught += model_check(&md, c, 0, &a, false) > 0;
	}
	EXPECT_EQ(20, runs);
	EXPECT_EQ(20, caught);
	mem_fini(&e.m);
}

/* ---- directed tests ---- */

TEST(ept, eptp_valid)
{
	EXPECT_TRUE(ept_eptp_valid(0x5000 | EPTP_MT_WB | EPTP_PWL4));
	EXPECT_TRUE(ept_eptp_valid(0x5000 | EPTP_MT_UC | EPTP_PWL4 | EPTP_AD));
	EXPECT_TRUE(ept_eptp_valid(((1ULL << MAXPHYADDR) - PAGE_SIZE) | EPTP_MT_WB | EPTP_PWL4));
	for (u64 mt = 0; mt < 8; mt++)
		EXPECT_EQ(mt == 0 || mt == 6, ept_eptp_valid(0x5000 | mt | EPTP_PWL4));
	for (u64 pwl = 0; pwl < 8; pwl++)
		EXPECT_EQ(pwl == 3, ept_eptp_valid(0x5000 | EPTP_MT_WB | pwl << 3));
	for (unsigned bit = 7; bit < 12; bit++)
		EXPECT_TRUE(!ept_eptp_valid(0x5000 | EPTP_MT_WB | EPTP_PWL4 | 1ULL << bit));
	for (unsigned bit = MAXPHYADDR; bit < 64; bit++)
		EXPECT_TRUE(!ept_eptp_valid(0x5000 | EPTP_MT_WB | EPTP_PWL4 | 1ULL << bit));
	EXPECT_EQ(EPT_CAP_MODELED & EPT_CAP_ADV_EXIT_INFO, EPT_CAP_ADV_EXIT_INFO);
}

#define GPA 0x0000008040201000ULL // index 1 at every level (with a nonzero page offset added per test)

/* Builds a path for GPA: leaf at leaf_level, perm | extra_at at entry `at`, RWX and XU elsewhere; WB leaf. */
static void perm_chain(struct env *e, unsigned leaf_level, unsigned at, u64 perm, u64 extra_at, hpa_t pa[5])
{
	u64 low[5];
	for (unsigned l = 1; l <= 4; l++)
		low[l] = l == at ? perm | extra_at : EPT_R | EPT_W | EPT_X | EPT_XU;
	if (!(leaf_level == at && (extra_at & EPT_MT_MASK)))
		low[leaf_level] |= WB_MT; // unless the caller chose the leaf's memory type
	chain(e, GPA, leaf_level, low, 0x40000000ULL, pa);
}

/*
 * One case of the permission sweep: `perm` (bits 0-2, bit 3 for XU) at
 * entry `at` of a walk with a leaf at `leaf`, access kind 0 read, 1 write,
 * 2 supervisor fetch, 3 user fetch, 4 guest paging-structure read, 5 guest
 * paging-structure write (an A/D update).
 */
static void perm_case(struct env *e, unsigned leaf, unsigned at, unsigned perm, int kind, bool mbec, bool ad)
{
	hpa_t pa[5];
	u64 p = (perm & 7) | (perm & 8 ? EPT_XU : 0);
	perm_chain(e, leaf, at, p, 0, pa);
	static const enum access types[6] = { ACC_READ, ACC_WRITE, ACC_EXEC, ACC_EXEC, ACC_READ, ACC_WRITE };
	struct ept_access a = { .type = types[kind], .user = kind == 3, .paging = kind >= 4, .gla_valid = true,
				.gla = 0x1234 };
	struct ept_walk w;
	enum ept_status st = ept_walk(&e->m, eptp_of(ad), mbec, GPA | 0x123, &a, &w);
	bool present = (p & 7) || (mbec && (p & EPT_XU));
	if (present && (p & 3) == EPT_W) {
		EXPECT_EQ(EPT_MISCONFIG, st);
		EXPECT_EQ(EPT_MC_WRITE_NO_READ, w.reason);
		EXPECT_EQ(at, w.level);
		return;
	}
	unsigned eff = present ? perm : 0;
	bool ok = present && sdm_allows(eff, &a, ad, mbec);
	EXPECT_EQ(ok ? EPT_OK : EPT_VIOLATION, st);
	EXPECT_EQ(eff, w.perm);
	EXPECT_EQ(present ? leaf : at, w.level);
	if (present)
		EXPECT_EQ(0x40000000ULL | ((GPA | 0x123) & ((1ULL << (12 + 9 * (leaf - 1))) - 1)), w.hpa);
	if (!ok)
		EXPECT_EQ(sdm_qual(&a, ad, mbec, eff), ept_violation_qual(&w, &a, mbec));
}

/* Every R/W/X(/XU) value at every level of 4K, 2M and 1G walks x every access kind, with the qualification. */
TEST(ept, every_permission_at_every_level)
{
	struct env e;
	ASSERT_TRUE(env_init(&e));
	for (unsigned leaf = 1; leaf <= 3; leaf++)
		for (unsigned at = 4; at >= leaf && !test_failures(); at--)
			for (unsigned perm = 0; perm < 16; perm++)
				for (int k = 0; k < 6 * 4; k++)
					perm_case(&e, leaf, at, perm, k % 6, k / 6 % 2, k / 12);
	mem_fini(&e.m);
}

/* Expects a misconfiguration with reason r at level `at` for the path perm_chain builds with extra bits. */
static void expect_mc(struct env *e, unsigned leaf, unsigned at, u64 extra, enum ept_reason r)
{
	hpa_t pa[5];
	perm_chain(e, leaf, at, EPT_R | EPT_W | EPT_X, extra, pa);
	struct ept_access a = { .type = ACC_READ };
	struct ept_walk w;
	EXPECT_EQ(EPT_MISCONFIG, ept_walk(&e->m, eptp_of(true), false, GPA, &a, &w));
	EXPECT_EQ(r, w.reason);
	EXPECT_EQ(at, w.level);
	EXPECT_EQ(pa[at], w.entry_pa);
	EXPECT_EQ(0, get(e, pa[4]) & EPT_A); // a failed walk sets no flags
}

TEST(ept, misconfigurations)
{
	struct env e;
	ASSERT_TRUE(env_init(&e));
	for (unsigned leaf = 1; leaf <= 3; leaf++) {
		for (unsigned at = 4; at >= leaf; at--) {
			for (unsigned bit = MAXPHYADDR; bit < 52; bit++)
				expect_mc(&e, leaf, at, 1ULL << bit, EPT_MC_ADDR);
			if (at > leaf) // bits 6:3 of a table reference (7:3 in a PML4E)
				for (unsigned bit = 3; bit < 7; bit++)
					expect_mc(&e, leaf, at, 1ULL << bit, EPT_MC_RSVD);
		}
		// The leaf's page-offset address bits, and the reserved memory types.
		for (unsigned bit = 12; bit < 12 + 9 * (leaf - 1); bit++)
			expect_mc(&e, leaf, leaf, 1ULL << bit, EPT_MC_RSVD);
		for (u64 mt = 2; mt < 8; mt += mt == 3 ? 4 : 1) // 2, 3, 7
			expect_mc(&e, leaf, leaf, mt << EPT_MT_SHIFT, EPT_MC_MEMTYPE);
	}
	expect_mc(&e, 1, 4, EPT_PS, EPT_MC_PML4_PS);
	// W without R, with and without X, at every level.
	for (unsigned at = 4; at >= 1; at--) {
		hpa_t pa[5];
		for (u64 x = 0; x <= EPT_X; x += EPT_X) {
			perm_chain(&e, 1, at, EPT_W | x, 0, pa);
			struct ept_access a = { .type = ACC_EXEC };
			struct ept_walk w;
			EXPECT_EQ(EPT_MISCONFIG, ept_walk(&e.m, eptp_of(false), false, GPA, &a, &w));
			EXPECT_EQ(EPT_MC_WRITE_NO_READ, w.reason);
		}
	}
	// A misconfigured leaf below an entry that refuses the access: the misconfiguration wins (28.3.3.2).
	{
		hpa_t pa[5];
		perm_chain(&e, 1, 1, EPT_R | EPT_W | EPT_X, 1ULL << 45, pa);
		put(&e, pa[3], get(&e, pa[3]) & ~EPT_W);
		struct ept_access a = { .type = ACC_WRITE };
		struct ept_walk w;
		EXPECT_EQ(EPT_MISCONFIG, ept_walk(&e.m, eptp_of(false), false, GPA, &a, &w));
	}
	// Execute-only entries are not misconfigured (EPT_CAP_EXEC_ONLY); ignored bits are ignored.
	{
		hpa_t pa[5];
		perm_chain(&e, 1, 1, EPT_X, 0x7ffULL << 52 | 1ULL << 11 | EPT_PS, pa);
		struct ept_access a = { .type = ACC_EXEC };
		struct ept_walk w;
		EXPECT_EQ(EPT_OK, ept_walk(&e.m, eptp_of(false), false, GPA, &a, &w));
	}
	mem_fini(&e.m);
}

/* Tables outside RAM read as all ones: present with reserved bits, so a misconfiguration. */
TEST(ept, table_outside_ram)
{
	struct env e;
	ASSERT_TRUE(env_init(&e));
	env_reset(&e);
	put(&e, slot(ROOT, GPA, 4), RAM_SIZE | EPT_R | EPT_W | EPT_X);
	struct ept_access a = { .type = ACC_READ };
	struct ept_walk w;
	EXPECT_EQ(EPT_MISCONFIG, ept_walk(&e.m, eptp_of(true), false, GPA, &a, &w));
	EXPECT_EQ(3, w.level);
	EXPECT_EQ(~0ULL, w.entry);
	EXPECT_EQ(EPT_MISCONFIG, ept_walk(&e.m, (RAM_SIZE * 2) | EPTP_MT_WB | EPTP_PWL4, false, GPA, &a, &w));
	EXPECT_EQ(4, w.level);
	mem_fini(&e.m);
}

TEST(ept, accessed_dirty)
{
	struct env e;
	ASSERT_TRUE(env_init(&e));
	hpa_t pa[5];
	const u64 rwx = EPT_R | EPT_W | EPT_X;
	struct ept_walk w;
	for (unsigned leaf = 1; leaf <= 3; leaf++) {
		// A/D disabled in the EPTP: nothing changes, and a guest paging access is a read.
		perm_chain(&e, leaf, leaf, EPT_R | EPT_X, 0, pa);
		struct ept_access rd = { .type = ACC_READ }, wr = { .type = ACC_WRITE };
		struct ept_access pg = { .type = ACC_READ, .paging = true };
		EXPECT_EQ(EPT_OK, ept_walk(&e.m, eptp_of(false), false, GPA, &pg, &w));
		for (unsigned l = 4; l >= leaf; l--)
			EXPECT_EQ(0, get(&e, pa[l]) & (EPT_A | EPT_D));
		// Enabled: a read sets A everywhere, no D.
		EXPECT_EQ(EPT_OK, ept_walk(&e.m, eptp_of(true), false, GPA, &rd, &w));
		for (unsigned l = 4; l >= leaf; l--)
			EXPECT_EQ(EPT_A, get(&e, pa[l]) & (EPT_A | EPT_D));
		EXPECT_EQ(get(&e, pa[leaf]), w.entry);
		// A guest paging access counts as a write: refused by the read-only leaf, qualification bits 0 and 1.
		pg.gla_valid = true;
		EXPECT_EQ(EPT_VIOLATION, ept_walk(&e.m, eptp_of(true), false, GPA, &pg, &w));
		EXPECT_EQ(EPT_DENIED_WRITE, w.reason);
		EXPECT_EQ(EPT_QUAL_READ | EPT_QUAL_WRITE | EPT_QUAL_R | EPT_QUAL_X | EPT_QUAL_GLA_VALID,
			  ept_violation_qual(&w, &pg, false));
		EXPECT_EQ(0, get(&e, pa[leaf]) & EPT_D);
		// Writable: a write sets D on the leaf only; a paging access too.
		perm_chain(&e, leaf, leaf, rwx, 0, pa);
		EXPECT_EQ(EPT_OK, ept_walk(&e.m, eptp_of(true), false, GPA, &wr, &w));
		for (unsigned l = 4; l >= leaf; l--)
			EXPECT_EQ(EPT_A | (l == leaf ? EPT_D : 0), get(&e, pa[l]) & (EPT_A | EPT_D));
		perm_chain(&e, leaf, leaf, rwx, 0, pa);
		EXPECT_EQ(EPT_OK, ept_walk(&e.m, eptp_of(true), false, GPA, &pg, &w));
		EXPECT_TRUE(w.as_write);
		EXPECT_EQ(EPT_A | EPT_D, get(&e, pa[leaf]) & (EPT_A | EPT_D));
		// A refused write changes nothing.
		perm_chain(&e, leaf, 4, EPT_R | EPT_X, 0, pa);
		EXPECT_EQ(EPT_VIOLATION, ept_walk(&e.m, eptp_of(true), false, GPA, &wr, &w));
		for (unsigned l = 4; l >= leaf; l--)
			EXPECT_EQ(0, get(&e, pa[l]) & (EPT_A | EPT_D));
	}
	mem_fini(&e.m);
}

TEST(ept, suppress_ve)
{
	struct env e;
	ASSERT_TRUE(env_init(&e));
	hpa_t pa[5];
	struct ept_walk w;
	struct ept_access wr = { .type = ACC_WRITE };
	// Refused by permissions: bit 63 of the leaf counts, not that of a table entry.
	perm_chain(&e, 1, 1, EPT_R | EPT_SVE, 0, pa);
	EXPECT_EQ(EPT_VIOLATION, ept_walk(&e.m, eptp_of(false), false, GPA, &wr, &w));
	EXPECT_TRUE(w.suppress_ve && !ept_violation_convertible(&w));
	perm_chain(&e, 1, 2, EPT_R | EPT_W | EPT_X | EPT_SVE, 0, pa);
	put(&e, pa[1], get(&e, pa[1]) & ~EPT_W);
	EXPECT_EQ(EPT_VIOLATION, ept_walk(&e.m, eptp_of(false), false, GPA, &wr, &w));
	EXPECT_TRUE(!w.suppress_ve && ept_violation_convertible(&w));
	// Not present: bit 63 of the not-present entry.
	for (unsigned at = 4; at >= 1; at--) {
		perm_chain(&e, 1, at, EPT_SVE, 0, pa);
		EXPECT_EQ(EPT_VIOLATION, ept_walk(&e.m, eptp_of(false), false, GPA, &wr, &w));
		EXPECT_EQ(EPT_NOT_PRESENT, w.reason);
		EXPECT_TRUE(w.suppress_ve);
	}
	mem_fini(&e.m);
}

/* Mode-based execute: bit 10 alone makes an entry present only with MBEC; user fetches need it. */
TEST(ept, mode_based_execute)
{
	struct env e;
	ASSERT_TRUE(env_init(&e));
	hpa_t pa[5];
	struct ept_walk w;
	struct ept_access uf = { .type = ACC_EXEC, .user = true, .gla_valid = true, .gla_rw = true };
	struct ept_access sf = { .type = ACC_EXEC, .gla_valid = true };
	perm_chain(&e, 2, 2, EPT_XU, 0, pa);
	EXPECT_EQ(EPT_OK, ept_walk(&e.m, eptp_of(false), true, GPA, &uf, &w));
	EXPECT_EQ(EPT_VIOLATION, ept_walk(&e.m, eptp_of(false), true, GPA, &sf, &w));
	EXPECT_EQ(EPT_DENIED_FETCH, w.reason);
	EXPECT_EQ(EPT_QUAL_FETCH | EPT_QUAL_XU | EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_XLAT,
		  ept_violation_qual(&w, &sf, true));
	EXPECT_EQ(EPT_VIOLATION, ept_walk(&e.m, eptp_of(false), false, GPA, &uf, &w));
	EXPECT_EQ(EPT_NOT_PRESENT, w.reason);
	// Without MBEC bit 10 is ignored: X governs user fetches and qualification bit 6 stays 0.
	perm_chain(&e, 1, 1, EPT_R | EPT_XU, 0, pa);
	EXPECT_EQ(EPT_VIOLATION, ept_walk(&e.m, eptp_of(false), false, GPA, &uf, &w));
	EXPECT_EQ(EPT_QUAL_FETCH | EPT_QUAL_R | EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_XLAT | EPT_QUAL_GLA_USER |
			  EPT_QUAL_GLA_RW,
		  ept_violation_qual(&w, &uf, false));
	mem_fini(&e.m);
}

TEST(ept, ve_info)
{
	struct env e;
	ASSERT_TRUE(env_init(&e));
	hpa_t pa[5];
	struct ept_walk w;
	struct ept_access a = { .type = ACC_WRITE, .gla_valid = true, .gla = 0xffff800000001234ULL, .gla_rw = true };
	perm_chain(&e, 1, 1, EPT_R, 0, pa);
	EXPECT_EQ(EPT_VIOLATION, ept_walk(&e.m, eptp_of(false), false, GPA | 0x234, &a, &w));
	struct ept_ve_info ve;
	ept_ve_info(&w, &a, false, 7, &ve);
	u8 b[EPT_VE_INFO_SIZE];
	ept_ve_pack(&ve, b);
	u32 r32;
	u64 r64;
	u16 r16;
	memcpy(&r32, b, 4);
	EXPECT_EQ(48, r32);
	memcpy(&r32, b + 4, 4);
	EXPECT_EQ(0xffffffffu, r32);
	memcpy(&r64, b + 8, 8);
	EXPECT_EQ(EPT_QUAL_WRITE | EPT_QUAL_R | EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_XLAT | EPT_QUAL_GLA_RW, r64);
	memcpy(&r64, b + 16, 8);
	EXPECT_EQ(0xffff800000001234ULL, r64);
	memcpy(&r64, b + 24, 8);
	EXPECT_EQ(GPA | 0x234, r64);
	memcpy(&r16, b + 32, 2);
	EXPECT_EQ(7, r16);
	// Without a linear address the field is 0 and bits 7-11 are clear.
	a.gla_valid = false;
	ept_ve_info(&w, &a, false, 0, &ve);
	EXPECT_EQ(0, ve.gla);
	EXPECT_EQ(0, ve.qual & 0xf80);
	mem_fini(&e.m);
}
