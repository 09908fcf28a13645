#!/usr/bin/env bash
# Everything the test suite needs, from a fresh Debian 12 machine, then the whole suite. As root:
#   bash scripts/test-from-scratch.sh
# 1. system packages: the guest toolchain (guest/install-deps.sh: works from empty apt lists,
#    pins the versions public/guest/manifest.json records), Chromium, e2fsprogs
# 2. npm ci
# 3. the guest image rebuilt from source in a work dir and compared byte for byte with the
#    committed public/guest/ (guest/check.sh)
# 4. guest/cross-check.sh: the kernel series in guest/patches compiled (only the objects it
#    touches, W=1) for x86_64 with virtio_mmio as a module and for arm64, and checkpatch --strict
# 5. the stock kernel (no patches) derived from that build's tree: only what the patch touched
#    is rebuilt (tests/guest/stock-kernel.test.ts boots it)
# 6. Debian 12's own i386 kernel, unmodified (guest/fetch-debian-kernel.sh: apt-get download of
#    what linux-image-686:i386 depends on; tests/guest/debian-kernel.test.ts boots it)
# 7. npm test (tests/guest/qemu-microvm.test.ts boots the guest on QEMU: qemu-system-x86 comes
#    with guest/install-deps.sh)
# .ci/run is this script. Each step prints its start time; the last line gives every step's time.
# Environment: GUEST_CHECK_WORK_DIR (default /tmp/guest-check-work), STOCK_OUT (default
# /tmp/guest-stock), GUEST_STOCK_WORK_DIR (default /tmp/guest-build-stock), DEBIAN_KERNEL_DIR
# (default /tmp/debian-kernel).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
[[ $(id -u) == 0 ]] || { echo "test-from-scratch.sh: run as root (it installs Debian packages)" >&2; exit 1; }

started=$SECONDS step_started=$SECONDS step_name="" summary=()
step() {
	[[ -z $step_name ]] || summary+=("$step_name $((SECONDS - step_started))s")
	step_name=$1 step_started=$SECONDS
	[[ $1 == done ]] || printf '\n=== %s (at %ds)\n' "$1" $((SECONDS - started))
}

step "system packages"
bash guest/install-deps.sh
apt-get install -y -q --no-install-recommends chromium e2fsprogs >/tmp/test-from-scratch-apt.log 2>&1 ||
	{ tail -n 20 /tmp/test-from-scratch-apt.log >&2; echo "test-from-scratch.sh: apt-get install chromium e2fsprogs failed" >&2; exit 1; }
echo "chromium $(dpkg-query -W -f='${Version}' chromium)"

step "npm ci"
npm ci --no-audit --no-fund

step "guest image: rebuild and compare"
work=${GUEST_CHECK_WORK_DIR:-/tmp/guest-check-work}
CHECK_WORK_DIR=$work bash guest/check.sh

step "kernel series: cross-check"
bash guest/cross-check.sh

step "stock kernel"
stock_out=${STOCK_OUT:-/tmp/guest-stock}
rm -rf "${GUEST_STOCK_WORK_DIR:=/tmp/guest-build-stock}"
GUEST_NO_PATCHES=1 GUEST_STOCK_FROM=$work GUEST_WORK_DIR=$GUEST_STOCK_WORK_DIR bash guest/build.sh "$stock_out"
export STOCK_KERNEL=$stock_out/bzImage

step "Debian kernel"
export DEBIAN_KERNEL_DIR=${DEBIAN_KERNEL_DIR:-/tmp/debian-kernel}
bash guest/fetch-debian-kernel.sh "$DEBIAN_KERNEL_DIR"

step "npm test"
CHROMIUM_PATH=/usr/bin/chromium npm test

step done
echo "test-from-scratch.sh: passed in $((SECONDS - started))s: ${summary[*]}"
