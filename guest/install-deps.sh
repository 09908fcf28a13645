#!/usr/bin/env bash
# Install what guest/build.sh needs on a Debian 12 (bookworm) machine. Run as root.
#   sudo bash guest/install-deps.sh
set -euo pipefail

if [[ $(id -u) != 0 ]]; then
	echo "install-deps.sh: run as root (sudo bash guest/install-deps.sh)" >&2
	exit 1
fi

# busybox-static and e2fsck-static are taken from the i386 architecture (32-bit static binaries).
if ! dpkg --print-foreign-architectures | grep -qx i386; then
	dpkg --add-architecture i386
fi

export DEBIAN_FRONTEND=noninteractive
# A mirror mid-sync makes `apt-get update` fail for one index now and then: retry, and if it
# still fails go on with the lists we have; a missing package then fails the install below.
for try in 1 2 3; do
	apt-get update && break
	echo "install-deps.sh: apt-get update failed (try $try of 3)" >&2
	sleep $((try * 10))
done
apt-get install -y --no-install-recommends \
	linux-source-6.12 \
	gcc-i686-linux-gnu binutils-i686-linux-gnu \
	make flex bison bc libelf-dev libssl-dev \
	cpio gzip xz-utils patch file \
	seabios e2fsprogs \
	ca-certificates

# build.sh fetches busybox-static:i386 and e2fsck-static:i386 itself with `apt-get download`;
# check they are available. (Read into a variable first: `apt-cache ... | grep -q` can die of
# SIGPIPE under pipefail.)
for pkg in busybox-static:i386 e2fsck-static:i386; do
	policy=$(apt-cache policy "$pkg")
	grep -q 'Candidate: [0-9]' <<<"$policy" || {
		echo "install-deps.sh: $pkg is not available from the configured apt sources" >&2
		exit 1
	}
done
echo "install-deps.sh: done"
