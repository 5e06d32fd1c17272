# SPDX-License-Identifier: MIT
.PHONY: fuzz
fuzz:
