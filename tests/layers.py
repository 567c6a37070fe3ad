#!/usr/bin/env python3
"""The layer table of docs/architecture.md against the built libraries.

usage: layers.py ARCHITECTURE_MD BUILD_DIR NM

The table (the one whose header is `| layer | library | folder | may use |`)
names each static library, the folder it is built from (the library is
BUILD_DIR/<folder>/lib<library>.a) and the libraries it may use. For every
library, each undefined symbol that another kgmtl library defines must be
defined by one it may use, and those must all sit on a lower layer. Every
libkgm_*.a of the build must be in the table. Exit 1 with one line per
finding, so the document cannot drift from the code.
"""
import glob
import os
import re
import subprocess
import sys


def table(md_path):
    rows, inside = [], False
    for n, line in enumerate(open(md_path, encoding='utf-8'), 1):
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if line.startswith('|') and [c.lower() for c in cells[:4]] == ['layer', 'library', 'folder', 'may use']:
            inside = True
            continue
        if inside and line.startswith('|'):
            if set(cells[0]) <= set('-: '):
                continue
            lib = cells[1].strip('`')
            uses = [u.strip().strip('`') for u in cells[3].split(',') if u.strip().strip('`') not in ('', '—', '-')]
            rows.append({'line': n, 'layer': int(cells[0]), 'lib': lib, 'folder': cells[2].strip('`').rstrip('/'),
                         'uses': uses})
        elif inside:
            break
    return rows


def symbols(nm, path):
    """(defined, undefined) global symbols of a static library."""
    out = subprocess.run([nm, '-g', path], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        p = line.split()
        if len(p) == 2 and p[0] == 'U':
            undefined.add(p[1])
        elif len(p) == 3 and p[1] in 'TDBRCVW':
            defined.add(p[2])
    return defined, undefined - defined


def main():
    md, build, nm = sys.argv[1:4]
    rows = table(md)
    errors = []
    if not rows:
        print(f'{md}: no table with the header | layer | library | folder | may use |')
        return 1
    by_lib = {r['lib']: r for r in rows}
    syms = {}
    for r in rows:
        path = os.path.join(build, r['folder'], 'lib' + r['lib'] + '.a')
        if not os.path.exists(path):
            errors.append(f"{md}:{r['line']}: library {r['lib']} of folder {r['folder']}/ expected at {path}, not built")
            continue
        syms[r['lib']] = symbols(nm, path)
        for u in r['uses']:
            if u not in by_lib:
                errors.append(f"{md}:{r['line']}: {r['lib']} may use {u}, which is not in the table")
            elif by_lib[u]['layer'] >= r['layer']:
                errors.append(f"{md}:{r['line']}: {r['lib']} (layer {r['layer']}) may use {u} (layer "
                              f"{by_lib[u]['layer']}): a library may use only lower layers")
    for path in glob.glob(os.path.join(build, '**', 'libkgm_*.a'), recursive=True):
        lib = os.path.basename(path)[3:-2]
        if lib not in by_lib:
            errors.append(f'{md}: the build has {path}, which the layer table does not list')
    owner = {}
    for lib, (defined, _) in syms.items():
        for s in defined:
            owner.setdefault(s, lib)
    for lib, (_, undefined) in sorted(syms.items()):
        r = by_lib[lib]
        used = {}
        for s in sorted(undefined):
            o = owner.get(s)
            if o and o != lib:
                used.setdefault(o, []).append(s)
        for o, ss in sorted(used.items()):
            if o not in r['uses']:
                errors.append(f"{md}:{r['line']}: {lib} uses {o} ({', '.join(ss[:4])}"
                              f"{', …' if len(ss) > 4 else ''}), which its row does not allow")
        print(f"{lib}: uses {', '.join(sorted(used)) or 'no other kgmtl library'}")
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
