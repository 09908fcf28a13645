#!/usr/bin/env bash
# CI check of the committed guest image in public/guest/.
#
#   bash guest/check.sh                 full check (rebuilds from scratch: ~5 min on 2 cores)
#   bash guest/check.sh --inputs-only   only steps 1 and 2 (seconds)
#
# 1. Inputs: the sha256 of every input file recorded in public/guest/manifest.json must
#    match the files now in guest/ (and the set of inputs must be the same). A mismatch
#    means someone changed guest/ without rebuilding: run guest/build.sh and commit
#    public/guest/.
# 2. Outputs: the committed files in public/guest/ must match the manifest's hashes.
# 3. Reproducibility: rebuild into a temporary directory (fresh work dir) and compare every
#    output byte for byte with the committed one. If the Debian package versions on this
#    machine differ from the manifest's, the outputs cannot be expected to match: a
#    warning is printed and only steps 1 and 2 decide the result.
#
# Environment: CHECK_KEEP=1 keeps the temporary directory; CHECK_WORK_DIR=DIR rebuilds in DIR
# (emptied first) and keeps it, so that a stock kernel can be derived from its tree
# (GUEST_NO_PATCHES=1 GUEST_STOCK_FROM=DIR bash guest/build.sh OUT, as .ci/run does);
# GUEST_JOBS is passed to build.sh.
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$SCRIPT_DIR/.." && pwd)
PUB=$REPO/public/guest
MANIFEST=$PUB/manifest.json

fail() { echo "check.sh: FAIL: $*" >&2; exit 1; }
[[ -f $MANIFEST ]] || fail "$MANIFEST missing: run 'bash guest/build.sh' and commit public/guest/"

# The manifest is written by build.sh with one entry per line; these pull the entries out.
manifest_inputs() { sed -n 's/^ *{"path": "\(.*\)", "sha256": "\([0-9a-f]*\)"},\{0,1\}$/\2  \1/p' "$1"; }
manifest_outputs() { sed -n 's/^ *{"name": "\(.*\)", "size": [0-9]*, "sha256": "\([0-9a-f]*\)"},\{0,1\}$/\2  \1/p' "$1"; }
manifest_packages() { sed -n 's/^ *{"name": "\(.*\)", "version": "\(.*\)"},\{0,1\}$/\1 \2/p' "$1"; }

# ---------------------------------------------------------------- 1. inputs
recorded=$(manifest_inputs "$MANIFEST")
[[ -n $recorded ]] || fail "no inputs found in $MANIFEST"
current=$(bash "$SCRIPT_DIR/build.sh" --list-inputs)
if [[ $recorded != "$current" ]]; then
	echo "Inputs changed since public/guest/ was built (- manifest, + now):" >&2
	diff <(echo "$recorded") <(echo "$current") | grep '^[<>]' | sed 's/^</  -/; s/^>/  +/' >&2 || true
	fail "public/guest/ is stale: run 'bash guest/build.sh' and commit public/guest/"
fi
echo "check.sh: inputs match the manifest ($(wc -l <<<"$current") files)"

# ---------------------------------------------------------------- 2. committed outputs
outs=$(manifest_outputs "$MANIFEST")
[[ -n $outs ]] || fail "no outputs found in $MANIFEST"
(cd "$PUB" && sha256sum --quiet -c - <<<"$outs") || fail "files in public/guest/ do not match manifest.json"
committed=$(cd "$PUB" && find . -type f ! -name manifest.json | sed 's|^\./||' | sort)
[[ $committed == "$(cut -d' ' -f3- <<<"$outs" | sort)" ]] ||
	fail "public/guest/ holds files the manifest does not list, or lacks some it lists"
echo "check.sh: committed outputs match the manifest ($(wc -l <<<"$outs") files)"

[[ ${1:-} == --inputs-only ]] && { echo "check.sh: OK (inputs only)"; exit 0; }

# ---------------------------------------------------------------- 3. rebuild and compare
TMP=$(mktemp -d "${TMPDIR:-/tmp}/guest-check.XXXXXX")
if [[ ${CHECK_KEEP:-0} == 1 ]]; then
	echo "check.sh: keeping $TMP"
else
	trap 'rm -rf "$TMP"' EXIT
fi
WORK=$TMP/work
if [[ -n ${CHECK_WORK_DIR:-} ]]; then
	WORK=$CHECK_WORK_DIR
	rm -rf "$WORK"
fi
echo "check.sh: rebuilding into $TMP/out (work dir $WORK, log: $TMP/build.log)"
if ! GUEST_WORK_DIR=$WORK bash "$SCRIPT_DIR/build.sh" "$TMP/out" >"$TMP/build.log" 2>&1; then
	tail -n 40 "$TMP/build.log" >&2
	fail "the build failed"
fi

pk_old=$(manifest_packages "$MANIFEST")
pk_new=$(manifest_packages "$TMP/out/manifest.json")
if [[ $pk_old != "$pk_new" ]]; then
	cat >&2 <<EOF

check.sh: WARNING: the Debian packages on this machine differ from the ones the committed
image was built with, so its outputs cannot be compared byte for byte. Only the inputs
were checked. (- manifest, + this machine)
$(diff <(echo "$pk_old") <(echo "$pk_new") | grep '^[<>]' | sed 's/^</  -/; s/^>/  +/')
To update the image to these packages: bash guest/build.sh && commit public/guest/.

EOF
	echo "check.sh: OK (inputs only; package versions differ)"
	exit 0
fi

bad=0
while read -r sum name; do
	new=$TMP/out/$name
	if [[ ! -f $new ]]; then
		echo "  $name: not produced by the rebuild" >&2; bad=1
	elif [[ $(sha256sum <"$new" | cut -d' ' -f1) != "$sum" ]]; then
		echo "  $name: differs (committed $(stat -c %s "$PUB/$name") bytes, rebuilt $(stat -c %s "$new") bytes)" >&2; bad=1
	fi
done <<<"$(manifest_outputs "$MANIFEST" | sed 's/  / /')"
cmp -s "$MANIFEST" "$TMP/out/manifest.json" || { echo "  manifest.json differs:" >&2; diff "$MANIFEST" "$TMP/out/manifest.json" >&2 || true; bad=1; }
[[ $bad == 0 ]] || fail "the rebuilt outputs differ from the committed ones (not reproducible, or committed by hand)"
echo "check.sh: OK: the rebuild is byte-identical to public/guest/"
