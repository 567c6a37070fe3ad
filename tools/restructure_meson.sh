#!/usr/bin/env bash
# tools/restructure_meson.sh — writes the meson.build files of the layered tree
# (called by tools/restructure.sh after the moves). One static_library per
# layer; each declares the layers it may use, which is the layer table of
# docs/architecture.md (checked by the `layers` test).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

# top level: dependencies, the version / ABI variables, the layers bottom-up
python3 - <<'PY'
s = open('meson.build').read()
head, rest = s.split("kgm_inc = include_directories('core/include')", 1)
head = head.replace("project('kgmtl', 'c',\n  version : '0.1.0',",
  "# The version (kgmtl --version, kgmtl-plugin.pc) and the plugin ABI major\n"
  "# (KGM_ABI_MAJOR in kgmtl/version.h, the install folder plugins-<major>,\n"
  "# kgmtl-plugin.pc) are written here only.\n"
  "project('kgmtl', 'c',\n  version : '0.1.0',")
head = head.replace("cc = meson.get_compiler('c')", "kgm_abi_major = 1\n\ncc = meson.get_compiler('c')", 1)
tail = rest.split("subdir('plugins')", 1)[1]
out = head + """# Every project header is included by its path from the repository root
# ("core/tensor/ops.h", "graph/graph.h"), so the path names the layer; the
# plugin SDK (kgmtl/plugin.h, kgmtl/types.h, generated kgmtl/version.h) is
# under core/include, the only include folder plugins get (kgm_sdk_inc).
kgm_sdk_inc = include_directories('core/include')
kgm_inc = include_directories('.', 'core/include')
plugin_dir = get_option('libdir') / 'kgmtl' / 'plugins-@0@'.format(kgm_abi_major)

# The layers, bottom-up; each folder's meson.build defines kgm_<layer>_dep.
subdir('core/include/kgmtl')
subdir('core/base')        # layer 0
subdir('core/tensor')      # layer 1
subdir('core/metrics')     # layer 1
subdir('graph')            # layer 2
subdir('datasets')         # layer 2
subdir('core/plugin')      # layer 2
subdir('core/model')       # layer 3
subdir('core/train')       # layer 4
subdir('experiments')      # layer 5
subdir('reports')          # layer 5
subdir('core/cli')         # top: the kgmtl command

kgmtl_exe = executable('kgmtl', kgm_cli_sources,
  dependencies : [kgm_experiments_dep, kgm_reports_dep],
  c_args : ['-DKGM_BUILD_PLUGIN_DIR="' + meson.current_build_dir() / 'plugins' + '"',
            '-DKGM_INSTALL_PLUGIN_DIR="' + get_option('prefix') / plugin_dir + '"'] + kgm_recipe_c_args,
  export_dynamic : false,
  install : true)

subdir('plugins')""" + tail
open('meson.build', 'w').write(out)
PY

lib() { # lib FOLDER NAME LAYER "SOURCES" "DEPS" COMMENT
    local dir=$1 name=$2 layer=$3 srcs=$4 deps=$5 comment=$6
    local q; q=$(for s in $srcs; do printf "'%s', " "$s"; done)
    cat > "$dir/meson.build" <<MB
# $comment
# Layer $layer: may use only the libraries in its dependencies below
# (docs/architecture.md, layer table; checked by the \`layers\` test).
kgm_${name}_lib = static_library('kgm_${name}', files(${q%, }),
  include_directories : kgm_inc,
  dependencies : [${deps}],
  pic : true)
kgm_${name}_dep = declare_dependency(link_with : kgm_${name}_lib,
  include_directories : kgm_inc,
  dependencies : [${deps}])
MB
}

cat > core/include/kgmtl/meson.build <<'MB'
# The plugin SDK: plugin.h, types.h and the generated version.h (installed).
kgm_version_h = configure_file(input : 'version.h.in', output : 'version.h',
  configuration : {'VERSION' : meson.project_version(), 'ABI_MAJOR' : kgm_abi_major})
install_headers('plugin.h', 'types.h', kgm_version_h, subdir : 'kgmtl')
MB

lib core/base base 0 "error.c arena.c rng.c hash.c progress.c runtime.c" \
  "m_dep, thread_dep, omp_dep, openblas_dep, igraph_dep" \
  "core/base: errors, arena, random streams, hashing, progress, process set-up."
lib core/tensor tensor 1 "tensor.c tape.c params.c optim.c ops_dense.c ops_nn.c ops_sparse.c ops_loss.c gradcheck.c csr.c bench_ops.c" \
  "kgm_base_dep, openblas_dep, omp_dep" \
  "core/tensor: tensors, the tape, ops, parameter store, optimisers, CSR, the bench table."
cat >> core/base/meson.build <<'MB'
# taken by the plugin test harness (core/plugin/meson.build)
kgm_base_sdk_objects = kgm_base_lib.extract_objects('error.c', 'arena.c', 'rng.c')
MB
cat >> core/tensor/meson.build <<'MB'
# taken by the plugin test harness (core/plugin/meson.build)
kgm_tensor_sdk_objects = kgm_tensor_lib.extract_objects('tensor.c', 'tape.c', 'params.c', 'optim.c',
  'ops_dense.c', 'ops_nn.c', 'ops_sparse.c', 'ops_loss.c', 'gradcheck.c')
MB
lib core/metrics metrics 1 "metrics.c" "kgm_base_dep" "core/metrics: evaluation metrics."
lib graph graph 2 "graph.c csr.c prop.c rgcn.c kgat.c sample.c" "kgm_tensor_dep, igraph_dep, omp_dep" \
  "graph/: the igraph-backed store, CSR views, message-passing layers, samplers."
cat >> graph/meson.build <<'MB'
# `kgmtl bench graph` is linked into the executable (see core/tensor/bench.h)
# and into the graph test that calls it.
kgm_graph_bench_src = files('bench.c')
MB
lib datasets datasets 2 "reader.c idmap.c dataset.c dup.c load/text.c load/movielens.c load/kg.c load/census.c load/wordnet.c load/vectors.c load/named.c prep.c cache.c inspect.c export.c gen/common.c gen/mmoe.c gen/world.c" \
  "kgm_tensor_dep, msgpack_dep, igraph_dep" \
  "datasets/: the dataset model, loaders (load/), generators (gen/), preparation, binary cache, tools."
cat >> datasets/meson.build <<'MB'
# the parsers, compiled again with coverage by the fuzz harness
kgm_data_sources = files('reader.c', 'idmap.c', 'dataset.c', 'dup.c', 'load/text.c', 'load/movielens.c',
  'load/kg.c', 'load/census.c', 'load/wordnet.c', 'load/vectors.c', 'load/named.c', 'prep.c', 'cache.c',
  'inspect.c', 'export.c')
# kgm_bench_data is linked into the executable itself (see core/tensor/bench.h)
kgm_data_bench_src = files('bench_data.c')
# recipes (kgmtl data fetch): installed into DATADIR/kgmtl/recipes; the
# executable also knows this source tree's copy (see core/cli/cmd_data.c)
kgm_recipe_install_dir = get_option('datadir') / 'kgmtl' / 'recipes'
install_subdir('recipes', install_dir : get_option('datadir') / 'kgmtl')
kgm_recipe_c_args = ['-DKGM_SOURCE_RECIPE_DIR="' + meson.current_source_dir() / 'recipes' + '"',
                     '-DKGM_INSTALL_RECIPE_DIR="' + get_option('prefix') / kgm_recipe_install_dir + '"']
MB
lib core/plugin plugin 2 "host.c loader.c probe.c abi.c record.c direction.c" \
  "kgm_tensor_dep, kgm_metrics_dep, dl_dep" \
  "core/plugin: the plugin host table, loader (probe in a child), ABI layouts, plugin records."
cat >> core/plugin/meson.build <<'MB'
# compiled again as the simulated next-minor host by tests/plugins (abi-next)
kgm_plugin_host_sources = files('host.c', 'loader.c', 'probe.c', 'abi.c')
# What the out-of-tree plugin test harness (plugins/meson.build) takes from
# the libraries: the host table, the loader and everything they reach.
kgm_sdk_host_objects = [kgm_base_sdk_objects, kgm_tensor_sdk_objects,
  kgm_metrics_lib.extract_all_objects(recursive : false),
  kgm_plugin_lib.extract_objects(kgm_plugin_host_sources)]
MB
lib core/model model 3 "encoder.c mixer.c crosstask.c weighting.c" \
  "kgm_graph_dep, kgm_datasets_dep, kgm_tensor_dep, omp_dep" \
  "core/model: the shared encoder, mixers, cross-task modules, task weighting."
lib core/train train 4 "trainer.c trainer_data.c trainer_schedule.c checkpoint.c config.c rundir.c" \
  "kgm_model_dep, kgm_plugin_dep, kgm_datasets_dep, kgm_graph_dep, kgm_metrics_dep, kgm_tensor_dep, msgpack_dep, openblas_dep, omp_dep" \
  "core/train: the trainer, task data views, checkpoints, run configuration."
cat >> core/train/meson.build <<'MB'
# kgm_bench_train is linked into the executable itself (see core/tensor/bench.h)
kgm_train_bench_src = files('bench_train.c')
MB
lib experiments experiments 5 "manifest.c manifest_context.c manifest_yaml.c runner.c" "kgm_train_dep, fyaml_dep" \
  "experiments/: the manifest parser and the sweep runner (quickstart.yaml, baselines/)."
lib reports reports 5 "stats.c results.c summary.c svg.c html.c" "kgm_base_dep, fyaml_dep, m_dep" \
  "reports/: summary.csv and report.html; the metric direction is passed in (kgm_report_opts)."
cat >> experiments/meson.build <<'MB'
# the manifest fuzz harness compiles these again, with libFuzzer's coverage
kgm_manifest_sources = files('manifest.c', 'manifest_yaml.c', 'manifest_context.c')
MB
cat > core/cli/meson.build <<'MB'
# The kgmtl command (top layer: may use every library). The bench commands of
# the layers are linked into the executable, not into their libraries (see
# core/tensor/bench.h). The executable itself is defined in ../../meson.build
# so that it stays build/kgmtl.
kgm_cli_sources = files('main.c', 'cmd_run.c', 'cmd_report.c', 'cmd_eval.c',
  'cmd_recommend.c', 'cmd_plugins.c', 'cmd_data.c', 'cmd_bench.c', 'plugin_dirs.c') \
  + kgm_graph_bench_src + kgm_data_bench_src + kgm_train_bench_src
MB

# plugins see only the SDK; the test harness takes its objects from the layers
sed -i "s|'../core/plugin_test.c', |'../core/plugin/harness.c', |; s|objects : kgm_lib.extract_objects(kgm_sdk_host_sources),|objects : kgm_sdk_host_objects,|" plugins/meson.build
if grep -q 'kgm_lib\|kgm_sdk_host_sources' plugins/meson.build; then echo "restructure_meson.sh: plugins/meson.build still names kgm_lib" >&2; exit 1; fi
sed -i "s/include_directories : \[kgm_inc, kgm_plugin_inc\]/include_directories : [kgm_sdk_inc, kgm_plugin_inc]/" plugins/meson.build
sed -i "s|'plugindir=\${libdir}/kgmtl/plugins-1', 'abi_major=1'|'plugindir=\${libdir}/kgmtl/plugins-@0@'.format(kgm_abi_major), 'abi_major=@0@'.format(kgm_abi_major)|; s|(plugin ABI ' + '1' + ')'|(plugin ABI @0@)'.format(kgm_abi_major)|; s|installed by core/meson.build|installed by core/include/kgmtl/meson.build|" plugins/meson.build

bash "$(dirname "$0")/restructure_tests.sh"
