#!/usr/bin/env bash
# Build the guest image (kernel, initramfs, BIOS, default disk) from Debian packages.
#
#   bash guest/build.sh [OUT_DIR]          OUT_DIR defaults to public/guest
#
# Environment:
#   GUEST_NO_PATCHES   1: build the stock driver instead (for tests of the unmodified Linux
#                      virtio_mmio): no guest/patches, and CONFIG_VIRTIO_MMIO_MSI left out of
#                      the fragment. Needs an OUT_DIR other than public/guest; the default work
#                      dir is then /tmp/guest-build-stock, so the patched tree stays reusable.
#   GUEST_WORK_DIR     scratch directory (default /tmp/guest-build). The unpacked kernel
#                      tree is reused when its inputs (source version, patches, config
#                      fragment) are unchanged; delete the directory for a clean build.
#   GUEST_STOCK_FROM   with GUEST_NO_PATCHES=1: the work dir of a finished patched build. Its
#                      kernel tree (sources, config and objects) is copied, every file the
#                      patches touch except Kconfig files is restored from the Debian tarball,
#                      and make rebuilds only what uses them (about a minute instead of a full
#                      build). The driver is then Debian's unmodified one; the config keeps the
#                      patch's CONFIG_VIRTIO_MMIO_MSI, which that driver never reads.
#   GUEST_JOBS         parallel make jobs (default: nproc)
#   BUSYBOX_DEB        use this busybox-static i386 .deb instead of `apt-get download` (which
#                      takes the version public/guest/manifest.json records while the mirror
#                      has it, and says so when it does not)
#   E2FSCK_DEB         use this e2fsck-static i386 .deb instead of `apt-get download`
#   SOURCE_DATE_EPOCH  fixed time stamp for every output (default below; changing it
#                      changes the outputs)
#   bash guest/build.sh --list-inputs      print "sha256  path" of every input file
#
# Needs the packages from guest/install-deps.sh. Outputs are byte-for-byte reproducible
# for the same inputs and the same Debian package versions (see guest/check.sh).
set -euo pipefail

umask 022
export LC_ALL=C TZ=UTC

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$SCRIPT_DIR/.." && pwd)
GUEST=$REPO/guest

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600} # 2026-01-01 00:00:00 UTC
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
KERNEL_PKG=linux-source-6.12
KMAKE=(make ARCH=i386 CROSS_COMPILE=i686-linux-gnu-)
DISK_SIZE=8M
DISK_UUID=6b8b4567-3c3a-4a4e-9c1e-0f1e2d3c4b5a   # fixed: reproducible image
DISK_HASH_SEED=1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9
DISK_LABEL=guestdisk

die() { echo "build.sh: error: $*" >&2; exit 1; }
log() { printf '[%4ss] %s\n' "$((SECONDS - START))" "$*"; }
START=$SECONDS

# The patches build.sh applies, in order: guest/patches/NNNN-*.patch from 0001 on. The
# series' cover letter (0000-cover-letter.patch) is an input (it is in the manifest) but is
# never applied.
series_patches() {
	find "$1" -maxdepth 1 -type f -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | sort
}

# Every file whose content goes into the outputs, relative to the repository, sorted.
list_input_files() {
	(
		cd "$REPO"
		printf '%s\n' guest/build.sh guest/kernel.config guest/mke2fs.conf
		find guest/patches -maxdepth 1 -type f -name '*.patch' 2>/dev/null
		find guest/initramfs guest/disk guest/tools -type f 2>/dev/null
	) | sort
}

if [[ ${1:-} == --list-inputs ]]; then
	cd "$REPO"
	list_input_files | while read -r f; do sha256sum -- "$f"; done
	exit 0
fi

OUT=${1:-$REPO/public/guest}
NO_PATCHES=${GUEST_NO_PATCHES:-0}
if [[ $NO_PATCHES == 1 ]]; then
	WORK=${GUEST_WORK_DIR:-/tmp/guest-build-stock}
else
	WORK=${GUEST_WORK_DIR:-/tmp/guest-build}
fi
JOBS=${GUEST_JOBS:-$(nproc)}
mkdir -p "$OUT" "$WORK"
OUT=$(cd -- "$OUT" && pwd)
WORK=$(cd -- "$WORK" && pwd)
case "$WORK/" in "$REPO"/*) die "GUEST_WORK_DIR must be outside the repository (the kernel's version script looks for git)";; esac
[[ $NO_PATCHES != 1 || $OUT != "$REPO/public/guest" ]] || die "GUEST_NO_PATCHES=1 must not write public/guest: give an OUT_DIR"

# Snapshot the inputs first and build only from the snapshot, so that files changed in
# guest/ while the build runs cannot end up half in the outputs and half in the manifest.
SNAP=$WORK/inputs
rm -rf "$SNAP"
mkdir -p "$SNAP"
(cd "$REPO" && list_input_files | while read -r f; do cp --parents --preserve=mode -- "$f" "$SNAP/"; done)
if [[ $NO_PATCHES == 1 ]]; then
	# Stock driver: drop the patches and the option only they define (verification below
	# then checks the rest of the fragment as usual).
	rm -rf "$SNAP/guest/patches"
	mkdir -p "$SNAP/guest/patches"
	sed -i '/^CONFIG_VIRTIO_MMIO_MSI=/d' "$SNAP/guest/kernel.config"
fi
INPUT_SUMS=$(cd "$SNAP" && find guest -type f | sort | while read -r f; do sha256sum -- "$f"; done)
GUEST=$SNAP/guest

# ---------------------------------------------------------------- prerequisites
for tool in i686-linux-gnu-gcc i686-linux-gnu-ld make flex bison bc cpio gzip xz lz4 mke2fs debugfs patch dpkg-query dpkg-deb apt-get sha256sum; do
	command -v "$tool" >/dev/null || die "'$tool' not found: run 'sudo bash guest/install-deps.sh'"
done
[[ -f $KERNEL_TARBALL ]] || die "$KERNEL_TARBALL missing: run 'sudo bash guest/install-deps.sh'"
for f in /usr/share/seabios/bios.bin /usr/share/seabios/vgabios-stdvga.bin /usr/share/doc/seabios/copyright; do
	[[ -f $f ]] || die "$f missing (package seabios): run 'sudo bash guest/install-deps.sh'"
done

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || die "package $1 is not installed"; }
pkg_source() { dpkg-query -W -f='${source:Package} ${source:Version}' "$1"; }
# The real cross compiler package (gcc-i686-linux-gnu only depends on gcc-NN-i686-linux-gnu).
GCC_PKG=$(dpkg -S "$(readlink -f "$(command -v i686-linux-gnu-gcc)")" | cut -d: -f1)

# ---------------------------------------------------------------- userland (i386, static)
# fetch_i386_deb PKG DIR [LOCAL_DEB]: the i386 .deb of PKG (or LOCAL_DEB) unpacked in DIR/x.
# Sets DEB_VERSION and DEB_SOURCE ("name version" of its Debian source package).
fetch_i386_deb() {
	local pkg=$1 dir=$2 local_deb=${3:-} deb
	rm -rf "$dir"
	mkdir -p "$dir/deb"
	if [[ -n $local_deb ]]; then
		cp -- "$local_deb" "$dir/deb/"
	else
		dpkg --print-foreign-architectures | grep -qx i386 ||
			die "i386 is not a dpkg architecture here: run 'sudo bash guest/install-deps.sh'"
		# The version the committed image records, so a newer upload does not change the guest.
		local want=""
		[[ ! -f $REPO/public/guest/manifest.json ]] ||
			want=$(sed -n "s/^ *{\"name\": \"$pkg:i386\", \"version\": \"\(.*\)\"},\{0,1\}\$/\1/p" "$REPO/public/guest/manifest.json")
		if [[ -n $want ]] && ! apt-cache madison "$pkg:i386" 2>/dev/null | grep -q " $want "; then
			echo "build.sh: WARNING: $pkg:i386 $want (recorded in public/guest/manifest.json) is gone from the mirror; using the candidate, so the outputs will differ from the committed ones" >&2
			want=""
		fi
		(cd "$dir/deb" && apt-get download -q "$pkg:i386${want:+=$want}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	fi
	deb=$(find "$dir/deb" -name '*.deb' | head -n1)
	[[ -n $deb ]] || die "could not download $pkg:i386"
	[[ $(dpkg-deb -f "$deb" Package) == "$pkg" && $(dpkg-deb -f "$deb" Architecture) == i386 ]] ||
		die "$deb is not $pkg for i386"
	DEB_VERSION=$(dpkg-deb -f "$deb" Version)
	# The Source field: absent (same name and version), "name", or "name (version)".
	local src
	src=$(dpkg-deb -f "$deb" Source)
	if [[ -z $src ]]; then
		DEB_SOURCE="$pkg $DEB_VERSION"
	elif [[ $src =~ ^([^ ]+)\ \((.*)\)$ ]]; then
		DEB_SOURCE="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
	else
		DEB_SOURCE="$src $DEB_VERSION"
	fi
	dpkg-deb -x "$deb" "$dir/x"
}

log "busybox: fetching busybox-static:i386"
fetch_i386_deb busybox-static "$WORK/busybox" "${BUSYBOX_DEB:-}"
BB_VERSION=$DEB_VERSION BB_SOURCE=$DEB_SOURCE
BB_BIN=$WORK/busybox/x/bin/busybox
[[ -x $BB_BIN ]] || die "no bin/busybox in busybox-static:i386"
log "busybox: $BB_VERSION"

# e2fsck for checking the disk from inside the guest (busybox has none): the static build.
log "e2fsck: fetching e2fsck-static:i386"
fetch_i386_deb e2fsck-static "$WORK/e2fsck" "${E2FSCK_DEB:-}"
E2_VERSION=$DEB_VERSION E2_SOURCE=$DEB_SOURCE
E2_BIN=$WORK/e2fsck/x/sbin/e2fsck.static
[[ -x $E2_BIN ]] || die "no sbin/e2fsck.static in e2fsck-static:i386"
log "e2fsck: $E2_VERSION"

# ---------------------------------------------------------------- kernel
KSRC=$WORK/linux-source-6.12
KVERSION_PKG=$(pkg_version "$KERNEL_PKG")
# Everything the kernel tree depends on; when it matches the stamp the tree is reused.
KSTAMP=$(
	{
		echo "$KERNEL_PKG $KVERSION_PKG $GCC_PKG $(pkg_version "$GCC_PKG") $SOURCE_DATE_EPOCH ${KMAKE[*]}${GUEST_STOCK_FROM:+ derived-stock}"
		sha256sum "$GUEST/kernel.config"
		series_patches "$GUEST/patches" | xargs -r sha256sum
	} | sed "s|$GUEST/||" | sha256sum | cut -d' ' -f1
)
export KBUILD_BUILD_TIMESTAMP
KBUILD_BUILD_TIMESTAMP=$(date -u -d "@$SOURCE_DATE_EPOCH")
export KBUILD_BUILD_USER=guest KBUILD_BUILD_HOST=v86 KBUILD_BUILD_VERSION=1

if [[ -f $KSRC/.guest-stamp && $(cat "$KSRC/.guest-stamp") == "$KSTAMP" && -f $KSRC/arch/x86/boot/bzImage ]]; then
	log "kernel: inputs unchanged, reusing $KSRC"
else
	rm -rf "$KSRC"
	BASE=${GUEST_STOCK_FROM:+$GUEST_STOCK_FROM/linux-source-6.12}
	if [[ $NO_PATCHES == 1 && -n $BASE ]]; then
		# The stock driver from a patched build's tree and objects: every file the patches
		# touch goes back to Debian's copy, except Kconfig files. The config stays as it was:
		# dropping CONFIG_VIRTIO_MMIO_MSI would drop the GENERIC_MSI_IRQ it selects, which
		# nearly every object sees (a full rebuild); the unmodified driver never reads it.
		[[ -f $BASE/.guest-stamp && -d $BASE/.guest-patches && -f $BASE/arch/x86/boot/bzImage ]] ||
			die "GUEST_STOCK_FROM=$GUEST_STOCK_FROM holds no finished patched kernel build"
		[[ $(head -n1 "$BASE/.guest-source") == "$KERNEL_PKG $KVERSION_PKG" ]] ||
			die "GUEST_STOCK_FROM was built from $(head -n1 "$BASE/.guest-source"), not $KERNEL_PKG $KVERSION_PKG"
		log "kernel: copying the patched tree and objects of $BASE"
		cp -a "$BASE" "$KSRC"
		rm -f "$KSRC/.guest-stamp"
		mapfile -t touched < <(
			sed -n -e 's|^--- a/\([^[:space:]]*\).*|\1|p' -e 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$KSRC"/.guest-patches/*.patch |
				grep -v -e '^Kconfig$' -e '/Kconfig$' | sort -u
		)
		[[ ${#touched[@]} -gt 0 ]] || die "the patches in $BASE/.guest-patches touch no file but Kconfig"
		PRISTINE=$WORK/pristine
		rm -rf "$PRISTINE"
		mkdir -p "$PRISTINE"
		# Files a patch created are not in the tarball (tar then fails for them): removed below.
		tar -xJf "$KERNEL_TARBALL" -C "$PRISTINE" "${touched[@]/#/linux-source-6.12/}" 2>/dev/null || true
		for f in "${touched[@]}"; do
			if [[ -f $PRISTINE/linux-source-6.12/$f ]]; then
				log "kernel: $f as Debian ships it"
				cp -- "$PRISTINE/linux-source-6.12/$f" "$KSRC/$f"
			else
				log "kernel: $f removed (a patch created it)"
				rm -f -- "$KSRC/$f"
			fi
		done
		rm -rf "$KSRC/.guest-patches" "$PRISTINE"
		echo "$KERNEL_PKG $KVERSION_PKG" >"$KSRC/.guest-source"
	else
		log "kernel: unpacking $KERNEL_TARBALL"
		tar -xJf "$KERNEL_TARBALL" -C "$WORK"
		[[ -f $KSRC/Makefile ]] || die "unexpected layout in $KERNEL_TARBALL"
		echo "$KERNEL_PKG $KVERSION_PKG" >"$KSRC/.guest-source"

		mapfile -t patches < <(series_patches "$GUEST/patches")
		mkdir -p "$KSRC/.guest-patches"
		for p in "${patches[@]}"; do
			log "kernel: applying ${p#"$SNAP"/}"
			patch -d "$KSRC" -p1 --batch --forward --no-backup-if-mismatch -s <"$p" ||
				die "patch ${p#"$SNAP"/} does not apply"
			# Kept with the tree: a stock build derived from it (GUEST_STOCK_FROM) reads them.
			cp -- "$p" "$KSRC/.guest-patches/"
		done
		[[ ${#patches[@]} -gt 0 ]] || log "kernel: no patches in guest/patches"

		log "kernel: tinyconfig + guest/kernel.config"
		(
			cd "$KSRC"
			"${KMAKE[@]}" -s tinyconfig >/dev/null
			ARCH=i386 CROSS_COMPILE=i686-linux-gnu- scripts/kconfig/merge_config.sh -m .config "$GUEST/kernel.config" >"$WORK/merge_config.log"
			"${KMAKE[@]}" -s olddefconfig >/dev/null
		)

		# Every option of the fragment must be in the final .config exactly as asked.
		bad=0
		while IFS= read -r line; do
			if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
				grep -qxF -- "$line" "$KSRC/.config" || {
					echo "  $line  but .config has: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$KSRC/.config" || echo 'nothing (unknown symbol or unmet dependency)')" >&2
					bad=1
				}
			elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
				if grep -qE "^${BASH_REMATCH[1]}=" "$KSRC/.config"; then
					echo "  $line  but .config has: $(grep -E "^${BASH_REMATCH[1]}=" "$KSRC/.config")" >&2
					bad=1
				fi
			fi
		done <"$GUEST/kernel.config"
		[[ $bad == 0 ]] || die "guest/kernel.config options above did not end up in the kernel .config as asked"
		[[ $NO_PATCHES != 1 ]] || ! grep -q VIRTIO_MMIO_MSI "$KSRC/.config" || die "GUEST_NO_PATCHES=1 but .config mentions VIRTIO_MMIO_MSI"
		log "kernel: all $(grep -cE '^(CONFIG_|# CONFIG_.* is not set)' "$GUEST/kernel.config") options of guest/kernel.config verified"
	fi

	log "kernel: make -j$JOBS bzImage (log: $WORK/kernel-build.log)"
	if ! (cd "$KSRC" && "${KMAKE[@]}" -j"$JOBS" bzImage) >"$WORK/kernel-build.log" 2>&1; then
		tail -n 40 "$WORK/kernel-build.log" >&2
		die "kernel build failed (full log: $WORK/kernel-build.log)"
	fi
	echo "$KSTAMP" >"$KSRC/.guest-stamp"
fi
KRELEASE=$(cat "$KSRC/include/config/kernel.release")
KBANNER=$(
	cd "$KSRC/include/generated"
	uts=$(sed -n 's/^#define[[:space:]]*UTS_VERSION[[:space:]]*"\(.*\)"$/\1/p' utsversion.h)
	by=$(sed -n 's/^#define[[:space:]]*LINUX_COMPILE_BY[[:space:]]*"\(.*\)"$/\1/p' compile.h)
	host=$(sed -n 's/^#define[[:space:]]*LINUX_COMPILE_HOST[[:space:]]*"\(.*\)"$/\1/p' compile.h)
	cc=$(sed -n 's/^#define[[:space:]]*LINUX_COMPILER[[:space:]]*"\(.*\)"$/\1/p' compile.h)
	echo "Linux version $KRELEASE ($by@$host) ($cc) $uts"
)
log "kernel: $KBANNER"

# ---------------------------------------------------------------- initramfs
log "initramfs: assembling"
ROOT=$WORK/rootfs
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,mnt,root,etc}
install -m 0755 "$BB_BIN" "$ROOT/bin/busybox"
install -m 0755 "$E2_BIN" "$ROOT/sbin/e2fsck"
# guest/initramfs/ is an overlay over the root: /init and anything else placed there.
(cd "$GUEST/initramfs" && find . -type f | sort) | while read -r f; do
	mkdir -p "$ROOT/$(dirname "$f")"
	if [[ -x $GUEST/initramfs/$f ]]; then mode=0755; else mode=0644; fi
	install -m "$mode" "$GUEST/initramfs/$f" "$ROOT/$f"
done
[[ -x $ROOT/init ]] || die "guest/initramfs/init missing or not executable"
# guest/tools/*.c: small freestanding helpers (no C library: raw i386 system calls), built
# with the kernel's cross compiler into /usr/bin. ringparam is `ethtool -g/-G` for ring sizes.
for src in "$GUEST"/tools/*.c; do
	[[ -f $src ]] || continue
	tool=$(basename "$src" .c)
	i686-linux-gnu-gcc -Os -static -nostdlib -ffreestanding -fno-pie -no-pie -fno-stack-protector \
		-fno-asynchronous-unwind-tables -Wl,--build-id=none -Wall -Wextra -Werror \
		-o "$ROOT/usr/bin/$tool" "$src" || die "guest/tools/$tool.c does not build"
	chmod 0755 "$ROOT/usr/bin/$tool"
done
# BusyBox's applet links, made here rather than by `busybox --install -s` in /init, which
# cost ~5 M emulated instructions of every boot. The list comes from the binary itself (an
# i386 static binary, which an x86-64 host runs), so it always matches the applets it has.
BB_APPLETS=$("$BB_BIN" --list-full) || die "could not run $BB_BIN --list-full (an i386 binary: does this host run 32-bit x86 programs?)"
[[ $(wc -l <<<"$BB_APPLETS") -gt 100 ]] || die "$BB_BIN --list-full listed too few applets"
while read -r applet; do
	[[ $applet == */* ]] || continue # linuxrc: not wanted in an initramfs
	# The overlay's own files (above) win over an applet of the same name.
	[[ -e $ROOT/$applet || -L $ROOT/$applet ]] && continue
	mkdir -p "$ROOT/$(dirname "$applet")"
	ln -s /bin/busybox "$ROOT/$applet"
done <<<"$BB_APPLETS"
find "$ROOT" -type d -exec chmod 0755 {} +
chmod 1777 "$ROOT/tmp"
chmod 0700 "$ROOT/root"
find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
# LZ4 in its legacy format (-l: the only one the kernel's unpacker reads). It unpacks ~3x faster
# than gzip on the emulated CPU for a ~15 % larger archive (see guest/kernel.config).
(cd "$ROOT" && find . -mindepth 1 | sort | cpio --quiet --reproducible -o -H newc -R 0:0) |
	lz4 -l -12 -q -c >"$WORK/initrd.img"

# ---------------------------------------------------------------- default disk (ext2)
log "disk: ext2 $DISK_SIZE from guest/disk/"
DSTAGE=$WORK/disk
rm -rf "$DSTAGE"
mkdir -p "$DSTAGE"
(cd "$GUEST/disk" && find . -type f | sort) | while read -r f; do
	mkdir -p "$DSTAGE/$(dirname "$f")"
	install -m 0644 "$GUEST/disk/$f" "$DSTAGE/$f"
done
find "$DSTAGE" -type d -exec chmod 0755 {} +
find "$DSTAGE" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
rm -f "$WORK/disk.img"
MKE2FS_CONFIG=$GUEST/mke2fs.conf E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH \
	mke2fs -q -F -t ext2 -L "$DISK_LABEL" -U "$DISK_UUID" -m 0 \
	-E "root_owner=0:0,hash_seed=$DISK_HASH_SEED" -d "$DSTAGE" "$WORK/disk.img" "$DISK_SIZE" >"$WORK/mke2fs.log" 2>&1 ||
	{ cat "$WORK/mke2fs.log" >&2; die "mke2fs failed"; }
# mke2fs -d copies each file's ctime, which cannot be set on the staging files: fix them up.
(
	cd "$DSTAGE"
	echo "sif / ctime @$SOURCE_DATE_EPOCH"
	find . -mindepth 1 | sort | sed 's|^\.||' | while read -r f; do echo "sif \"$f\" ctime @$SOURCE_DATE_EPOCH"; done
) >"$WORK/disk-times.debugfs"
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH debugfs -w -f "$WORK/disk-times.debugfs" "$WORK/disk.img" >>"$WORK/mke2fs.log" 2>&1 ||
	{ cat "$WORK/mke2fs.log" >&2; die "debugfs failed"; }
! grep -q '^sif:' "$WORK/mke2fs.log" || { cat "$WORK/mke2fs.log" >&2; die "debugfs could not set the time stamps"; }

# ---------------------------------------------------------------- outputs
log "outputs: $OUT"
rm -rf "$OUT/LICENSES"
mkdir -p "$OUT/LICENSES"
install -m 0644 "$KSRC/arch/x86/boot/bzImage" "$OUT/bzImage"
install -m 0644 "$WORK/initrd.img" "$OUT/initrd.img"
install -m 0644 /usr/share/seabios/bios.bin "$OUT/bios.bin"
install -m 0644 /usr/share/seabios/vgabios-stdvga.bin "$OUT/vgabios.bin"
install -m 0644 "$WORK/disk.img" "$OUT/disk.img"

install -m 0644 "$KSRC/COPYING" "$OUT/LICENSES/linux-COPYING"
install -m 0644 "$KSRC/LICENSES/preferred/GPL-2.0" "$OUT/LICENSES/linux-GPL-2.0"
install -m 0644 "$KSRC/LICENSES/exceptions/Linux-syscall-note" "$OUT/LICENSES/linux-Linux-syscall-note"
install -m 0644 "$WORK/busybox/x/usr/share/doc/busybox-static/copyright" "$OUT/LICENSES/busybox-copyright"
install -m 0644 "$WORK/e2fsck/x/usr/share/doc/e2fsck-static/copyright" "$OUT/LICENSES/e2fsprogs-copyright"
install -m 0644 /usr/share/doc/seabios/copyright "$OUT/LICENSES/seabios-copyright"
# Texts the Debian copyright files point to.
for l in GPL-2 LGPL-2 LGPL-3; do
	[[ -f /usr/share/common-licenses/$l ]] || die "/usr/share/common-licenses/$l missing (package base-files)"
	install -m 0644 "/usr/share/common-licenses/$l" "$OUT/LICENSES/$l"
done

KSOURCE=$(pkg_source "$KERNEL_PKG")
SB_SOURCE=$(pkg_source seabios)
BB_SRC_NAME=${BB_SOURCE% *} BB_SRC_VERSION=${BB_SOURCE#* }
E2_SRC_NAME=${E2_SOURCE% *} E2_SRC_VERSION=${E2_SOURCE#* }
snapshot() { echo "https://snapshot.debian.org/package/$1/$(sed 's/:/%3A/g; s/+/%2B/g' <<<"$2")/"; }

cat >"$OUT/SOURCES.md" <<EOF
# Where the guest binaries come from

Generated by guest/build.sh; do not edit. Every binary here is built from, or copied
out of, Debian packages. The build is reproducible: see guest/README.md and
manifest.json (sha256 of every input and output).

| File | What | Debian source package | License (text in LICENSES/) |
|------|------|-----------------------|-----------------------------|
| bzImage | Linux $KRELEASE for i386, built from the binary package $KERNEL_PKG $KVERSION_PKG with our config fragment guest/kernel.config and the patches in guest/patches | ${KSOURCE% *} ${KSOURCE#* } | GPL-2.0 WITH Linux-syscall-note (linux-COPYING, linux-GPL-2.0, linux-Linux-syscall-note) |
| initrd.img | LZ4 (legacy format) cpio: /bin/busybox from busybox-static:i386 $BB_VERSION; /sbin/e2fsck (sbin/e2fsck.static of e2fsck-static:i386 $E2_VERSION); /init and the rest from guest/initramfs | $BB_SRC_NAME $BB_SRC_VERSION; $E2_SRC_NAME $E2_SRC_VERSION | busybox: GPL-2.0 (busybox-copyright, GPL-2); e2fsck: GPL-2.0 (e2fsprogs-copyright, GPL-2) |
| bios.bin | /usr/share/seabios/bios.bin, unchanged | ${SB_SOURCE% *} ${SB_SOURCE#* } | LGPL-3.0 (seabios-copyright, LGPL-3, LGPL-2) |
| vgabios.bin | /usr/share/seabios/vgabios-stdvga.bin, unchanged | ${SB_SOURCE% *} ${SB_SOURCE#* } | LGPL-3.0 (seabios-copyright, LGPL-3, LGPL-2) |
| disk.img | ext2 image of guest/disk/ made with mke2fs (e2fsprogs $(pkg_version e2fsprogs)); holds only our files | - | same as the repository |

Corresponding source:
- Linux: the Debian source package ${KSOURCE% *} ${KSOURCE#* }, $(snapshot "${KSOURCE% *}" "${KSOURCE#* }"),
  plus the patches in guest/patches/ of this repository (GPL-2.0) and the configuration
  guest/kernel.config applied on top of \`make tinyconfig\`.
- BusyBox: the Debian source package $BB_SRC_NAME $BB_SRC_VERSION, $(snapshot "$BB_SRC_NAME" "$BB_SRC_VERSION")
- e2fsck: the Debian source package $E2_SRC_NAME $E2_SRC_VERSION, $(snapshot "$E2_SRC_NAME" "$E2_SRC_VERSION")
- SeaBIOS: the Debian source package ${SB_SOURCE% *} ${SB_SOURCE#* }, $(snapshot "${SB_SOURCE% *}" "${SB_SOURCE#* }")
EOF

if [[ $NO_PATCHES == 1 && -n ${GUEST_STOCK_FROM:-} ]]; then
	printf '\n%s\n' "GUEST_NO_PATCHES=1 build derived from a patched tree (GUEST_STOCK_FROM): every file the patches in guest/patches touch is Debian's own except Kconfig files, so the virtio_mmio driver is the unmodified one; the config keeps CONFIG_VIRTIO_MMIO_MSI, which that driver does not read." >>"$OUT/SOURCES.md"
elif [[ $NO_PATCHES == 1 ]]; then
	printf '\n%s\n' "GUEST_NO_PATCHES=1 build: this bzImage has none of the patches in guest/patches and no CONFIG_VIRTIO_MMIO_MSI (stock virtio_mmio driver)." >>"$OUT/SOURCES.md"
fi

# ---------------------------------------------------------------- manifest
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
{
	echo '{'
	echo '  "schema": 1,'
	echo "  \"kernelRelease\": $(json_str "$KRELEASE"),"
	echo "  \"kernelVersion\": $(json_str "$KBANNER"),"
	echo "  \"sourceDateEpoch\": $SOURCE_DATE_EPOCH,"
	echo '  "packages": ['
	{
		for p in "$KERNEL_PKG" gcc-i686-linux-gnu "$GCC_PKG" binutils-i686-linux-gnu seabios e2fsprogs cpio gzip xz-utils lz4; do
			echo "    {\"name\": $(json_str "$p"), \"version\": $(json_str "$(pkg_version "$p")")}"
		done
		echo "    {\"name\": \"busybox-static:i386\", \"version\": $(json_str "$BB_VERSION")}"
		echo "    {\"name\": \"e2fsck-static:i386\", \"version\": $(json_str "$E2_VERSION")}"
	} | sed '$!s/$/,/'
	echo '  ],'
	echo '  "inputs": ['
	while read -r sum f; do
		echo "    {\"path\": $(json_str "$f"), \"sha256\": \"$sum\"}"
	done <<<"$INPUT_SUMS" | sed '$!s/$/,/'
	echo '  ],'
	echo '  "outputs": ['
	(cd "$OUT" && find . -type f ! -name manifest.json | sed 's|^\./||' | sort | while read -r f; do
		echo "    {\"name\": $(json_str "$f"), \"size\": $(stat -c %s -- "$f"), \"sha256\": \"$(sha256sum -- "$f" | cut -d' ' -f1)\"}"
	done) | sed '$!s/$/,/'
	echo '  ]'
	echo '}'
} >"$OUT/manifest.json"

log "done"
(cd "$OUT" && for f in bzImage initrd.img bios.bin vgabios.bin disk.img; do printf '  %-12s %9s bytes\n' "$f" "$(stat -c %s "$f")"; done)
