# SPDX-License-Identifier: MIT
.PHONY: bench
bench:
