#!/usr/bin/env bash
# Install what guest/build.sh needs on a Debian 12 (bookworm) machine. Run as root.
#   sudo bash guest/install-deps.sh
#
# Works from empty apt lists, on a mirror whose bookworm-security i386 index is broken (seen for
# days: "File has unexpected size ... Mirror sync in progress?"). The i386 packages we need come
# from the main suite; linux-source-6.12 is only in bookworm-security, for the native
# architecture. So the native indexes are fetched first and must succeed; the i386 ones are
# fetched second and may fail without losing the native lists (apt keeps lists it already has).
#
# Package versions: the ones public/guest/manifest.json records, where the mirror still has them,
# so that a newer upload does not quietly change the guest. Where a recorded version is gone, the
# candidate is installed with a warning (guest/check.sh then compares inputs only). Nothing
# already installed is downgraded. The machine's apt sources are not changed; i386 is added as a
# dpkg foreign architecture (needed for `apt-get download busybox-static:i386`).
set -euo pipefail

if [[ $(id -u) != 0 ]]; then
	echo "install-deps.sh: run as root (sudo bash guest/install-deps.sh)" >&2
	exit 1
fi
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
MANIFEST=$REPO/public/guest/manifest.json
export DEBIAN_FRONTEND=noninteractive
say() { echo "install-deps.sh: $*" >&2; }

# Where each package comes from, for the message when it cannot be found.
suite_of() {
	case $1 in
	linux-source-6.12) echo "bookworm-security (http://deb.debian.org/debian-security), $(dpkg --print-architecture)" ;;
	*:i386) echo "bookworm main (http://deb.debian.org/debian), i386" ;;
	*) echo "bookworm main (http://deb.debian.org/debian), $(dpkg --print-architecture)" ;;
	esac
}
# The version the committed guest image was built with ("" if the manifest does not list it).
recorded_version() {
	[[ -f $MANIFEST ]] || return 0
	sed -n "s/^ *{\"name\": \"$1\", \"version\": \"\(.*\)\"},\{0,1\}\$/\1/p" "$MANIFEST"
}
available_versions() { apt-cache madison "$1" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}'; }

# apt_update TRIES [APT OPTIONS]: returns 1 if the last of TRIES tries failed.
apt_update() {
	local tries=$1 try
	shift
	for ((try = 1; try <= tries; try++)); do
		apt-get update -q "$@" >/tmp/install-deps-apt-update.log 2>&1 && return 0
		say "apt-get update $* failed (try $try of $tries):"
		grep -E '^(E|W|Err):' /tmp/install-deps-apt-update.log | head -n 4 | sed 's/^/    /' >&2
		((try == tries)) || sleep $((try * 5))
	done
	return 1
}

native=$(dpkg --print-architecture)
apt_update 3 -o "APT::Architectures=$native" || {
	say "cannot fetch the package indexes for $native; see /tmp/install-deps-apt-update.log"
	exit 1
}
if ! dpkg --print-foreign-architectures | grep -qx i386; then
	dpkg --add-architecture i386
fi
apt_update 2 || say "going on with the lists fetched so far: the i386 packages we need are in the main suite"

# The packages: "name" for the native architecture, "name:i386" for the two build.sh downloads
# itself (their versions are pinned there from the same manifest).
PACKAGES=(
	linux-source-6.12
	gcc-i686-linux-gnu gcc-12-i686-linux-gnu binutils-i686-linux-gnu
	seabios e2fsprogs cpio gzip xz-utils lz4
)
UNPINNED=(make flex bison bc libelf-dev libssl-dev patch file ca-certificates gcc gcc-aarch64-linux-gnu qemu-system-x86)
DOWNLOADED=(busybox-static:i386 e2fsck-static:i386)

missing=0
install=("${UNPINNED[@]}")
for pkg in "${PACKAGES[@]}" "${DOWNLOADED[@]}"; do
	versions=$(available_versions "$pkg")
	if [[ -z $versions ]]; then
		say "ERROR: package $pkg is not available from the configured apt sources (it comes from $(suite_of "$pkg"))"
		missing=1
		continue
	fi
	want=$(recorded_version "$pkg")
	have=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$pkg" 2>/dev/null || true)
	have=$(sed -n 's/^ii *//p' <<<"$have")
	if [[ -z $want ]]; then
		pick=$pkg
	elif [[ $have == "$want" ]]; then
		pick=$pkg=$want
	elif grep -qxF -- "$want" <<<"$versions"; then
		if [[ -n $have ]] && dpkg --compare-versions "$have" gt "$want"; then
			say "WARNING: $pkg $have is installed, newer than $want recorded in manifest.json; not downgrading (a rebuilt guest may differ)"
			pick=$pkg
		else
			pick=$pkg=$want
		fi
	else
		say "WARNING: $pkg $want (recorded in manifest.json) is gone from the mirror (on offer: $(tr '\n' ' ' <<<"$versions")); using the candidate. A rebuilt guest will differ from the committed one: guest/check.sh compares inputs only, and 'bash guest/build.sh' updates the image."
		pick=$pkg
	fi
	[[ $pkg == *:i386 ]] || install+=("$pick")
done
[[ $missing == 0 ]] || {
	say "check /etc/apt/sources.list{,.d/} and the output above; nothing was installed"
	exit 1
}

for try in 1 2; do
	apt-get install -y -q --no-install-recommends "${install[@]}" && break
	[[ $try == 2 ]] && { say "apt-get install failed"; exit 1; }
	say "apt-get install failed; retrying once"
	sleep 5
done
say "done"
