#!/usr/bin/env bash
# tools/restructure_tests.sh — the tests' meson.build files in the mirrored
# tree (called by tools/restructure_meson.sh). Each folder's tests link only
# their module's library (which brings the layers below).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

python3 - <<'PY'
import re
def rd(p): return open(p).read()
def wr(p, s): open(p, 'w').write(s)

# tests/meson.build: the folders, then the layer check
s = rd('tests/meson.build')
s = s.split("subdir('core')", 1)[0] + """# tests/ mirrors the source folders; each folder links its module's library.
subdir('core/tensor')
subdir('core/metrics')
subdir('graph')
subdir('datasets')
subdir('core/model')
subdir('core/train')
subdir('plugins')
subdir('experiments')
subdir('reports')

# docs/architecture.md's layer table against the libraries' undefined symbols (nm).
test('layers', find_program('python3'),
  args : [files('layers.py'), meson.project_source_root() / 'docs' / 'architecture.md',
          meson.project_build_root(), find_program('nm').full_path()],
  env : test_env, suite : ['unit'],
  depends : [kgm_base_lib, kgm_tensor_lib, kgm_metrics_lib, kgm_graph_lib, kgm_datasets_lib,
             kgm_plugin_lib, kgm_model_lib, kgm_train_lib, kgm_experiments_lib, kgm_reports_lib])
"""
wr('tests/meson.build', s)

PY

# the old tests/core, tests/train, tests/data, tests/gen meson.build files are
# read from HEAD (the script removed them) and split by test
git show HEAD:tests/core/meson.build > /tmp/restructure-core.$$
git show HEAD:tests/train/meson.build > /tmp/restructure-train.$$
git show HEAD:tests/data/meson.build > /tmp/restructure-data.$$
git show HEAD:tests/gen/meson.build > /tmp/restructure-gen.$$
git show HEAD:tests/experiments/meson.build > /tmp/restructure-exp.$$
python3 - /tmp/restructure-{core,train,data,gen,exp}.$$ <<'PY'
import re, sys
core, train, data, gen, exp = (open(p).read() for p in sys.argv[1:6])
def blocks(s):
    """Split a meson file into statements: an executable() + its test(), or a test() alone."""
    out, cur = [], []
    for line in s.split('\n'):
        cur.append(line)
        src = '\n'.join(cur)
        if src.count('(') == src.count(')') and line.strip() and not line.startswith('#') \
           and not line.rstrip().endswith(','):
            out.append(src); cur = []
    if ''.join(cur).strip(): out.append('\n'.join(cur))
    return out
def pick(s, names):
    """The statements that mention one of `names` (file names or variable names), with comments."""
    res, pend = [], []
    for b in blocks(s):
        if all(l.startswith('#') or not l.strip() for l in b.split('\n')):
            pend.append(b); continue
        if any(n in b for n in names): res += pend + [b]
        pend = []
    return '\n'.join(res) + '\n'
def dep(s, d): return s.replace('dependencies : [kgm_dep, criterion_dep]', 'dependencies : [' + d + ', criterion_dep]')
open('tests/core/tensor/meson.build', 'w').write(
    '# core/tensor: ops, gradients, optimisers, determinism, errors, rng/arena/params, bench.\n' +
    dep(pick(core, ['test_ops_grad', 'test_optim', 'test_determinism', 'test_errors', 'test_rng_arena_params',
                    'bench-ops-quick']), 'kgm_tensor_dep'))
open('tests/core/metrics/meson.build', 'w').write('# core/metrics.\n' + dep(pick(core, ['test_metrics']), 'kgm_metrics_dep'))
open('tests/core/model/meson.build', 'w').write('# core/model: cross-task modules and mixers (gradients).\n' +
    dep(pick(core, ['test_crosstask']) + pick(train, ['test_mixer']), 'kgm_model_dep'))
open('tests/core/train/meson.build', 'w').write('# core/train: trainer, weighting, encoder on graph views, labels views; slow claims.\n' +
    dep(pick(train, ['test_trainer', 'test_crosstask_mkr', 'test_encoder_graph', 'mmoe_claim', 'test_weighting', 'test_eval_negatives']), 'kgm_train_dep') +
    "test_data_labels = executable('test_data_labels', 'test_labels.c', dependencies : [kgm_train_dep, criterion_dep])\n"
    "test('data-labels', test_data_labels, env : test_env, suite : ['unit', 'data-unit'], timeout : 120)\n")
# experiments: its own tests plus the two trainer tests that parse manifests
e = exp.replace("# Experiments: manifests, the sweep runner and reports ('unit'), and the\n# rendering check of report.html in headless Chromium ('browser', not default).",
    "# Experiments: manifests and the sweep runner (the runner test also reads its report).")
e = re.sub(r"(foreach t : \[[^]]*)'report', ", r"\1", e)
e = e.replace("dependencies : [kgm_dep, criterion_dep, threads_dep]", "dependencies : [kgm_experiments_dep, kgm_reports_dep, criterion_dep, threads_dep]")
e = e.replace("dependencies : [kgm_dep, threads_dep]", "dependencies : [kgm_experiments_dep, threads_dep]")
e = e.replace("dependencies : [kgm_dep, criterion_dep]", "dependencies : [kgm_experiments_dep, kgm_reports_dep, criterion_dep]")
e = e.replace("dependencies : kgm_dep,", "dependencies : kgm_experiments_dep,")
bro = re.search(r"\nzlib_dep = .*?is_parallel : false\)\n", e, re.S).group(0)
e = e.replace(bro, '\n')
e += '\n# trainer tests whose runs are built from manifests\n' + dep(pick(train, ['test_cold_slice', 'test_data_options', 'test_mkr_head']), 'kgm_experiments_dep')
assert 'kgm_dep' not in e, e
open('tests/experiments/meson.build', 'w').write(e)
open('tests/reports/meson.build', 'w').write(
    "# reports: summary/HTML ('unit') and the rendering check in headless Chromium ('browser').\n"
    "exe = executable('test_exp_report', 'test_report.c', dependencies : [kgm_reports_dep, criterion_dep])\n"
    "test('exp-report', exe, env : test_env, suite : ['unit', 'experiments'], timeout : 120)\n" +
    bro.replace('dependencies : [kgm_dep, zlib_dep]', 'dependencies : [kgm_reports_dep, zlib_dep]'))
# datasets: the loop without 'labels' (moved to core/train), no private include folder
d = data.replace(", 'labels'", '').replace("'labels', ", '')
d = d.replace("data_inc = include_directories('../../datasets')\n", '')
d = re.sub(r",\n\s*include_directories : data_inc\)", ')', d)
d = re.sub(r"\n\s*include_directories : data_inc,", '', d)
d = d.replace("dependencies : [kgm_dep, criterion_dep]", "dependencies : [kgm_datasets_dep, criterion_dep]")
d = d.replace("dependencies : kgm_dep,", "dependencies : kgm_datasets_dep,")
d += "\nsubdir('gen')\n"
open('tests/datasets/meson.build', 'w').write(d)
open('tests/datasets/gen/meson.build', 'w').write(gen.replace('dependencies : [kgm_dep, criterion_dep]',
    'dependencies : [kgm_datasets_dep, kgm_metrics_dep, criterion_dep]'))
PY
rm -f /tmp/restructure-{core,train,data,gen,exp}.$$

sed -i 's/dependencies : \[kgm_dep, criterion_dep\]/dependencies : [kgm_graph_dep, criterion_dep]/' tests/graph/meson.build
sed -i "s/dependencies : \[kgm_dep, criterion_dep\]/dependencies : [kgm_plugin_dep, criterion_dep]/; s/dependencies : kgm_dep,/dependencies : kgm_plugin_dep,/; s/include_directories : kgm_inc/include_directories : kgm_sdk_inc/; /include_directories : include_directories('..\/..\/core'),/d" tests/plugins/meson.build
if grep -q kgm_dep tests/graph/meson.build tests/plugins/meson.build; then
    echo "restructure_tests.sh: kgm_dep left" >&2; exit 1
fi
