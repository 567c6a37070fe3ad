#!/bin/sh
# Rebuild ../shared/datasets/movielens-small/{movies_vega_join.tsv,kg_triples.tsv}:
# the movie knowledge graph of movielens-small, from its movies.tsv and the
# npm package vega-datasets@3.2.1 (data/movies.json, BSD-3-Clause; a teaching
# file with known deliberate errors).
# Join: a MovieLens movie and a vega movie match when their normalised titles
# are equal ("Title, The|A|An" -> "The|A|An Title", lowercased, every run of
# characters other than [0-9a-z] -> one blank, trimmed) and the vega release
# year is within 1 of the MovieLens year. Rows come grouped by normalised title
# in order of first appearance in movies.tsv (the order of the shared file).
# KG: has_genre and released_in_decade for every movie (decade = floor(year/10)*10),
# directed_by, distributed_by, major_genre, creative_type, based_on_source and
# mpaa_rating from the joined vega fields (empty fields give no triple); unique
# triples in byte order.
# usage: movie-kg.sh DEST [MOVIELENS_DIR]
#   -> DEST/movielens-small/{movies_vega_join.tsv,kg_triples.tsv}
#   MOVIELENS_DIR (default DEST/movielens-small) must hold movies.tsv (movielens-small.sh).
#   VEGA_TGZ=path uses a tarball fetched before (npm pack vega-datasets@3.2.1) instead of the registry.
set -eu
DEST=${1:-.}
ML=${2:-$DEST/movielens-small}
[ -r "$ML/movies.tsv" ] || { echo "movie-kg: $ML/movies.tsv is missing (run movielens-small.sh first)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/lib/npm-tarball.sh"
npm_tarball "${VEGA_TGZ:-}" vega-datasets 3.2.1 "$TMP/vega.tgz"
tar -xzf "$TMP/vega.tgz" -C "$TMP" package/data/movies.json
mkdir -p "$DEST/movielens-small"
# movies.tsv may be the output folder itself: write to temporary names first
/usr/bin/python3 - "$ML/movies.tsv" "$TMP/package/data/movies.json" "$TMP/join.tsv" "$TMP/kg.tsv" <<'PY'
import csv, json, re, sys
movies_tsv, movies_json, out_join, out_kg = sys.argv[1:5]
with open(movies_tsv, newline="", encoding="utf-8") as f:
    ml = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
head, ml = ml[0], ml[1:]
if head[:4] != ["movieId", "title", "year", "genres"]:
    sys.exit("movie-kg: %s:1: expected the header movieId, title, year, genres, found %s" % (movies_tsv, ", ".join(head)))
with open(movies_json, encoding="utf-8") as f:
    vega = json.load(f)
vcols = list(vega[0].keys())

def norm(title):
    m = re.match(r"^(.*), (The|A|An)$", title)
    if m:
        title = m.group(2) + " " + m.group(1)
    return re.sub(r"[^0-9a-z]+", " ", title.lower()).strip()

def release_year(v):
    d = v.get("Release Date")
    m = re.search(r"(\d{4})$", d) if isinstance(d, str) else None
    return int(m.group(1)) if m else None

by_title = {}
for i, v in enumerate(vega):
    if v.get("Title") is not None:
        by_title.setdefault(norm(str(v["Title"])), []).append(i)
groups, order = {}, []
for line, r in enumerate(ml, start=2):
    try:
        int(r[2])
    except (IndexError, ValueError):
        sys.exit("movie-kg: %s:%d: expected movieId, title, integer year, genres, found %r" % (movies_tsv, line, r))
    k = norm(r[1])
    if k not in groups:
        groups[k] = []
        order.append(k)
    groups[k].append(r)
rows = []
for k in order:
    for r in groups[k]:
        for i in by_title.get(k, []):
            y = release_year(vega[i])
            if y is not None and abs(y - int(r[2])) <= 1:
                rows.append((r, vega[i], y))
# a numeric vega column prints as floats ("191796233.0"), missing values as empty fields
numeric = {c for c in vcols if c != "Title" and any(isinstance(v[c], (int, float)) for _, v, _ in rows)}

def cell(v, c):
    x = v.get(c)
    if x is None:
        return ""
    return repr(float(x)) if c in numeric else str(x)

with open(out_join, "w", encoding="utf-8", newline="") as f:
    f.write("\t".join(head + vcols + ["vyear"]) + "\n")
    for r, v, y in rows:
        f.write("\t".join(r + [cell(v, c) for c in vcols] + [str(y)]) + "\n")
relations = [("directed_by", "person", "Director"), ("distributed_by", "company", "Distributor"),
             ("major_genre", "genre", "Major Genre"), ("creative_type", "ctype", "Creative Type"),
             ("based_on_source", "source", "Source"), ("mpaa_rating", "mpaa", "MPAA Rating")]
kg = set()
for r in ml:
    movie = "movie:" + r[0]
    for g in r[3].split("|"):
        if g and g != "(no genres listed)":
            kg.add((movie, "has_genre", "genre:" + g))
    kg.add((movie, "released_in_decade", "decade:%d" % (int(r[2]) // 10 * 10)))
for r, v, y in rows:
    for rel, kind, col in relations:
        if v.get(col) is not None and str(v[col]) != "":
            kg.add(("movie:" + r[0], rel, kind + ":" + str(v[col])))
with open(out_kg, "wb") as f:
    f.writelines(sorted(("\t".join(t) + "\n").encode("utf-8") for t in kg))
print("movie-kg: %d joined movies, %d triples" % (len(rows), len(kg)))
PY
mv "$TMP/join.tsv" "$DEST/movielens-small/movies_vega_join.tsv"
mv "$TMP/kg.tsv" "$DEST/movielens-small/kg_triples.tsv"
