#!/usr/bin/env bash
# The posts subcommands from the outside: datagen output lines, pipeline
# name: value lines for every source, usage errors (exit 2), a corrupt model
# (exit 1 naming the file), rejected rows (every one rejected: exit 1), a FIFO
# or /dev/zero as input (refused), and `api-server` as a separate process.
set -euo pipefail
PP=$1
T=$(mktemp -d /tmp/posts_cli_XXXXXX)
SRV=""
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$PP" datagen --posts 600 --out "$T/d" --seed 3 > "$T/gen.out" 2> "$T/gen.err"
for k in auc_small auc_medium auc_large posts sqlite_s; do
  grep -q "^$k: " "$T/gen.out" || fail "datagen lacks $k"
done
grep -q 'sqlite' "$T/gen.err" || fail "datagen showed no progress"
for f in posts.db posts.jsonl small.model medium.model large.model; do [ -s "$T/d/$f" ] || fail "no $f"; done

"$PP" pipeline --data "$T/d" --sources database,file,api --requests 200 --batch-size 50 > "$T/p.out"
for k in posts_loaded rows_rejected load_posts_per_s preprocess_posts_per_s infer_posts_per_s \
         end_to_end_posts_per_s cache_hit_ratio requests_per_s; do
  grep -q "^$k: " "$T/p.out" || fail "pipeline lacks $k"
done
grep -q '^posts_loaded: 1800$' "$T/p.out" || fail "expected 1800 posts: $(cat "$T/p.out")"
grep -q '^rows_rejected: 0$' "$T/p.out" || fail "rejected lines in clean data"
grep -q '^api_connections_opened: [1-4]$' "$T/p.out" || fail "keep-alive: $(grep api_ "$T/p.out")"
grep -q '^api_connections_reused: 0$' "$T/p.out" && fail "keep-alive reused no connection"
"$PP" pipeline --data "$T/d" --sources file --limit 100 --requests 0 | grep -q '^posts_loaded: 100$' \
  || fail "--limit"
"$PP" pipeline --data "$T/d" --requests 100 --candidates 20 --trace-out "$T/trace.csv" > "$T/t.out"
grep -q '^trace_accesses: ' "$T/t.out" || fail "no trace_accesses line"
head -n 1 "$T/trace.csv" | grep -q '^key_hash,key,op,hit,latency_ns$' || fail "trace header"
[ "$(grep -c ',get,' "$T/trace.csv")" = 2000 ] || fail "trace should hold 2000 gets"

# a malformed line in the file: counted, the rest loads, logged with its line number
{ head -n 3 "$T/d/posts.jsonl"; echo '{"id": 1, "truncated'; tail -n +4 "$T/d/posts.jsonl"; } > "$T/bad.jsonl"
mv "$T/bad.jsonl" "$T/d/posts.jsonl"
"$PP" pipeline --data "$T/d" --sources file --requests 0 > "$T/f.out" 2> "$T/f.err"
grep -q '^rows_rejected: 1$' "$T/f.out" || fail "rows_rejected: $(cat "$T/f.out")"
grep -q '^posts_loaded: 600$' "$T/f.out" || fail "valid lines did not all load"
grep -q 'line' "$T/f.err" && grep -q '4' "$T/f.err" || fail "reject not logged: $(cat "$T/f.err")"

# every row rejected: exit 1 saying so, for pipeline (file, database) and run
mkdir -p "$T/h"
cp "$T/d/"*.model "$T/h/"
printf '{"id": -1}\n{"id": 2, "author_id": null}\n\n' > "$T/h/posts.jsonl"
python3 - "$T/h/posts.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE posts(id, author_id, author_followers, created_at, lang, text, media,"
           " reactions, comments, shares)")
db.execute("INSERT INTO posts VALUES(1, NULL, 1, 0, 'en', 'x', 'none', 0, 0, 0)")
db.execute("INSERT INTO posts VALUES(2, 'abc', 1, 0, 'en', 'x', 'none', 0, 0, 0)")
db.execute("INSERT INTO posts VALUES(3, 5, 1, 0, 'abcdefghijk', 'x', 'none', 0, 0, 0)")
db.commit()
PY
set +e
"$PP" pipeline --data "$T/h" --sources file --requests 0 > "$T/h.out" 2> "$T/h.err"; rc=$?
set -e
[ $rc = 1 ] || fail "every line rejected gave exit $rc"
grep -q 'every row was rejected (3; first: jsonl line 1 (id -1): field "id" out of range' "$T/h.err" \
  || fail "every line rejected: $(cat "$T/h.err")"
set +e
"$PP" pipeline --data "$T/h" --sources database --requests 0 > "$T/h.out" 2> "$T/h.err"; rc=$?
set -e
[ $rc = 1 ] || fail "every row rejected gave exit $rc"
grep -q 'every row was rejected (3; first: sqlite row 1 (id 1): field "author_id" is NULL' "$T/h.err" \
  || fail "every row rejected: $(cat "$T/h.err")"
grep -q 'row_rejected' "$T/h.err" && grep -q 'reason' "$T/h.err" || fail "rejects not logged"
set +e
"$PP" run --quick --data "$T/h" --out "$T/h/out" > "$T/h.out" 2> "$T/h.err"; rc=$?
set -e
[ $rc = 1 ] || fail "run over rejected rows gave exit $rc"
grep -q 'no valid posts in .*posts.db: every row was rejected (3' "$T/h.err" \
  || fail "run: $(cat "$T/h.err")"

# a FIFO or /dev/zero as posts.jsonl: refused at once (timeout: a hang fails the test)
rm "$T/h/posts.jsonl"
mkfifo "$T/h/posts.jsonl"
set +e
timeout 240 "$PP" pipeline --data "$T/h" --sources file --requests 0 > /dev/null 2> "$T/h.err"; rc=$?
set -e
[ $rc = 1 ] || fail "FIFO as posts.jsonl gave exit $rc"
grep -q 'posts.jsonl: a FIFO, not a regular file' "$T/h.err" || fail "FIFO: $(cat "$T/h.err")"
rm "$T/h/posts.jsonl"
ln -s /dev/zero "$T/h/posts.jsonl"
set +e
timeout 240 "$PP" pipeline --data "$T/h" --sources file --requests 0 > /dev/null 2> "$T/h.err"; rc=$?
set -e
[ $rc = 1 ] || fail "/dev/zero as posts.jsonl gave exit $rc"
grep -q 'posts.jsonl: a character device, not a regular file' "$T/h.err" \
  || fail "/dev/zero: $(cat "$T/h.err")"

# usage errors: exit 2 with one line and the usage
set +e
"$PP" pipeline --bogus 1 > /dev/null 2> "$T/u.err"; rc=$?
set -e
[ $rc = 2 ] || fail "unknown flag gave $rc"
grep -q "unknown option '--bogus'" "$T/u.err" || fail "unknown flag message"
set +e
"$PP" pipeline --batch-size 0 > /dev/null 2> "$T/u.err"; rc=$?
set -e
[ $rc = 2 ] || fail "bad value gave $rc"
grep -q -- '--cache' <<<"$("$PP" pipeline --help)" || fail "--help"
"$PP" datagen --help > /dev/null
"$PP" api-server --help > /dev/null

# corrupt model: exit 1, the file named
head -c 100 "$T/d/medium.model" > "$T/d/m.tmp" && mv "$T/d/m.tmp" "$T/d/medium.model"
set +e
"$PP" pipeline --data "$T/d" > /dev/null 2> "$T/m.err"; rc=$?
set -e
[ $rc = 1 ] || fail "corrupt model gave $rc"
grep -q "medium.model: truncated" "$T/m.err" || fail "corrupt model message: $(cat "$T/m.err")"

# api-server as its own process on an ephemeral port
"$PP" api-server --data "$T/d" --listen 127.0.0.1:0 > "$T/srv.out" &
SRV=$!
# no deadline of its own: a hang is ctest's timeout to catch
until grep -q '^listening: ' "$T/srv.out" 2>/dev/null; do kill -0 $SRV 2>/dev/null || break; sleep 0.02; done
URL=$(sed -n 's/^listening: //p' "$T/srv.out")
[ -n "$URL" ] || fail "api-server did not start"
code=$(curl -s -o "$T/page" -w '%{http_code}' "$URL/posts?limit=3")
[ "$code" = 200 ] && grep -q '"next_cursor":3' "$T/page" || fail "page: $code $(cat "$T/page")"
code=$(curl -s -o "$T/page" -w '%{http_code}' "$URL/posts?limit=abc")
[ "$code" = 400 ] || fail "bad limit gave $code"
"$PP" pipeline --data "$T/d" --sources api --api-url "$URL" --model small --requests 10 \
  --api-concurrency 3 --keep-alive 0 > "$T/a.out"
grep -q '^posts_loaded: 600$' "$T/a.out" || fail "api source via --api-url"
grep -q '^api_connections_reused: 0$' "$T/a.out" || fail "--keep-alive 0 reused a connection"
kill -TERM "$SRV"; wait "$SRV"; SRV=""
grep -q '^requests: ' "$T/srv.out" || fail "api-server did not stop cleanly"
echo ok
