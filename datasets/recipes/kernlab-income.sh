#!/bin/sh
# Rebuild ../shared/datasets/kernlab-income/income.tsv from Debian packages:
# r-cran-kernlab ships kernlab/data/income.rda (the ESL "marketing" survey),
# python3-rdata reads the R data file without running R.
# usage: kernlab-income.sh DEST   -> DEST/kernlab-income/income.tsv
set -eu
DEST=${1:-.}
RDA=/usr/lib/R/site-library/kernlab/data/income.rda
if [ ! -r "$RDA" ] || ! /usr/bin/python3 -c 'import rdata, pandas' 2>/dev/null; then
    apt-get install -y --no-install-recommends r-cran-kernlab python3-rdata python3-pandas
fi
mkdir -p "$DEST/kernlab-income"
/usr/bin/python3 - "$RDA" "$DEST/kernlab-income/income.tsv" <<'PY'
import sys
import rdata
frame = rdata.conversion.convert(rdata.parser.parse_file(sys.argv[1]))["income"]
# factors keep their labels; NA becomes an empty field
frame.to_csv(sys.argv[2], sep="\t", index=False, na_rep="")
print("kernlab-income: %d rows x %d columns in %s" % (frame.shape[0], frame.shape[1], sys.argv[2]))
PY
