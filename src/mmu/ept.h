/* SPDX-License-Identifier: MIT */
/*
 * Extended page tables (SDM Vol. 3C 28.3 "The extended page-table
 * mechanism"; 24.6.11 for the EPTP): the translation of a guest-physical
 * address into a host-physical one through a 4-level EPT hierarchy held
 * in machine RAM, with the EPT-violation exit qualification and the #VE
 * information it produces.
 *
 * This layer is plain data in, plain data out: ept_walk() reads (and, for
 * the accessed and dirty flags, writes) the EPT entries and returns a
 * struct ept_walk; it raises nothing and knows no VMCS. The caller (the
 * two-dimensional walk and the VM-exit path) turns a violation into a VM
 * exit (reason 48) or a #VE, and a misconfiguration into a VM exit
 * (reason 49). Entries outside RAM read as all ones, as in paging.c:
 * such an entry is present with reserved bits set, so a walk that leaves
 * RAM ends in a misconfiguration.
 *
 * Modeled: 4-level walks, 4 KiB, 2 MiB and 1 GiB pages, execute-only
 * translations, mode-based execute control (MBEC), accessed and dirty
 * flags, suppress #VE, advanced VM-exit information for EPT violations.
 * Not modeled (their bits are reserved or ignored as the SDM says for a
 * processor without them): 5-level EPT, sub-page write permissions,
 * supervisor shadow stacks, guest-paging verification, PML.
 */
#ifndef FACET_EPT_H
#define FACET_EPT_H

#include "lib/types.h"
#include "mem/mem.h"
#include "mmu/mmu.h"

/* EPTP fields (SDM 24.6.11, table 24-8). */
#define EPTP_MT_MASK 0x7ULL       // bits 2:0: memory type of the paging structures
#define EPTP_MT_UC 0ULL
#define EPTP_MT_WB 6ULL
#define EPTP_PWL_MASK (7ULL << 3) // bits 5:3: page-walk length minus 1
#define EPTP_PWL4 (3ULL << 3)
#define EPTP_AD (1ULL << 6)       // accessed and dirty flags enabled
#define EPTP_ADDR (((1ULL << MAXPHYADDR) - 1) & PAGE_MASK) // bits N-1:12: the PML4 table

/* EPT entry bits (SDM 28.3.2, tables 28-1 to 28-6). */
#define EPT_R (1ULL << 0)
#define EPT_W (1ULL << 1)
#define EPT_X (1ULL << 2)         // execute; supervisor-mode execute under MBEC
#define EPT_MT_SHIFT 3            // bits 5:3 of a leaf: memory type
#define EPT_MT_MASK (7ULL << EPT_MT_SHIFT)
#define EPT_IPAT (1ULL << 6)      // leaf: ignore PAT
#define EPT_PS (1ULL << 7)        // PDPTE/PDE: maps a page
#define EPT_A (1ULL << 8)
#define EPT_D (1ULL << 9)         // leaf only
#define EPT_XU (1ULL << 10)       // user-mode execute under MBEC, else ignored
#define EPT_SVE (1ULL << 63)      // suppress #VE (leaf or not-present entry)
#define EPT_ADDR EPTP_ADDR

/* Permission bits of struct ept_walk.perm: bits 0-2 as in an entry, bit 3 for bit 10. */
#define EPT_PERM_R 1u
#define EPT_PERM_W 2u
#define EPT_PERM_X 4u
#define EPT_PERM_XU 8u

/*
 * The EPT bits of IA32_VMX_EPT_VPID_CAP (SDM A.10) for what this layer
 * models; the INVEPT and INVVPID bits belong to the instruction model.
 */
#define EPT_CAP_EXEC_ONLY (1ULL << 0)
#define EPT_CAP_PWL4 (1ULL << 6)
#define EPT_CAP_UC (1ULL << 8)
#define EPT_CAP_WB (1ULL << 14)
#define EPT_CAP_2M (1ULL << 16)
#define EPT_CAP_1G (1ULL << 17)
#define EPT_CAP_AD (1ULL << 21)
#define EPT_CAP_ADV_EXIT_INFO (1ULL << 22) // bits 9-11 of the violation qualification
#define EPT_CAP_MODELED                                                                              \
	(EPT_CAP_EXEC_ONLY | EPT_CAP_PWL4 | EPT_CAP_UC | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_1G | EPT_CAP_AD | \
	 EPT_CAP_ADV_EXIT_INFO)

/* Exit qualification for EPT violations (SDM 27.2.1, table 27-7). */
#define EPT_QUAL_READ (1ULL << 0)      // access was a data read
#define EPT_QUAL_WRITE (1ULL << 1)     // access was a data write
#define EPT_QUAL_FETCH (1ULL << 2)     // access was an instruction fetch
#define EPT_QUAL_R (1ULL << 3)         // AND of bit 0 over the entries used
#define EPT_QUAL_W (1ULL << 4)         // AND of bit 1
#define EPT_QUAL_X (1ULL << 5)         // AND of bit 2 (supervisor-mode execute under MBEC)
#define EPT_QUAL_XU (1ULL << 6)        // MBEC only: AND of bit 10
#define EPT_QUAL_GLA_VALID (1ULL << 7) // guest-linear-address field valid
#define EPT_QUAL_GLA_XLAT (1ULL << 8)  // 1: translation of the linear address; 0: guest paging-structure access
#define EPT_QUAL_GLA_USER (1ULL << 9)  // advanced info: user-mode linear address
#define EPT_QUAL_GLA_RW (1ULL << 10)   // advanced info: read/write linear address
#define EPT_QUAL_GLA_XD (1ULL << 11)   // advanced info: execute-disable linear address
#define EPT_QUAL_NMI_UNBLOCK (1ULL << 12) // IRET unblocked NMIs: set by the exit path, never here

#define EPT_EXIT_REASON_VIOLATION 48
#define EPT_EXIT_REASON_MISCONFIG 49

enum ept_status { EPT_OK = 0, EPT_VIOLATION = 1, EPT_MISCONFIG = 2 };

/* Why a walk failed (struct ept_walk.reason). */
enum ept_reason {
	EPT_NONE = 0,
	EPT_NOT_PRESENT,    // violation: bits 2:0 (and bit 10 under MBEC) of an entry are 0
	EPT_DENIED_READ,    // violation: the effective permissions refuse the access
	EPT_DENIED_WRITE,
	EPT_DENIED_FETCH,
	EPT_MC_WRITE_NO_READ, // misconfiguration: bit 1 set with bit 0 clear (28.3.3.1)
	EPT_MC_RSVD,        // misconfiguration: a reserved bit of bits 11:0 or of the page-offset field
	EPT_MC_ADDR,        // misconfiguration: an address bit at or above MAXPHYADDR (bits 51:N)
	EPT_MC_PML4_PS,     // misconfiguration: bit 7 of a PML4E (reserved there)
	EPT_MC_MEMTYPE,     // misconfiguration: memory type 2, 3 or 7 in a leaf
};

/* One guest-physical access, as the caller (the two-dimensional walk) describes it. */
struct ept_access {
	enum access type; // ACC_READ, ACC_WRITE (also A/D updates of guest entries), ACC_EXEC
	bool paging;      // access to a guest paging-structure entry, not the translation of gla
	bool user;        // gla is a user-mode linear address (U/S ANDed; 1 when CR0.PG = 0): MBEC, qual bit 9
	bool gla_valid;   // a linear address goes with the access (not a PDPTE load by MOV CR)
	bool gla_rw;      // gla is read/write in the guest paging walk (1 when CR0.PG = 0): qual bit 10
	bool gla_xd;      // gla is execute-disable in the guest paging walk: qual bit 11
	gva_t gla;        // the linear address, when gla_valid
};

/* What ept_walk found. */
struct ept_walk {
	enum ept_status status;
	enum ept_reason reason;
	gpa_t gpa;        // the address translated
	hpa_t hpa;        // its translation (EPT_OK, and violations refused by the permissions)
	u64 entry;        // the leaf, or the entry that ended the walk (after any A/D update)
	hpa_t entry_pa;   // where that entry is
	unsigned level;   // level of that entry: 4 PML4E, 3 PDPTE, 2 PDE, 1 PTE
	unsigned shift;   // page size of a leaf: 12, 21 or 30
	unsigned perm;    // EPT_PERM_*: AND over the entries used (bit 10 ANDed even without MBEC)
	unsigned memtype; // leaf memory type (bits 5:3)
	bool ipat;        // leaf ignore-PAT bit
	bool suppress_ve; // bit 63 of the leaf or of the not-present entry (violations)
	bool as_write;    // the access counted as a write (a write, or a guest paging access with A/D on)
	bool ad;          // the EPTP enabled accessed and dirty flags
};

/* Size and layout of the #VE information area (SDM 25.5.7.2). */
#define EPT_VE_INFO_SIZE 40
#define EPT_VE_BUSY 0xffffffffu

struct ept_ve_info {
	u32 exit_reason; // 48
	u32 busy;        // EPT_VE_BUSY: written by delivery, the guest clears it
	u64 qual;        // the EPT-violation exit qualification (bit 12 cleared)
	u64 gla;         // guest-linear address (0 when qual bit 7 is 0)
	u64 gpa;         // guest-physical address
	u16 eptp_index;  // the EPTP-index VMCS field
};

/* True when eptp is a valid EPTP for the modeled capabilities (VM-entry check, SDM 26.2.1.1; VMFUNC 0). */
bool ept_eptp_valid(u64 eptp);

/*
 * Translates gpa for access a through the hierarchy named by eptp (which
 * the caller has checked), with mode-based execute control if mbec.
 * Returns the status, also stored in w. When the EPTP enables A/D flags
 * and the access goes ahead, sets A in every entry used and D in the
 * leaf for accesses that count as writes; failed walks change nothing.
 * An EPT table page that holds decoded code is the caller's concern.
 */
enum ept_status ept_walk(struct mem *m, u64 eptp, bool mbec, gpa_t gpa, const struct ept_access *a,
			 struct ept_walk *w);

/* Returns the EPT-violation exit qualification for walk w of access a (bit 12 is left to the exit path). */
u64 ept_violation_qual(const struct ept_walk *w, const struct ept_access *a, bool mbec);

/* True when violation w may become a #VE (suppress-#VE clear); the VMCS and busy-word tests are the caller's. */
static inline bool ept_violation_convertible(const struct ept_walk *w)
{
	return w->status == EPT_VIOLATION && !w->suppress_ve;
}

/* Fills the #VE information for violation w of access a under EPTP index eptp_index. */
void ept_ve_info(const struct ept_walk *w, const struct ept_access *a, bool mbec, u16 eptp_index,
		 struct ept_ve_info *ve);

/* Stores ve in the SDM's byte layout (little endian) into out. */
void ept_ve_pack(const struct ept_ve_info *ve, u8 out[EPT_VE_INFO_SIZE]);

#endif
