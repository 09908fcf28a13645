#!/usr/bin/env bash
# A cheap check of the kernel series in guest/patches on architectures the guest build does not
# cover: compile only the objects the series touches, with W=1, for
#   x86_64 (the host's gcc), virtio_mmio as a module (CONFIG_VIRTIO_MMIO=m), and
#   arm64 (aarch64-linux-gnu-gcc), virtio_mmio built in,
# each from allnoconfig plus the few options the objects need, and run checkpatch --strict over
# every patch. The guest build (guest/build.sh) is the i386, built-in case.
#
#   bash guest/cross-check.sh
#
# A warning fails the check only if the unpatched file does not give it too (Debian's 6.12 has
# W=1 warnings of its own, e.g. kernel-doc in arch/x86/kernel/apic/apic.c). For the module, every
# symbol virtio_mmio.o needs from the kernel must be exported (modpost cannot run without vmlinux).
#
# Environment: CROSS_CHECK_WORK_DIR (default /tmp/guest-cross-check), GUEST_JOBS (default 2).
# Needs guest/install-deps.sh's packages (linux-source-6.12, gcc, gcc-aarch64-linux-gnu, ...).
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
PATCHES=$SCRIPT_DIR/patches
WORK=${CROSS_CHECK_WORK_DIR:-/tmp/guest-cross-check}
JOBS=${GUEST_JOBS:-2}
TARBALL=/usr/src/linux-source-6.12.tar.xz
KSRC=$WORK/linux-source-6.12
START=$SECONDS

die() { echo "cross-check.sh: error: $*" >&2; exit 1; }
log() { printf '[%4ss] %s\n' "$((SECONDS - START))" "$*"; }

for tool in gcc aarch64-linux-gnu-gcc make flex bison bc perl patch nm; do
	command -v "$tool" >/dev/null || die "'$tool' not found: run 'sudo bash guest/install-deps.sh'"
done
[[ -f $TARBALL ]] || die "$TARBALL missing: run 'sudo bash guest/install-deps.sh'"

mapfile -t patches < <(find "$PATCHES" -maxdepth 1 -type f -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | sort)
[[ ${#patches[@]} -gt 0 ]] || die "no patches in $PATCHES"

rm -rf "$WORK"
mkdir -p "$WORK"
log "unpacking $TARBALL"
tar -xJf "$TARBALL" -C "$WORK"
mkdir -p "$WORK/pristine"
for p in "${patches[@]}"; do
	log "applying $(basename "$p")"
	patch -d "$KSRC" -p1 --batch --forward --no-backup-if-mismatch -s <"$p" || die "$(basename "$p") does not apply"
done
# The C files the series touches, and Debian's copy of each for the warning baseline.
mapfile -t touched < <(sed -n 's|^+++ b/\(.*\.c\)$|\1|p' "${patches[@]}" | sort -u)
tar -xJf "$TARBALL" -C "$WORK/pristine" "${touched[@]/#/linux-source-6.12/}"

failed=0
log "checkpatch --strict"
for p in "${patches[@]}"; do
	# spdxcheck.py needs python3-ply, which nothing else here uses: its complaint is not ours.
	out=$(cd "$KSRC" && scripts/checkpatch.pl --strict --no-tree -q --ignore SPDX_LICENSE_TAG "$p" 2>/dev/null) || true
	if [[ -n $out ]]; then
		echo "$out"
		echo "  checkpatch: $(basename "$p"): NOT clean"
		failed=1
	else
		echo "  checkpatch: $(basename "$p"): clean"
	fi
done

# Warnings of one object as "file: message" lines (no line numbers: they move with the patch).
warnings() { grep -E '^[^ ]+:[0-9]+(:[0-9]+)?: warning:' "$1" | sed -E 's/^([^:]+):[0-9]+(:[0-9]+)?: warning: /\1: /' | sort -u || true; }

# check_arch NAME ARCH CROSS_COMPILE FRAGMENT OBJECTS...
check_arch() {
	local name=$1 arch=$2 cross=$3 fragment=$4
	shift 4
	local out=$WORK/out-$name obj src log base new
	local kmake=(make -s -C "$KSRC" O="$out" ARCH="$arch" CROSS_COMPILE="$cross")
	mkdir -p "$out"
	log "$name: allnoconfig + $(tr '\n' ' ' <<<"$fragment")"
	"${kmake[@]}" allnoconfig >/dev/null
	printf '%s\n' "$fragment" >"$out/fragment.config"
	(cd "$KSRC" && ARCH=$arch CROSS_COMPILE=$cross scripts/kconfig/merge_config.sh -O "$out" -m "$out/.config" "$out/fragment.config" >/dev/null)
	"${kmake[@]}" olddefconfig >/dev/null
	while IFS= read -r line; do
		[[ $line =~ ^CONFIG_ ]] || continue
		grep -qxF -- "$line" "$out/.config" || die "$name: $line did not end up in .config"
	done <<<"$fragment"
	log "$name: make prepare"
	"${kmake[@]}" -j"$JOBS" prepare >"$out/prepare.log" 2>&1 || { tail -n 30 "$out/prepare.log" >&2; die "$name: make prepare failed"; }
	for obj in "$@"; do
		src=${obj%.o}.c
		log "$name: $obj (W=1)"
		# Debian's file first: its warnings are the baseline.
		cp "$KSRC/$src" "$out/patched.c"
		cp "$WORK/pristine/linux-source-6.12/$src" "$KSRC/$src"
		"${kmake[@]}" W=1 "$obj" >"$out/base.log" 2>&1 || true
		cp "$out/patched.c" "$KSRC/$src"
		log=$out/$(tr / _ <<<"$obj").log
		if ! "${kmake[@]}" W=1 "$obj" >"$log" 2>&1; then
			cat "$log"
			echo "  $name: $obj: DOES NOT COMPILE"
			failed=1
			continue
		fi
		base=$(warnings "$out/base.log")
		new=$(comm -13 <(echo "$base") <(warnings "$log"))
		if [[ -n $new ]]; then
			echo "$new"
			echo "  $name: $obj: new W=1 warnings (above)"
			failed=1
		else
			echo "  $name: $obj: compiles, no new W=1 warnings ($(grep -c . <<<"$base" || true) in Debian's file)"
		fi
	done
}

# Symbols exported through macros that paste their names (EXPORT_SYMBOL(_dev_##level) in
# drivers/base/core.c, EXPORT_SYMBOL(param_ops_##name) in kernel/params.c), and the compiler's
# and the architecture's own, which a grep for EXPORT_SYMBOL(name) cannot find.
MACRO_EXPORTS='^(_dev_(emerg|alert|crit|err|warn|notice|info)|param_ops_[a-z]+|param_(get|set)_[a-z]+|__fentry__|__x86_.*|__stack_chk_.*|__ref_stack_chk_guard|_GLOBAL_OFFSET_TABLE_|__this_module|__tracepoint_.*|__SCK__.*|__SCT__.*)$'

# Exported symbols of the patched tree, for the module's undefined symbols.
check_module_symbols() {
	local name=$1 obj=$2 missing
	[[ -f $obj ]] || return 0
	log "$name: symbols $(basename "$obj") needs are exported"
	missing=$(comm -23 \
		<(nm -u "$obj" | awk '{print $2}' | grep -vE "$MACRO_EXPORTS" | sort -u) \
		<(grep -rhoE --include='*.c' --include='*.S' --include='*.h' 'EXPORT_SYMBOL(_GPL|_NS|_NS_GPL)?\([A-Za-z0-9_]+' "$KSRC/kernel" "$KSRC/lib" "$KSRC/mm" "$KSRC/drivers/base" "$KSRC/drivers/virtio" "$KSRC/arch/x86" "$KSRC/fs" "$KSRC/init" | sed 's/.*(//' | sort -u))
	if [[ -n $missing ]]; then
		echo "$missing"
		echo "  $name: symbols used by the module but not exported (above)"
		failed=1
	else
		echo "  $name: every symbol it needs is exported"
	fi
}

X86_64_FRAGMENT='CONFIG_64BIT=y
CONFIG_MODULES=y
CONFIG_PCI=y
CONFIG_PCI_MSI=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_MMIO=m
CONFIG_VIRTIO_MMIO_MSI=y'
ARM64_FRAGMENT='CONFIG_PCI=y
CONFIG_PCI_MSI=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_MMIO=y
CONFIG_VIRTIO_MMIO_MSI=y'

x86_objs=() arm_objs=()
for f in "${touched[@]}"; do
	case $f in
	arch/x86/*) x86_objs+=("${f%.c}.o") ;;
	arch/*) ;;
	*) x86_objs+=("${f%.c}.o") arm_objs+=("${f%.c}.o") ;;
	esac
done

check_arch x86_64 x86_64 "" "$X86_64_FRAGMENT" "${x86_objs[@]}"
check_module_symbols x86_64 "$WORK/out-x86_64/drivers/virtio/virtio_mmio.o"
check_arch arm64 arm64 aarch64-linux-gnu- "$ARM64_FRAGMENT" "${arm_objs[@]}"

[[ $failed == 0 ]] || die "the series has problems (above)"
log "done: the series compiles for x86_64 (virtio_mmio as a module) and arm64 with no new W=1 warnings, and is checkpatch --strict clean"
