#!/usr/bin/env bash
# Rebuilds the committed guest tool bench/guest-tool/vbench from vbench.c. The benchmark uses
# the committed binary, so a machine without the i386 cross compiler can still run it.
#   sudo apt-get install gcc-i686-linux-gnu    (Debian)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# No libc (-nostdlib, our own _start and syscalls), no PIE, no build id: a small, reproducible binary.
i686-linux-gnu-gcc -Os -static -nostdlib -fno-builtin -fno-pic -no-pie -fno-stack-protector \
  -fno-asynchronous-unwind-tables -Wall -Wextra -Wl,--build-id=none -s \
  -o "$here/vbench" "$here/vbench.c" -lgcc
sha256sum "$here/vbench"
