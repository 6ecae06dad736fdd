#!/bin/sh
# gzip-pages.sh — compress the man pages the way Debian policy wants them in a package (gzip -9n: best
# compression, neither the file name nor a time stamp in the header, so every build gives the same bytes):
#   gzip-pages.sh FROM_DIR TO_DIR   writes TO_DIR/NAME.gz for each FROM_DIR/NAME
set -eu
from=$1 to=$2
mkdir -p "$to"
for page in "$from"/*; do
    gzip -9n <"$page" >"$to/$(basename "$page").gz"
done
