#!/bin/sh
# Check both lock files (the crate's and fuzz/'s) against the RustSec
# advisory database with cargo-audit.
#
#   scripts/audit.sh [ADVISORY_DB_DIR]
#
# With a directory (a clone of https://github.com/rustsec/advisory-db),
# nothing is fetched: for machines without access to GitHub, like this
# project's CI. Without one, cargo-audit fetches the database itself.
# Installs cargo-audit if it is missing. Exit status: cargo-audit's (0 when
# no advisory applies).
set -eu
cd "$(dirname "$0")/.."
command -v cargo-audit >/dev/null || cargo install --locked cargo-audit
if [ $# -gt 0 ]; then
    set -- --db "$1" --no-fetch --stale
fi
status=0
for lock in Cargo.lock fuzz/Cargo.lock; do
    echo "== $lock"
    cargo audit --file "$lock" "$@" || status=1
done
exit $status
