#!/bin/sh
# Rebuild ../shared/datasets/wordnet (triples.tsv, entities.tsv) from the
# Debian package wordnet-base (WordNet 3.0 database files, wndb(5)).
# usage: wordnet.sh DEST   -> DEST/wordnet/{triples,entities}.tsv
# Needs: apt-get (root) or wordnet-base already installed; the kgmtl binary
# (KGMTL, default: kgmtl on PATH, else ./build/kgmtl).
set -eu
DEST=${1:-.}
KGMTL=${KGMTL:-$(command -v kgmtl || echo ./build/kgmtl)}
if [ ! -r /usr/share/wordnet/data.noun ]; then
    apt-get install -y --no-install-recommends wordnet-base
fi
OUT="$DEST/wordnet"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$KGMTL" data convert -f wordnet /usr/share/wordnet --export-tsv "$TMP"
mkdir -p "$OUT"
LC_ALL=C sort "$TMP/triples.tsv" > "$OUT/triples.tsv"
LC_ALL=C sort "$TMP/entities.tsv" > "$OUT/entities.tsv"
echo "wordnet: $(wc -l < "$OUT/triples.tsv") triples, $(wc -l < "$OUT/entities.tsv") synsets in $OUT"
