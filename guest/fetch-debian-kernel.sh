#!/usr/bin/env bash
# Fetches Debian 12's own i386 kernel, unmodified, for tests/guest/debian-kernel.test.ts: the
# package linux-image-686:i386 currently depends on (linux-image-6.1.0-N-686), downloaded with
# apt and extracted with dpkg-deb. As root on a Debian 12 machine:
#   sudo bash guest/fetch-debian-kernel.sh [DIR]
# DIR (default $DEBIAN_KERNEL_DIR, else /tmp/debian-kernel) gets the .deb and its contents under
# DIR/x (boot/vmlinuz-*, lib/modules/*/); the test reads the same DIR. Nothing is done when DIR/x
# already holds a kernel and its modules, so a second run needs neither root nor the network.
# The kernel is about 50 MB installed: it stays out of git.
set -euo pipefail
DIR=$(realpath -m -- "${1:-${DEBIAN_KERNEL_DIR:-/tmp/debian-kernel}}")
say() { echo "fetch-debian-kernel.sh: $*" >&2; }

have_kernel() {
	local vmlinuz
	vmlinuz=$(find "$DIR/x/boot" -maxdepth 1 -name 'vmlinuz-*' -print -quit 2>/dev/null)
	[[ -n $vmlinuz && -d $DIR/x/lib/modules/${vmlinuz##*/vmlinuz-} ]]
}
if have_kernel; then
	say "already there: $(find "$DIR/x/boot" -maxdepth 1 -name 'vmlinuz-*' -print -quit)"
	exit 0
fi
[[ $(id -u) == 0 ]] || { say "run as root (it adds the i386 architecture and updates apt's lists)"; exit 1; }
export DEBIAN_FRONTEND=noninteractive

# i386 as a foreign architecture (guest/install-deps.sh adds it too), and lists that know it.
if ! dpkg --print-foreign-architectures | grep -qx i386; then
	dpkg --add-architecture i386
fi
update_lists() {
	# A broken bookworm-security i386 index (see guest/install-deps.sh) must not stop us: the
	# metapackage and a kernel it depends on are in the main suite.
	apt-get update -q >/tmp/fetch-debian-kernel-apt.log 2>&1 || say "apt-get update reported errors (see /tmp/fetch-debian-kernel-apt.log); going on with the lists it fetched"
}
# "linux-image-686:i386\n  Depends: linux-image-6.1.0-N-686:i386": the current kernel.
kernel_package() { apt-cache depends linux-image-686:i386 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ :]*\).*/\1/p' | head -n 1; }
find_deb() { find "$DIR" -maxdepth 1 -name "${1}_*_i386.deb" -print -quit; }

updated=0
apt-cache show linux-image-686:i386 >/dev/null 2>&1 || { update_lists; updated=1; }
pkg=$(kernel_package)
[[ -n $pkg ]] || {
	say "apt does not know linux-image-686:i386 or what it depends on: check /etc/apt/sources.list{,.d/} (bookworm main) and /tmp/fetch-debian-kernel-apt.log"
	exit 1
}
say "linux-image-686:i386 depends on $pkg"

mkdir -p "$DIR"
cd "$DIR"
deb=$(find_deb "$pkg")
if [[ -z $deb ]]; then
	for try in 1 2 3; do
		apt-get download -q "$pkg:i386" && break
		[[ $try == 3 ]] && { say "apt-get download $pkg:i386 failed"; exit 1; }
		# Lists older than the mirror name a version it no longer has: refresh them once.
		if [[ $updated == 0 ]]; then
			update_lists
			updated=1
			pkg=$(kernel_package)
			[[ -n $pkg ]] || { say "after apt-get update, apt does not know what linux-image-686:i386 depends on"; exit 1; }
		else
			sleep $((try * 5))
		fi
	done
	deb=$(find_deb "$pkg")
fi
# Extract beside, then move into place, so an interrupted run leaves no half tree behind.
rm -rf x x.tmp
dpkg-deb -x "$deb" x.tmp
mv x.tmp x
have_kernel || { say "$deb holds no boot/vmlinuz-* with its lib/modules"; exit 1; }
say "extracted ${deb##*/} into $DIR/x"
