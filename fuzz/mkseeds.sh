#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates the seed corpora in fuzz/corpus/ (checked in; run by hand
# after changing the input format of a target). Needs binutils.
#
# fuzz_elf: small static executables as `ld` writes them (one RWX
# segment; page-aligned R, R+X and R+W segments with a .bss tail).
# fuzz_exec: a struct fuzz_hdr (see fuzz_exec.c) then instruction bytes,
# one file per instruction family, written from hex below.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

elf=corpus/fuzz_elf
mkdir -p "$elf"
printf '.globl _start\n_start: mov $42,%%al\n out %%al,$0xf4\n hlt\n.data\n.quad 1\n.bss\n.skip 4096\n' |
	as -o "$tmp/x.o" -
ld -static -nostdlib -N -Ttext=0x100000 -o "$elf/one_segment.elf" "$tmp/x.o" 2>/dev/null
ld -static -nostdlib -z max-page-size=4096 -z noexecstack -Ttext-segment=0x100000 -o "$elf/three_segments.elf" "$tmp/x.o"
strip "$elf/one_segment.elf" "$elf/three_segments.elf"

# Header: RAX=1 RCX=8 RDX=0 RBX,RSP,RBP,RSI,RDI -> FIX_DATA pointers, R8-R15 edge
# values, FS/GS bases -> FIX_DATA pointers, flags clear, code at FIX_CODE.
hdr='61 68 60 01 10 11 02 04 80 81 82 83 84 85 86 87 05 06 00 00 ef cd ab 89 67 45 23 01'
# Same, with the code ending 3 bytes before a page that is mapped (01),
# not present (02) or not executable (03): place = (bytes-1) << 2 | mode.
cross() { echo "$hdr" | awk -v p="$1" '{ $20 = p; print }'; }

exec=corpus/fuzz_exec
mkdir -p "$exec"
# Writes hex bytes as binary with POSIX tools only (dash's printf has octal escapes, not \x).
unhex() {
	printf "$(echo "$1" | awk '{ for (i = 1; i <= NF; i++)
		printf "\\%03o", (index("0123456789abcdef", substr($i, 1, 1)) - 1) * 16 + index("0123456789abcdef", substr($i, 2, 1)) - 1 }')"
}
seed() { # NAME HEADER CODE-HEX
	unhex "$2 $3" >"$exec/$1"
}
seed alu "$hdr" '48 01 d8 48 29 c8 48 11 d1 48 19 d9 48 21 c3 48 09 c8 48 31 d2 48 39 c8 48 85 c0 48 ff c0 48 ff c9 48 f7 d8 48 f7 d0 f4'
seed muldiv "$hdr" '48 f7 e1 48 f7 e9 0f af c3 6b c1 07 69 c3 78 56 34 12 48 f7 f1 48 f7 f9 f6 f1 f4'
seed shift "$hdr" '48 d3 e0 48 d3 e8 48 d3 f8 48 c1 c0 05 48 c1 c8 3f 48 d1 d0 48 d1 d8 48 0f a4 d8 07 48 0f ad d8 f4'
seed bit "$hdr" '48 0f a3 d8 48 0f ab d8 48 0f b3 d8 48 0f bb d8 48 0f bc c3 48 0f bd c3 f3 48 0f b8 c3 f3 48 0f bd c3 f3 48 0f bc c3 f4'
seed mov "$hdr" '48 8b 03 48 89 43 08 0f b6 03 48 0f bf 03 48 63 03 48 0f 44 c3 0f 94 c0 48 87 03 48 0f c8 48 8d 44 8b 10 88 e0 f4'
seed atomic "$hdr" 'f0 48 01 03 f0 48 0f b1 0b f0 48 0f c1 03 48 0f c7 0b f0 0f ba 2b 03 86 03 f4'
seed stack "$hdr" '50 53 41 50 5b 58 41 58 c8 10 00 00 c9 e8 00 00 00 00 58 e8 01 00 00 00 f4 c3 f4'
seed branch "$hdr" '75 02 eb 00 e3 02 90 90 e2 fe 74 fc 0f 85 00 00 00 00 ff e0 f4'
seed string "$hdr" 'f3 a4 fd f3 48 ab fc f3 a6 f2 ae 48 a5 ac 66 ad 67 f3 aa f4'
seed system "$hdr" '0f a2 0f 31 9c 9d 9f 9e f8 f9 f5 fc fd 90 0f 1f 00 f3 90 e6 e9 e4 e9 66 e5 f4 cc 0f 0b f4'
seed segment "$hdr" '64 48 8b 03 65 48 89 03 64 48 8b 04 25 00 00 00 00 f4'
seed ripmod "$hdr" '48 8b 05 00 10 00 00 c6 05 00 00 00 00 90 cc f4'
seed cross_mapped "$(cross 09)" '48 b8 88 77 66 55 44 33 22 11 f4'
seed cross_absent "$(cross 0a)" '48 b8 88 77 66 55 44 33 22 11 f4'
seed cross_nx "$(cross 0b)" '48 b8 88 77 66 55 44 33 22 11 f4'
