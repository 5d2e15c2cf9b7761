#!/usr/bin/env bash
# PostgreSQL source end to end: a real server (initdb in a temp dir, run as an
# unprivileged user, started and stopped here), `datagen --postgres` loads it,
# and `pipeline --postgres` reads back exactly the posts SQLite holds; hostile
# rows (NULLs, out of range, duplicate and NULL ids, a text author_id) are
# rejected one by one with their reason.
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
# hostile rows in a table of their own (no key): each rejected with its row and reason, an id
# repeated across page boundaries too, NULL ids too; the valid rows still load
PSQL="$PGBIN/psql"
[ -x "$PSQL" ] || PSQL=psql
"$PSQL" -q -v ON_ERROR_STOP=1 "$URL" -c 'CREATE DATABASE hostile' -c 'CREATE DATABASE textauthor' >/dev/null
HURL="postgresql://postgres@127.0.0.1:$PORT/hostile"
"$PSQL" -q -v ON_ERROR_STOP=1 "$HURL" >/dev/null <<'SQL'
CREATE TABLE posts(id BIGINT, author_id BIGINT, author_followers BIGINT, created_at BIGINT,
  lang TEXT, text TEXT, media TEXT, reactions BIGINT, comments BIGINT, shares BIGINT);
INSERT INTO posts VALUES
  (1, 7, 100, 1700000000, 'en', 'hello', 'none', 1, 2, 3),
  (2, 7, 100, 1700000000, 'en', 'hello', 'none', 1, 2, 3),
  (2, 7, 100, 1700000000, 'en', 'again', 'none', 1, 2, 3),
  (2, 7, 100, 1700000000, 'en', 'again', 'none', 1, 2, 3),
  (3, 7, 100, 1700000000, 'es', 'hola', 'image', 1, 2, 3),
  (4, 7, 100, 1700000000, 'en', 'hello', 'poll', 0, 0, 0),
  (5, NULL, 100, 1700000000, 'en', 'x', 'none', 1, 2, 3),
  (7, 7, 100, 1700000000, 'abcdefghijk', 'x', 'none', 1, 2, 3),
  (8, 7, 100, 1700000000, 'en', 'x', 'hologram', 1, 2, 3),
  (9, 7, 100, 1700000000, 'en', 'x', 'none', -5, 2, 3),
  (-3, 7, 100, 1700000000, 'en', 'x', 'none', 1, 2, 3),
  (NULL, 7, 100, 1700000000, 'en', 'x', 'none', 1, 2, 3);
SQL
"$PP" pipeline --data "$T/data" --sources database --postgres "$HURL" --batch-size 2 --requests 0 \
  > "$T/h.out" 2> "$T/h.err" || { cat "$T/h.out" "$T/h.err"; exit 1; }
grep -q '^posts_loaded: 4$' "$T/h.out" || { echo "hostile: $(cat "$T/h.out")"; exit 1; }
grep -q '^rows_rejected: 8$' "$T/h.out" || { echo "hostile: $(cat "$T/h.out" "$T/h.err")"; exit 1; }
grep -q '^duplicate_ids: 2$' "$T/h.out" || { echo "hostile: $(cat "$T/h.out")"; exit 1; }
for why in 'id=5 kind=missing reason="field \"author_id\" is NULL"' \
           'id=7 kind=range reason="field \"lang\" must be 1 to 3 ASCII letters"' \
           'id=8 kind=range reason="field \"media\" must be' \
           'id=9 kind=range reason="field \"reactions\" out of range (-5 < 0)"' \
           'id=-3 kind=range reason="field \"id\" out of range (-3 < 1)"' \
           'id=2 kind=duplicate' 'kind=missing reason="field \"id\" is NULL"'; do
  grep -qF "$why" "$T/h.err" || { echo "hostile: no '$why' in:"; cat "$T/h.err"; exit 1; }
done
[ "$(grep -c 'id=2 kind=duplicate' "$T/h.err")" = 2 ] || { cat "$T/h.err"; exit 1; }
grep -q 'hostile' "$T/h.err" || { echo "rejects do not name the database"; exit 1; }
# a non-numeric author_id needs a text column: no row of it is an integer, every row rejected
TURL="postgresql://postgres@127.0.0.1:$PORT/textauthor"
"$PSQL" -q -v ON_ERROR_STOP=1 "$TURL" >/dev/null <<'SQL'
CREATE TABLE posts(id BIGINT, author_id TEXT, author_followers BIGINT, created_at BIGINT,
  lang TEXT, text TEXT, media TEXT, reactions BIGINT, comments BIGINT, shares BIGINT);
INSERT INTO posts VALUES (1, 'abc', 100, 1700000000, 'en', 'x', 'none', 1, 2, 3),
  (2, '7', 100, 1700000000, 'en', 'x', 'none', 1, 2, 3);
SQL
set +e
"$PP" pipeline --data "$T/data" --sources database --postgres "$TURL" --requests 0 > /dev/null 2> "$T/t.err"
rc=$?
set -e
[ $rc = 1 ] || { echo "every row rejected: exit $rc"; cat "$T/t.err"; exit 1; }
grep -qF 'every row was rejected (2; first: postgres row 1 (id 1): field "author_id" must be an integer' \
  "$T/t.err" || { cat "$T/t.err"; exit 1; }
# a server that is gone: a clear error, exit 1
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$T/db" -m fast -w stop >/dev/null
set +e
"$PP" pipeline --data "$T/data" --postgres "$URL" --requests 0 > /dev/null 2> "$T/err"
rc=$?
set -e
[ $rc = 1 ] || { echo "expected exit 1, got $rc"; exit 1; }
grep -q 'postgres' "$T/err" || { cat "$T/err"; exit 1; }
echo "ok: postgres source matches sqlite ($b)"
