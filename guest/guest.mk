# SPDX-License-Identifier: MIT
# Guest software, built freestanding by the host compiler (DESIGN section 6).
.PHONY: guests
guests:
