#!/bin/sh
# Rebuild ../shared/datasets/movielens-small/{ratings,movies}.tsv from the
# Debian package r-cran-dslabs: its R object `movielens` (GroupLens
# ml-latest-small, 2016) sits in the lazy-load database dslabs/data/Rdata.rdb.
# python3-rdata parses R serializations; the shim below reads the lazy-load
# index (Rdata.rdx, gzip) and the object's zlib block from Rdata.rdb.
# The movie KG (kg_triples.tsv, movies_vega_join.tsv): movie-kg.sh DEST afterwards.
# usage: movielens-small.sh DEST   -> DEST/movielens-small/{ratings,movies}.tsv
set -eu
DEST=${1:-.}
DATA=/usr/lib/R/site-library/dslabs/data
if [ ! -r "$DATA/Rdata.rdb" ] || ! /usr/bin/python3 -c 'import rdata, pandas' 2>/dev/null; then
    apt-get install -y --no-install-recommends r-cran-dslabs python3-rdata python3-pandas
fi
mkdir -p "$DEST/movielens-small"
/usr/bin/python3 - "$DATA" "$DEST/movielens-small" <<'PY'
import gzip, struct, sys, zlib
import rdata
from rdata.parser import parse_data

data, out = sys.argv[1], sys.argv[2]
conv = rdata.conversion.SimpleConverter()
# a lazy-load entry is an R serialization without the RDX header: add one
def unserialize(raw):
    return conv.convert(parse_data(b"RDX3\n" + raw).object)
index = unserialize(gzip.decompress(open(data + "/Rdata.rdx", "rb").read()))
offset, length = (int(x) for x in index["variables"]["movielens"])
with open(data + "/Rdata.rdb", "rb") as f:
    f.seek(offset)
    block = f.read(length)
size = struct.unpack(">I", block[:4])[0]
raw = zlib.decompress(block[4:])
assert len(raw) == size, "unexpected lazy-load block"
ml = unserialize(raw)
ml[["userId", "movieId", "rating", "timestamp"]].to_csv(out + "/ratings.tsv", sep="\t", index=False)
movies = ml[["movieId", "title", "year", "genres"]].drop_duplicates("movieId").sort_values("movieId")
movies.to_csv(out + "/movies.tsv", sep="\t", index=False)
print("movielens-small: %d ratings, %d movies in %s" % (len(ml), len(movies), out))
PY
