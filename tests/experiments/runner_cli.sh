#!/bin/sh
# `kgmtl run` end to end on a tiny generated world: what a resumed sweep reuses
# is verified (issue 12 defects 6-8, issue 13 item 4).
#  - a plugin that calls exit(0) in forward_loss: the run failed (no DONE);
#  - a changed manifest: --resume refuses, listing the run; --rerun-changed
#    moves the old folder to .superseded/ and runs it again;
#  - a finished run with a damaged best.ckpt or metrics.csv is not reused;
#  - an unfinished run with a corrupt best.ckpt, a truncated metrics.csv or a
#    last.ckpt that is a directory fails with a message naming the file, and
#    --retry-failed starts it over.
# usage: runner_cli.sh KGMTL_EXE EXIT_PLUGIN_SO
set -u
exe=$1 exitso=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kgmtl-runner-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$tmp/out" ] && sed 's/^/    /' "$tmp/out"; }
# run NAME WANT_RC ARGS...: kgmtl run, output in $tmp/out
run() {
    name=$1 want=$2; shift 2
    "$exe" run -q --no-report "$@" >"$tmp/out" 2>&1; rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else bad "$name: rc $rc, want $want"; fi
}
has() { # NAME NEEDLE [FILE]: FILE (default: the last output) contains NEEDLE
    if grep -q -- "$2" "${3:-$tmp/out}"; then ok; else bad "$1: no '$2' in ${3:-the output}"; fi
}
manifest() { # FILE TASK EPOCHS
    cat >"$1" <<EOF
name: runner cli
dataset: {source: world, n_users: 60, n_items: 80, interactions_per_user: 10}
encoder: {dim: 8}
mixer: {bottom_hidden: 8}
tasks:
  - plugin: $2
optimisation: {epochs: $3, batch_size: 64, steps_per_epoch: 3}
evaluation: {cold: false}
seeds: [1]
output: $tmp/out-$(basename "$1" .yaml)
EOF
}

# defect 7: exit(0) inside forward_loss is a failed run, not "1 ok"
manifest "$tmp/exit.yaml" "$exitso" 1
run exit-rc 1 "$tmp/exit.yaml"
has exit-count "0 ok, 1 failed"
r=$tmp/out-exit/seed-1
[ -f "$r/DONE" ] && bad "exit: DONE written" || ok
has exit-failed "exited with status 0 before the run finished" "$r/FAILED"

# defect 6: a changed manifest is not resumed with the old results
manifest "$tmp/ctr.yaml" ctr 2
run first 0 "$tmp/ctr.yaml"
r=$tmp/out-ctr/seed-1
has first-done "config_hash" "$r/DONE"
run same-resume 0 --resume "$tmp/ctr.yaml"
has same-skipped "running 0 runs (1 skipped as finished)"
manifest "$tmp/ctr.yaml" ctr 3
run changed-refused 2 --resume "$tmp/ctr.yaml"
has changed-list "not reusable: default/seed-1: the configuration changed"
has changed-how "rerun-changed"
grep -q "^1,valid" "$r/metrics.csv" && ok || bad "changed: the old results were touched"
run changed-rerun 0 --rerun-changed "$tmp/ctr.yaml"
has changed-moved "moved seed-1"
[ -f "$tmp/out-ctr/.superseded/seed-1.1/DONE" ] && ok || bad "changed: old run not kept in .superseded"
grep -q "^3,valid,ctr,auc" "$r/metrics.csv" && ok || bad "changed: the re-run did not run 3 epochs"
run changed-now-same 0 --resume "$tmp/ctr.yaml"
has changed-now-skipped "1 skipped as finished"

# defect 8, finished runs: damaged files are not reused
cp "$r/best.ckpt" "$tmp/best.keep"
printf 'garbage' | dd of="$r/best.ckpt" bs=1 seek=200 conv=notrunc 2>/dev/null
run best-corrupt 2 --resume "$tmp/ctr.yaml"
has best-corrupt-msg "best.ckpt"
cp "$tmp/best.keep" "$r/best.ckpt"
cp "$r/metrics.csv" "$tmp/metrics.keep"
head -c $(($(wc -c <"$r/metrics.csv") - 7)) "$tmp/metrics.keep" >"$r/metrics.csv"
run metrics-cut 2 --resume "$tmp/ctr.yaml"
has metrics-cut-msg "metrics.csv:[0-9]*: the last line"
cp "$tmp/metrics.keep" "$r/metrics.csv"
run restored 0 --resume "$tmp/ctr.yaml"
has restored-skipped "1 skipped as finished"

# defect 8, unfinished runs: continuing checks the files it continues from
# (no DONE: the run stopped after its last epoch, before the end)
unfinished() { rm -f "$r/DONE"; }
unfinished
tests_before=$(grep -c ",test," "$r/metrics.csv")
run continue 0 --resume "$tmp/ctr.yaml"
[ "$(grep -c ",test," "$r/metrics.csv")" -eq "$tests_before" ] && ok || bad "continue: test rows duplicated"
unfinished
printf 'garbage' | dd of="$r/best.ckpt" bs=1 seek=200 conv=notrunc 2>/dev/null
run partial-best 1 --resume "$tmp/ctr.yaml"
has partial-best-msg "best.ckpt: .*checksum mismatch" "$r/FAILED"
has partial-best-how "retry-failed" "$r/FAILED"
run partial-best-again 1 --resume "$tmp/ctr.yaml"
run retry 0 --retry-failed "$tmp/ctr.yaml"
has retry-moved "moved seed-1 (failed)"
[ -f "$r/DONE" ] && ok || bad "retry: no DONE"
unfinished
head -c $(($(wc -c <"$r/metrics.csv") - 7)) "$r/metrics.csv" >"$tmp/m" && mv "$tmp/m" "$r/metrics.csv"
run partial-metrics 1 --resume "$tmp/ctr.yaml"
has partial-metrics-msg "metrics.csv:[0-9]*: the last line" "$r/FAILED"
[ -f "$r/DONE" ] && bad "partial-metrics: DONE written" || ok
run retry2 0 --retry-failed "$tmp/ctr.yaml"
# an unfinished run continues with the thread count it started with (its
# checkpoint's configuration hash includes it), whatever -t / -j give now
unfinished
run threads-continue 0 --resume -t 13 "$tmp/ctr.yaml"
# issue 13.4: a last.ckpt that is a directory
unfinished
rm "$r/last.ckpt" && mkdir "$r/last.ckpt"
run ckpt-dir 1 --resume "$tmp/ctr.yaml"
has ckpt-dir-msg "last.ckpt: a checkpoint must be a regular file, found a directory" "$r/FAILED"
run retry3 0 --retry-failed "$tmp/ctr.yaml"
[ -f "$tmp/out-ctr/.superseded/seed-1.4/last.ckpt/." ] || [ -d "$tmp/out-ctr/.superseded/seed-1.4/last.ckpt" ] && ok ||
    bad "ckpt-dir: the failed run's folder was not kept"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
