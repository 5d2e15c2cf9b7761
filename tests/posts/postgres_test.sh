#!/usr/bin/env bash
# PostgreSQL source end to end: a real server (initdb in a temp dir, run as an
# unprivileged user, started and stopped here), `datagen --postgres` loads it,
# and `pipeline --postgres` reads back exactly the posts SQLite holds.
# Exit 77 = skipped (tool missing, outside CI); under CI=true missing tools fail.
set -euo pipefail
PP=$1
missing() {
  if [ "${CI:-}" = "true" ]; then echo "FAIL: $1 (CI=true: not skipping)"; exit 1; fi
  echo "SKIP: $1"; exit 77
}
PGBIN=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PGBIN=$d; done
[ -n "$PGBIN" ] || missing "PostgreSQL server binaries (initdb) not found"
T=$(mktemp -d /tmp/posts_pg_XXXXXX)
RUN=()
if [ "$(id -u)" = 0 ]; then
  chown nobody "$T"
  chmod 755 "$T"
  if command -v runuser >/dev/null; then RUN=(runuser -u nobody --)
  else RUN=(setpriv --reuid=nobody --regid=nogroup --clear-groups --); fi
fi
cleanup() {
  "${RUN[@]}" "$PGBIN/pg_ctl" -D "$T/db" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${RUN[@]}" "$PGBIN/initdb" -D "$T/db" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$T/initdb.log" 2>&1 \
  || { cat "$T/initdb.log"; exit 1; }
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$T/db" -w -t 60 -l "$T/db/server.log" \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $T/db -c fsync=off" start >/dev/null \
  || { cat "$T/db/server.log"; exit 1; }
URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
mkdir -p "$T/data"
"$PP" datagen --posts 800 --seed 5 --out "$T/data" --postgres "$URL" --quiet > "$T/datagen.out"
grep -q '^postgres_s: ' "$T/datagen.out"
"$PP" pipeline --data "$T/data" --sources database --requests 0 > "$T/sqlite.out"
"$PP" pipeline --data "$T/data" --sources database --postgres "$URL" --batch-size 97 --requests 50 > "$T/pg.out"
grep -q '^posts_loaded: 800$' "$T/pg.out" || { cat "$T/pg.out"; exit 1; }
a=$(grep '^posts_checksum:' "$T/sqlite.out"); b=$(grep '^posts_checksum:' "$T/pg.out")
[ "$a" = "$b" ] || { echo "checksums differ: sqlite $a, postgres $b"; exit 1; }
# the slowest statement, explained by the server itself
"$PP" pipeline --data "$T/data" --postgres "$URL" --batch-size 50 --requests 0 --explain > "$T/explain.out"
grep -q '^explain_analyze:' "$T/explain.out" || { cat "$T/explain.out"; exit 1; }
grep -q 'actual time=' "$T/explain.out" || { cat "$T/explain.out"; exit 1; }
grep -qi 'limit' "$T/explain.out" || { cat "$T/explain.out"; exit 1; }
# a server that is gone: a clear error, exit 1
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$T/db" -m fast -w stop >/dev/null
set +e
"$PP" pipeline --data "$T/data" --postgres "$URL" --requests 0 > /dev/null 2> "$T/err"
rc=$?
set -e
[ $rc = 1 ] || { echo "expected exit 1, got $rc"; exit 1; }
grep -q 'postgres' "$T/err" || { cat "$T/err"; exit 1; }
echo "ok: postgres source matches sqlite ($b)"
