#!/usr/bin/env bash
# kgmtl set-up, build and check on Debian 12, run as root from the checkout.
#
#   bash .ci/setup.sh quickstart   install, build, run the quickstart experiment
#   bash .ci/setup.sh test         install, build, run the default test suite (CI)
#   bash .ci/setup.sh asan         install, build build-asan/ with AddressSanitizer +
#                                  UndefinedBehaviorSanitizer, run the same suite there
#   bash .ci/setup.sh valgrind     install (+ valgrind), build build/, run the same suite
#                                  under memcheck (slow: tens of minutes)
#
# Missing Debian packages are installed with apt-get (non-interactive); apt is
# not touched when everything is present. build/ (and build-asan/) are
# configured once and reused. Exits non-zero on any failure.
set -euo pipefail

MODE="${1:-}"
case "$MODE" in
quickstart | test | asan | valgrind) ;;
*)
    echo "usage: bash .ci/setup.sh quickstart|test|asan|valgrind" >&2
    exit 2
    ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '==> %s\n' "$*"; }

# ---- packages --------------------------------------------------------------------
PACKAGES=(gcc libc6-dev pkg-config meson ninja-build
    libigraph-dev libopenblas-dev libmsgpack-dev libcriterion-dev libfyaml-dev)
if [[ "$MODE" == valgrind ]]; then PACKAGES+=(valgrind); fi

missing=()
for p in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    say "installing: ${missing[*]}"
    SUDO=()
    if [[ "$(id -u)" != 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            SUDO=(sudo -n)
        else
            echo "setup: missing packages (${missing[*]}) and not root; run as root or install them" >&2
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -q
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    say "all Debian packages present"
fi

# ---- configure + build -------------------------------------------------------------
# configure DIR [meson options...]: set up DIR once, then only reconfigure when
# options are given (so an existing build keeps its settings otherwise).
configure() {
    local dir="$1"
    shift
    if [[ -f "$dir/meson-private/coredata.dat" ]]; then
        if (($#)); then meson setup --reconfigure "$dir" "$@"; fi
    else
        rm -rf "$dir"
        meson setup "$dir" "$@"
    fi
}

# Every test should be in the default suite ('unit') or in one of the suites
# that are run separately; a test in none of them never runs in CI, which is
# said loudly here (not fatal: the tags belong to each module's owner).
check_suites() {
    meson introspect "$1" --tests | python3 -c '
import json, sys
sep = {"unit", "slow", "data", "fuzz", "browser"}
bad = [t["name"] for t in json.load(sys.stdin)
       if not sep & {s.split(":")[-1] for s in t["suite"]}]
if bad:
    print("setup: WARNING: not run by any mode (tag them unit, or slow/data/fuzz/browser): "
          + ", ".join(bad), file=sys.stderr)
'
}

run_suite() {
    local dir="$1"
    shift
    check_suites "$dir"
    say "meson test -C $dir --suite unit $*"
    meson test -C "$dir" --print-errorlogs --suite unit "$@"
}

case "$MODE" in
quickstart | test | valgrind)
    configure build
    say "building build/"
    ninja -C build
    ;;
asan)
    configure build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
    say "building build-asan/ (address + undefined sanitizers)"
    ninja -C build-asan
    ;;
esac

# ---- run ------------------------------------------------------------------------------
case "$MODE" in
quickstart)
    if [[ -f experiments/quickstart.yaml ]]; then
        # --resume: a second run reuses finished runs instead of refusing the existing results;
        # -j 2: two single-threaded runs at a time (the models are small; two runs use two cores best)
        say "./build/kgmtl run experiments/quickstart.yaml --resume -j 2"
        ./build/kgmtl run experiments/quickstart.yaml --resume -j 2
    else
        # until the quickstart manifest lands: the built-in multi-task demo
        say "./build/kgmtl run --demo"
        ./build/kgmtl run --demo
    fi
    ;;
test)
    run_suite build
    ;;
asan)
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
    # Criterion's own runner leaks two 48-byte blocks (calloc inside
    # libcriterion.so.3, no symbols) when it runs a binary's tests in parallel
    # workers; LeakSanitizer cannot suppress by top frame only (a pattern on
    # libcriterion would hide every test's leak, since Criterion calls the
    # tests), so each binary runs its tests one at a time (meson still runs
    # binaries in parallel). Seen with tests/core/train/test_trainer, 2026-11-22.
    export CRITERION_JOBS=1
    # sanitized code runs several times slower
    run_suite build-asan --timeout-multiplier 4
    # A leak found by LeakSanitizer when a Criterion worker exits only makes
    # Criterion warn ("crashed during its setup or teardown") and still pass
    # the test, so the log is checked as well.
    log=build-asan/meson-logs/testlog.txt
    if grep -qE "ERROR: LeakSanitizer|runtime error:|crashed during its setup or teardown" "$log"; then
        grep -nE -B2 -A25 "ERROR: LeakSanitizer|runtime error:|crashed during its setup or teardown" "$log" | head -200
        echo "asan: sanitizer reports in $log (above)" >&2
        exit 1
    fi
    ;;
valgrind)
    # Criterion runs every test in a re-executed worker process: trace the
    # children, keep valgrind quiet between fork and exec (otherwise the
    # worker hand-shake fails with "Protocol error"), and judge by the
    # per-process logs, because a worker's valgrind exit code does not reach
    # Criterion's verdict.
    logs="$PWD/build/valgrind-logs"
    rm -rf "$logs"
    mkdir -p "$logs"
    # only blocks allocated BY the runner itself (first frame above the
    # allocator in its library); a test's own leak passes through
    # libcriterion further down the stack and is still reported
    cat >"$logs/criterion.supp" <<'SUPP'
{
   criterion-runner-alloc
   Memcheck:Leak
   fun:*alloc
   obj:*/libcriterion.so*
}
{
   criterion-runner-dir
   Memcheck:Leak
   fun:malloc
   fun:__alloc_dir
   fun:fdopendir
   obj:*/libcriterion.so*
}
{
   nanomsg-alloc
   Memcheck:Leak
   fun:*alloc
   obj:*/libnanomsg.so*
}
{
   shell-script-tests-interpreter
   Memcheck:Leak
   fun:*alloc
   ...
   obj:*/dash
}
SUPP
    # system tools run by shell-script tests (sh, grep, tail, ...) are not ours; the
    # script's own interpreter (dash, the traced top process) is suppressed above
    vg="valgrind -q --trace-children=yes --trace-children-skip=/usr/*,/bin/*"
    vg+=" --child-silent-after-fork=yes --leak-check=full"
    vg+=" --show-leak-kinds=definite --errors-for-leak-kinds=definite"
    vg+=" --suppressions=$logs/criterion.supp --log-file=$logs/%p.log"
    rc=0
    # (the bench smoke test only times BLAS under the emulator: skipped)
    run_suite build --no-suite bench --wrap="$vg" --timeout-multiplier 40 || rc=$?
    bad=$(find "$logs" -name '*.log' -size +0 | sort)
    if [[ -n "$bad" ]]; then
        for f in $bad; do
            echo "---- $f"
            cat "$f"
        done
        echo "valgrind: memcheck reported errors (logs above, in $logs)" >&2
        exit 1
    fi
    if ((rc != 0)); then exit "$rc"; fi
    ;;
esac
say "$MODE: ok"
