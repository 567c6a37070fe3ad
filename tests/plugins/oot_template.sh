#!/bin/sh
# Out-of-tree plugin build: install kgmtl into a temporary destdir, build
# plugins/template/template.c with only `pkg-config --cflags kgmtl-plugin`,
# then describe the result with the installed kgmtl and train with it; then
# build the installed harness test (template_test.c) with only
# `pkg-config --cflags --libs kgmtl-plugin-test` and run it on the plugin.
# usage: oot_template.sh BUILD_DIR SOURCE_DIR PLUGIN_TRAIN_EXE
set -eu
build=$1 src=$2 train=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kgmtl-oot-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
dest="$tmp/dest"
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
pc=$(find "$dest" -name kgmtl-plugin.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: kgmtl-plugin.pc was not installed"; exit 1; }
hdr=$(find "$dest" -path '*/include/kgmtl/plugin.h' | head -n 1)
[ -n "$hdr" ] || { echo "FAIL: kgmtl/plugin.h was not installed"; exit 1; }
# The .pc names the final prefix; PKG_CONFIG_SYSROOT_DIR maps it into the destdir.
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$dest"
cflags=$(pkg-config --cflags kgmtl-plugin)
echo "pkg-config --cflags kgmtl-plugin: $cflags"
case "$cflags" in *"$dest"*) ;; *) echo "FAIL: cflags do not point into the install"; exit 1;; esac
# Copy the source alone: the compiler must not see the source tree.
mkdir -p "$tmp/mytask"
cp "$src/plugins/template/template.c" "$tmp/mytask/"
cd "$tmp/mytask"
${CC:-cc} -std=c11 -Wall -Wextra -Werror -shared -fPIC -O2 $cflags template.c -o template.so
# The installed kgmtl describes it (exit code and content).
kgmtl=$(find "$dest" -path '*/bin/kgmtl' | head -n 1)
"$kgmtl" plugins describe "$tmp/mytask/template.so" >"$tmp/describe.txt"
grep -q "template 1.0.0" "$tmp/describe.txt" || { cat "$tmp/describe.txt"; echo "FAIL: describe"; exit 1; }
grep -q "threshold" "$tmp/describe.txt" || { cat "$tmp/describe.txt"; echo "FAIL: describe options"; exit 1; }
# The installed kgmtl does not search the source build tree (rebuilding the
# source must not change what an installed binary loads).
"$kgmtl" plugins list >"$tmp/list.txt" 2>&1 || true
if grep -q "$build/plugins" "$tmp/list.txt"; then
    cat "$tmp/list.txt"; echo "FAIL: the installed kgmtl loads plugins from the build tree $build/plugins"; exit 1
fi
"$build/kgmtl" plugins list | grep -q "$build/plugins" || { echo "FAIL: the build-tree kgmtl lost its build plugins"; exit 1; }
# And it trains through the loader.
"$train" "$tmp/mytask/template.so" 300
# The installed harness: build the installed template_test.c with only
# `pkg-config --cflags --libs kgmtl-plugin-test` and run it on the plugin
# (gradcheck, loss falls, validation AUC > 0.7).
for f in kgmtl/plugin_test.h; do
    find "$dest" -path "*/include/$f" | grep -q . || { echo "FAIL: $f was not installed"; exit 1; }
done
tsrc=$(find "$dest" -path '*/plugin-template/template_test.c' | head -n 1)
[ -n "$tsrc" ] || { echo "FAIL: template_test.c was not installed"; exit 1; }
cp "$tsrc" "$tmp/mytask/"
tflags=$(pkg-config --cflags --libs kgmtl-plugin-test)
echo "pkg-config --cflags --libs kgmtl-plugin-test: $tflags"
${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 template_test.c $tflags -o template_test
./template_test "$tmp/mytask/template.so" || { echo "FAIL: the harness test of the template"; exit 1; }
echo "1 passed, 0 failed"
