#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The source tree keeps its shape (a component is a folder with a face):
#  - no SQLite code outside history/sqlite/, no back-end header included outside
#    history/ (the face, history/store.h, is the way in);
#  - no daemon wing (daemon/<wing>/) includes another wing: they meet in the core;
#  - tools/ never includes daemon/;
#  - statsctl and shmstatsd do not link libpq: the PostgreSQL back end is a module
#    loaded only for a PostgreSQL location.
# usage: layout_test.sh SOURCE_DIR STATSCTL SHMSTATSD
root=$1 statsctl=$2 shmstatsd=$3
fail() { echo "FAIL: $*"; exit 1; }
cd "$root" || fail "cd $root"
src="common daemon history tools"
hits=$(grep -rn 'SQLITE_\|sqlite3\.h' $src | grep -v '^history/sqlite/')
[ -z "$hits" ] || fail "SQLite outside history/sqlite/: $hits"
hits=$(grep -rn '#include "history/\(sqlite\|postgres\)/' common daemon tools)
[ -z "$hits" ] || fail "a history back end included outside history/: $hits"
hits=$(grep -rn 'libpq-fe\.h' $src | grep -v '^history/postgres/')
[ -z "$hits" ] || fail "libpq outside history/postgres/: $hits"
for dir in daemon/*/; do
  wing=$(basename "$dir")
  hits=$(grep -rn '#include "daemon/[a-z_]*/' "$dir" | grep -v "#include \"daemon/$wing/")
  [ -z "$hits" ] || fail "daemon/$wing includes another wing: $hits"
done
hits=$(grep -rn '#include "daemon/' tools)
[ -z "$hits" ] || fail "tools/ includes daemon/: $hits"
for bin in "$statsctl" "$shmstatsd"; do
  ldd "$bin" | grep -q libpq && fail "$bin links libpq"
done
# statsctl's start-up: no C++ shared library to load and relocate (tools/CMakeLists.txt).
ldd "$statsctl" | grep -Eq 'libstdc\+\+|libfmt|libsqlite3|libre2' &&
  fail "statsctl loads a shared library it should link in: $(ldd "$statsctl")"
echo PASS
