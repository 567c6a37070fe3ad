#!/usr/bin/env bash
# tools/restructure.sh — the mechanical part of issue 18 (the layered tree).
#
# Run from a clean checkout of main: moves every file to its layer folder
# (git mv, so `git log --follow` works), rewrites every project #include to
# its path from the repository root, cuts the few declarations that change
# layer out of their old headers, and writes the meson.build files (one
# static_library per layer, each linking only the layers below).
# Idempotence is not a goal: it runs once on the old tree and refuses a tree
# that is already restructured.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[ -f core/error.c ] || { echo "restructure.sh: core/error.c not found: tree already restructured?" >&2; exit 1; }
git diff --quiet && git diff --cached --quiet || { echo "restructure.sh: the tree has uncommitted changes" >&2; exit 1; }

MOVES=$(git rev-parse --git-dir)/restructure-moves
: > "$MOVES"
mv_to() { # mv_to DEST_DIR FILE... (keeps the basename)
    local d=$1; shift; mkdir -p "$d"
    for f in "$@"; do
        [ -e "$f" ] || { echo "restructure.sh: missing $f" >&2; exit 1; }
        git mv "$f" "$d/"; echo "$f $d/$(basename "$f")" >> "$MOVES"
    done
}
mv_as() { # mv_as OLD NEW
    [ -e "$1" ] || { echo "restructure.sh: missing $1" >&2; exit 1; }
    mkdir -p "$(dirname "$2")"; git mv "$1" "$2"; echo "$1 $2" >> "$MOVES"
}
H=core/include/kgmtl

# ---- layer 0: core/base --------------------------------------------------
mv_to core/base core/error.c core/arena.c core/rng.c core/progress.c core/runtime.c datasets/hash.c \
    $H/status.h $H/arena.h $H/rng.h $H/progress.h
# ---- layer 1: core/tensor, core/metrics ---------------------------------
mv_to core/tensor core/tensor.c core/tape.c core/params.c core/optim.c core/ops_dense.c core/ops_nn.c \
    core/ops_sparse.c core/ops_loss.c core/gradcheck.c core/csr.c core/bench_ops.c core/ops_internal.h \
    $H/tensor.h $H/tape.h $H/ops.h $H/params.h $H/optim.h $H/gradcheck.h $H/csr.h $H/bench.h
mv_to core/metrics core/metrics.c $H/metrics.h
# ---- layer 2: graph, datasets, core/plugin -------------------------------
mv_to graph $H/graph.h
mv_to datasets $H/dataset.h
mv_as $H/data_load.h datasets/load.h
mv_as $H/data_prep.h datasets/prep.h
mv_as $H/data_gen.h datasets/gen.h
mv_as $H/data_tools.h datasets/tools.h
for f in datasets/load_*.c; do mv_as "$f" "datasets/load/${f#datasets/load_}"; done
for f in datasets/gen_*.c; do mv_as "$f" "datasets/gen/${f#datasets/gen_}"; done
mv_as core/plugin_test.c core/plugin/harness.c  # the out-of-tree plugin test harness
for f in core/plugin_*.c; do mv_as "$f" "core/plugin/${f#core/plugin_}"; done
mv_to core/plugin core/plugin_internal.h $H/host.h
mv_as reports/direction.c core/plugin/direction.c
# ---- layer 3: core/model --------------------------------------------------
mv_to core/model core/encoder.c core/mixer.c core/crosstask.c core/weighting.c \
    $H/encoder.h $H/mixer.h $H/crosstask.h $H/weighting.h
# ---- layer 4: core/train --------------------------------------------------
mv_to core/train core/trainer.c core/trainer_data.c core/checkpoint.c core/config.c core/rundir.c \
    core/trainer_schedule.c core/bench_train.c core/trainer_internal.h core/checkpoint_internal.h \
    $H/trainer.h $H/checkpoint.h $H/config.h $H/rundir.h
# ---- layer 5: experiments, reports ----------------------------------------
mv_to experiments core/manifest.c core/manifest_context.c core/manifest_yaml.c core/manifest_yaml.h core/manifest_internal.h core/runner.c $H/manifest.h $H/runner.h
mv_to reports $H/report.h
git rm -q core/meson.build
# anything left directly in core/ is a file this script does not know yet
left=$(find core -maxdepth 1 -type f; find $H -type f ! -name plugin.h ! -name types.h ! -name plugin_test.h ! -name kgmtl.h)
[ -z "$left" ] || { echo "restructure.sh: not placed in a layer:" $left >&2; exit 1; }

# ---- tests mirror the source folders ---------------------------------------
mv_to tests/core/tensor tests/core/test_ops_grad.c tests/core/test_optim.c tests/core/test_determinism.c \
    tests/core/test_errors.c tests/core/test_rng_arena_params.c
mv_to tests/core/metrics tests/core/test_metrics.c
mv_to tests/core/model tests/core/test_crosstask.c tests/train/test_mixer.c
mv_to tests/core/train tests/train/test_trainer.c tests/train/test_crosstask_mkr.c \
    tests/train/test_encoder_graph.c tests/train/test_weighting.c tests/train/test_eval_negatives.c tests/train/train_util.h \
    tests/train/mmoe_claim.sh tests/data/test_labels.c
# trainer tests that build their runs from manifests link the experiments layer
mv_to tests/experiments tests/train/test_cold_slice.c tests/train/test_data_options.c tests/train/test_mkr_head.c
mkdir -p tests/datasets
for f in $(git ls-files tests/data); do mv_as "$f" "tests/datasets/${f#tests/data/}"; done
for f in $(git ls-files tests/gen); do mv_as "$f" "tests/datasets/gen/${f#tests/gen/}"; done
mv_to tests/reports tests/experiments/test_report.c tests/experiments/browser_report.c
git rm -q tests/core/meson.build tests/train/meson.build
leftt=$(git ls-files tests/train tests/data tests/gen; find tests/core -maxdepth 1 -type f)
[ -z "$leftt" ] || { echo "restructure.sh: tests not placed:" $leftt >&2; exit 1; }

# ---- #include paths: every project header by its path from the repository root
python3 - <<'PY'
import os, re, subprocess
new = {}
for p in subprocess.run(['git', 'ls-files', '*.h'], capture_output=True, text=True, check=True).stdout.split():
    b = os.path.basename(p)
    if p.startswith('plugins/') or b in ('plugin.h', 'types.h', 'plugin_test.h', 'kgmtl.h', 'cli.h', 'abi_guard.h'):
        continue
    assert b not in new, 'two headers named ' + b
    new[b] = p
old = {'data_load.h': 'load.h', 'data_prep.h': 'prep.h', 'data_gen.h': 'gen.h', 'data_tools.h': 'tools.h'}
for o, n in old.items():
    new[o] = new[n]
inc = re.compile(r'^(\s*#\s*include\s*)"([^"]+\.h)"', re.M)
def fix(m):
    b = os.path.basename(m.group(2))
    return m.group(1) + '"' + new[b] + '"' if b in new else m.group(0)
files = subprocess.run(['git', 'ls-files', '*.c', '*.h'], capture_output=True, text=True, check=True).stdout.split()
for f in files:
    if f.startswith('plugins/'):
        continue
    s = open(f).read()
    t = inc.sub(fix, s)
    if t != s:
        open(f, 'w').write(t)
PY

# ---- declarations that change layer ----------------------------------------
python3 - <<'PY'
import re
def cut(path, start, end):
    """Remove the lines from the one containing `start` to the one containing `end`; return them."""
    s = open(path).read().split('\n')
    i = next(k for k, l in enumerate(s) if start in l)
    j = next(k for k in range(i, len(s)) if end in s[k])
    block = s[i:j + 1]
    del s[i:j + 1]
    open(path, 'w').write('\n'.join(s))
    return '\n'.join(block)
def put_after(path, anchor, text):
    s = open(path).read()
    k = s.index(anchor) + len(anchor)
    open(path, 'w').write(s[:k] + text + s[k:])

# hashing moves from datasets (layer 2) to base (layer 0): checkpoints and configs use it
blk = cut('datasets/dataset.h', '/* Streaming 64-bit non-cryptographic hash', 'kgm_file_checksum(')
open('core/base/hash.h', 'w').write(
    '/* core/base/hash.h — the 64-bit hash of files, configurations and checkpoints. */\n'
    '#ifndef KGMTL_BASE_HASH_H\n#define KGMTL_BASE_HASH_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n'
    '#include "core/base/status.h"\n\n' + blk + '\n\n#endif\n')
put_after('datasets/dataset.h', '#include "core/base/status.h"', '\n#include "core/base/hash.h"')

# process-wide set-up leaves the umbrella header for base
blk = cut('core/include/kgmtl/kgmtl.h', '/* Process-wide set-up', 'int kgm_get_threads(void);')
open('core/base/runtime.h', 'w').write(
    '/* core/base/runtime.h — process-wide set-up and the kernels\' thread count. */\n'
    '#ifndef KGMTL_BASE_RUNTIME_H\n#define KGMTL_BASE_RUNTIME_H\n\n' + blk + '\n\n#endif\n')
cut('core/include/kgmtl/kgmtl.h', '#define KGM_VERSION_STRING', '#define KGM_VERSION_STRING')
put_after('core/include/kgmtl/kgmtl.h', '#include "core/base/rng.h"', '\n#include "core/base/runtime.h"')

# the metric direction read from a plugin belongs to the plugin layer; reports get it passed in
blk = cut('reports/report.h', '/* A kgm_metric_dir_fn that reads the direction', 'int kgm_report_plugin_direction(')
blk = blk.replace('kgm_report_plugin_direction', 'kgm_plugin_metric_direction').replace(' (kgmtl/host.h)', '')
blk = blk.replace('/* A kgm_metric_dir_fn that', '/* A kgm_metric_dir_fn (core/reports/report.h) that')
s = open('core/plugin/host.h').read()
k = s.rindex('#endif')
open('core/plugin/host.h', 'w').write(s[:k] + blk + '\n\n' + s[k:])
PY
sed -i 's/kgm_report_plugin_direction/kgm_plugin_metric_direction/g' core/plugin/direction.c core/cli/*.c
sed -i 's|^#include "reports/report.h"$||' core/plugin/direction.c
sed -i 's|core/reports/report.h|reports/report.h|' core/plugin/host.h
# reports.h no longer needs the host: nothing to do (it never included it)

# ---- the version and the ABI major come from meson (kgmtl/version.h) -------
sed -i 's|^#define KGM_ABI_MAJOR 1$|#include "kgmtl/version.h" /* KGM_ABI_MAJOR, KGM_VERSION_STRING (from meson.build) */|' \
    core/include/kgmtl/plugin.h
grep -q 'kgmtl/version.h' core/include/kgmtl/plugin.h || { echo "restructure.sh: KGM_ABI_MAJOR not found in plugin.h" >&2; exit 1; }
cat > core/include/kgmtl/version.h.in <<'IN'
/* kgmtl/version.h — generated by meson from meson.build (project version and
 * kgm_abi_major); part of the plugin SDK. Do not edit: edit meson.build. */
#ifndef KGMTL_VERSION_H
#define KGMTL_VERSION_H

#define KGM_VERSION_STRING "@VERSION@"
/* The plugin ABI major: a plugin loads only into a host of the same major. */
#define KGM_ABI_MAJOR @ABI_MAJOR@

#endif
IN

# ---- paths named in docs and comments follow the files ----------------------
python3 - "$MOVES" <<'PY2'
import re, subprocess, sys
moves = [l.split() for l in open(sys.argv[1]) if l.strip()]
rep = {}
for old, new in moves:
    rep[old] = new
    if old.startswith('core/include/kgmtl/'):
        rep['kgmtl/' + old.rsplit('/', 1)[1]] = new  # the include name of a public header
# longest first, whole path names only (not inside a longer path)
keys = sorted(rep, key=len, reverse=True)
pat = re.compile(r'(?<![\w./-])(' + '|'.join(re.escape(k) for k in keys) + r')(?![\w-])')
dirs = [('tests/data/', 'tests/datasets/'), ('tests/gen/', 'tests/datasets/gen/'), ('tests/train/', 'tests/core/train/')]
files = subprocess.run(['git', 'ls-files', '*.md', '*.c', '*.h', '*.sh', '*.build', '*.yaml', '.ci/*'],
                       capture_output=True, text=True, check=True).stdout.split()
for f in files:
    if f.startswith('tools/'):
        continue
    s = open(f, encoding='utf-8', errors='surrogateescape').read()
    t = pat.sub(lambda m: rep[m.group(1)], s)
    for a, b in dirs:
        t = t.replace(a, b)
    if t != s:
        open(f, 'w', encoding='utf-8', errors='surrogateescape').write(t)
PY2
rm -f "$MOVES"
# the layer table (checked by tests/layers.py) goes before the numerical core
python3 - "$(dirname "$0")/architecture_layers.md" <<'PY3'
import sys
s = open('docs/architecture.md', encoding='utf-8').read()
k = s.index('## Numerical core')
open('docs/architecture.md', 'w', encoding='utf-8').write(s[:k] + open(sys.argv[1], encoding='utf-8').read() + s[k:])
PY3

bash "$(dirname "$0")/restructure_meson.sh"
git add -A core datasets graph experiments reports tests tools meson.build plugins
echo "restructure.sh: done; build with: meson setup build && ninja -C build"
