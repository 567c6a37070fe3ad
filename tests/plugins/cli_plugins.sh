#!/bin/sh
# `kgmtl plugins` exit codes and output: 0 ok, 1 load failure / not found, 2 usage.
# usage: cli_plugins.sh KGMTL_EXE BAD_PLUGIN_DIR
set -u
exe=$1 bad=$2
pass=0 fail=0
check() { # name expected-rc command...
    name=$1 want=$2; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -eq "$want" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name: rc $rc, want $want"; echo "$out"; fi
}
has() { # name needle command...
    name=$1 needle=$2; shift 2
    if "$@" 2>&1 | grep -q -- "$needle"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name: no '$needle'"; "$@" 2>&1; fi
}
check help 0 "$exe" plugins --help
check list 0 "$exe" plugins list
has list-ctr "interactions" "$exe" plugins list
has list-kge "mrr,hits@1,hits@3,hits@10" "$exe" plugins list
check describe 0 "$exe" plugins describe topk
has describe-option "kgat_ndcg" "$exe" plugins describe topk
has describe-arrow "↓ rmse" "$exe" plugins describe rating
check not-found 1 "$exe" plugins describe no_such_plugin
has not-found-msg "did you mean 'ctr'" "$exe" plugins describe ctrr
check abi 1 "$exe" plugins describe "$bad/bad_abi.so"
has abi-msg "this host implements ABI 1.2" "$exe" plugins describe "$bad/bad_abi.so"
check bad-list 1 "$exe" plugins -P "$bad" list
# a plugin crashing in kgm_task_entry during manifest validation: an error
# naming the file, not a dead sweep (exit 139)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kgmtl-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
printf 'name: crash\ntasks:\n  - plugin: %s/bad_crash_entry.so\nseeds: [1, 2]\noutput: %s/out\n' "$bad" "$tmp" >"$tmp/m.yaml"
check crash-run 2 "$exe" run "$tmp/m.yaml"
has crash-run-msg "bad_crash_entry.so.* in kgm_task_entry" "$exe" run "$tmp/m.yaml"
check crash-describe 1 "$exe" plugins describe "$bad/bad_crash_entry.so"
check usage 2 "$exe" plugins describe
check usage-sub 2 "$exe" plugins frobnicate
check usage-opt 2 "$exe" plugins --bogus
# every subcommand shares one -P limit (5) and says so
for sub in plugins run report eval recommend; do
    check "too-many-P-$sub" 2 "$exe" $sub -P a -P b -P c -P d -P e -P f x
    has "too-many-P-$sub-msg" "kgmtl $sub: at most 5 --plugin-path options, found another: 'f'" "$exe" $sub -P a -P b -P c -P d -P e -P f x
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
