// pyroscope_receiver.cjs - A Pyroscope-style /ingest receiver on
// 127.0.0.1:0 that checks every request's query as Pyroscope's ingest handler
// reads it (format=pprof, name=APP.cpu{labels} with its label-set rules,
// from/until Unix seconds, sampleRate, spyName) and decodes the body with
// pprof-format; it drives postprof against itself and judges what arrives.
//
//   node pyroscope_receiver.cjs record POSTPROF WORK_SHARES DIR
//     `postprof record --push`: accepted (the pushed profile is the file
//     written), refused with 400 (never retried; exit 122, the file still
//     written), 503 with Retry-After (retried no sooner), no server (retried,
//     then exit 122), bad labels (refused before the target runs).
//   node pyroscope_receiver.cjs continuous PUSH_PEER
//     POSTPROF_PUSH_URL in a program's environment: several 1 s intervals
//     arrive; a 503 with Retry-After is retried with the same profile; a 400
//     is never retried and is counted; the program exits within the flush
//     deadline after pushing its last, partial interval.
// Exit 0 when every check holds; 1 with the first that failed.
'use strict';
const http = require('http');
const net = require('net');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { decode, summarize } = require('./pprof_util.cjs');

function fail(msg) {
  console.error(`pyroscope_receiver: FAIL: ${msg}`);
  process.exit(1);
}

function check(cond, msg) {
  if (!cond) fail(msg);
}

// a server answering each request with answer(rec, index) -> {status, headers, body}
function receiver(answer) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url, 'http://127.0.0.1');
      const rec = {
        method: req.method,
        path: u.pathname,
        query: u.searchParams,
        rawQuery: u.search,
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: process.hrtime.bigint(),
      };
      const index = requests.length;
      requests.push(rec);
      const a = answer(rec, index);
      rec.status = a.status;
      res.writeHead(a.status, a.headers || { 'Content-Type': 'text/plain' });
      res.end(a.body || '', () => {
        rec.answeredAt = process.hrtime.bigint();
        if (server.onRequest) server.onRequest(rec, index);
      });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, requests, port: server.address().port }));
  });
}

// Pyroscope's label-set grammar: APP{k=v,...}; app runes [A-Za-z0-9_./-], key runes [A-Za-z0-9_.]
function parseName(name) {
  const m = /^([A-Za-z0-9_./-]+)\{([^{}]*)\}$/.exec(name);
  if (!m) return null;
  const labels = {};
  if (m[2] !== '')
    for (const kv of m[2].split(',')) {
      const eq = kv.indexOf('=');
      if (eq <= 0 || !/^[A-Za-z0-9_.]+$/.test(kv.slice(0, eq))) return null;
      labels[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  return { app: m[1], labels };
}

// the query and body of one /ingest request; returns the body's summary
function checkIngest(rec, want, what) {
  check(rec.method === 'POST', `${what}: method ${rec.method}`);
  check(rec.path === '/ingest', `${what}: path ${rec.path}`);
  const q = rec.query;
  check(q.get('format') === 'pprof', `${what}: format=${q.get('format')}`);
  // the raw query must carry name URL-encoded: braces and commas never bare
  check(!/[{},]/.test(rec.rawQuery), `${what}: name is not URL-encoded: ${rec.rawQuery}`);
  const name = parseName(q.get('name') || '');
  check(name, `${what}: name '${q.get('name')}' is not APP{labels}`);
  check(name.app === `${want.app}.cpu`, `${what}: application ${name.app}, want ${want.app}.cpu`);
  check(JSON.stringify(name.labels) === JSON.stringify(want.labels),
    `${what}: labels ${JSON.stringify(name.labels)}, want ${JSON.stringify(want.labels)}`);
  const from = q.get('from'), until = q.get('until');
  check(/^\d+$/.test(from) && /^\d+$/.test(until), `${what}: from=${from} until=${until} are not Unix seconds`);
  const now = Date.now() / 1000;
  check(Number(from) < Number(until), `${what}: from ${from} not before until ${until}`);
  check(Number(from) > now - 3600 && Number(until) < now + 60, `${what}: from/until ${from}/${until} far from now ${now}`);
  check(q.get('sampleRate') === String(want.rate), `${what}: sampleRate=${q.get('sampleRate')}, want ${want.rate}`);
  check(q.get('spyName') === 'postprof', `${what}: spyName=${q.get('spyName')}`);
  const p = decode(rec.body);
  const types = p.sampleType.map((t) => p.stringTable.strings[Number(t.type)]);
  check(types.includes('samples') && types.includes('cpu'), `${what}: sample types ${types}`);
  return summarize(p);
}

function run(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

function sameTotals(a, b, what) {
  for (const k of new Set([...Object.keys(a.total), ...Object.keys(b.total)]))
    check(a.total[k] === b.total[k], `${what}: ${k}: ${a.total[k]} vs ${b.total[k]}`);
  check(a.sum === b.sum && a.sum > 0, `${what}: totals ${a.sum} vs ${b.sum}`);
}

async function recordMode(pp, work, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const want = { app: 'work_shares', labels: { env: 'test', region: 'eu-1' }, rate: 99 };
  const recordArgs = (url, out, extra = []) => ['record', '-q', '--push', url, '--push-labels',
    'env=test,region=eu-1', ...extra, '-o', out, '--', work, '1', '200'];

  // accepted: the pushed profile is the one written
  let r = await receiver(() => ({ status: 200 }));
  let out = path.join(dir, 'ok.pb.gz');
  let res = await run(pp, recordArgs(`http://127.0.0.1:${r.port}`, out));
  check(res.code === 0, `accepted: exit ${res.code}: ${res.err}`);
  check(r.requests.length === 1, `accepted: ${r.requests.length} requests`);
  let s = checkIngest(r.requests[0], want, 'accepted');
  sameTotals(s, summarize(decode(fs.readFileSync(out))), 'pushed vs written');
  r.server.close();

  // refused with 400: never retried, exit 122, the file written all the same
  r = await receiver(() => ({ status: 400, body: 'invalid profile\n' }));
  out = path.join(dir, 'refused.pb.gz');
  res = await run(pp, recordArgs(`http://127.0.0.1:${r.port}/`, out));
  check(res.code === 122, `refused: exit ${res.code}: ${res.err}`);
  check(r.requests.length === 1, `refused: ${r.requests.length} requests: a 400 was retried`);
  checkIngest(r.requests[0], want, 'refused');
  check(res.err.includes(`http://127.0.0.1:${r.port}/`) && res.err.includes('HTTP 400') &&
    res.err.includes('invalid profile'), `refused: message lacks the URL, status or answer: ${res.err}`);
  check(summarize(decode(fs.readFileSync(out))).sum > 0, 'refused: the profile was not written');
  r.server.close();

  // 503 with Retry-After: 1, then accepted: the same profile again, no sooner
  r = await receiver((rec, i) => (i === 0 ? { status: 503, headers: { 'Retry-After': '1' } } : { status: 200 }));
  out = path.join(dir, 'retried.pb.gz');
  res = await run(pp, recordArgs(`http://127.0.0.1:${r.port}/ingest`, out));
  check(res.code === 0, `503: exit ${res.code}: ${res.err}`);
  check(r.requests.length === 2, `503: ${r.requests.length} requests, want 2`);
  check(r.requests[0].body.equals(r.requests[1].body), '503: the retry sent another body');
  const gapMs = Number(r.requests[1].at - r.requests[0].answeredAt) / 1e6;
  check(gapMs >= 900, `503: retried after ${gapMs} ms, before Retry-After's 1 s`);
  checkIngest(r.requests[1], want, 'retried');
  r.server.close();

  // nobody listening: retried within --push-timeout, then exit 122
  const port = await new Promise((resolve) => {
    const s2 = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s2.address().port;
      s2.close(() => resolve(p));
    });
  });
  out = path.join(dir, 'unreachable.pb.gz');
  res = await run(pp, recordArgs(`http://127.0.0.1:${port}`, out, ['--push-timeout', '3']));
  check(res.code === 122, `unreachable: exit ${res.code}: ${res.err}`);
  const m = /could not be reached: .*\((\d+) attempts\)/.exec(res.err);
  check(m && Number(m[1]) >= 2, `unreachable: not retried, or the message does not say: ${res.err}`);
  check(res.err.includes(`http://127.0.0.1:${port}`), `unreachable: message lacks the URL: ${res.err}`);
  check(summarize(decode(fs.readFileSync(out))).sum > 0, 'unreachable: the profile was not written');

  // bad labels and stray push options: usage errors before the target runs
  r = await receiver(() => ({ status: 200 }));
  res = await run(pp, ['record', '--push', `http://127.0.0.1:${r.port}`, '--push-labels', 'bad key=v',
    '-o', path.join(dir, 'bad.pb.gz'), '--', work, '1', '10']);
  check(res.code === 2 && /label key/.test(res.err), `bad labels: exit ${res.code}: ${res.err}`);
  res = await run(pp, ['record', '--push-app', 'x', '-o', path.join(dir, 'bad.pb.gz'), '--', work, '1', '10']);
  check(res.code === 2, `--push-app without --push: exit ${res.code}`);
  res = await run(pp, ['record', '--push', 'ftp://example', '-o', path.join(dir, 'bad.pb.gz'), '--', work, '1', '10']);
  check(res.code === 2, `ftp URL: exit ${res.code}`);
  check(r.requests.length === 0, 'a refused command line still pushed');
  check(!fs.existsSync(path.join(dir, 'bad.pb.gz')), 'a refused command line still ran the target');
  r.server.close();
  console.log('pyroscope_receiver: record: ok');
}

async function continuousMode(peer) {
  const FLUSH_S = 20; // generous: the last interval is symbolized before it goes, on a loaded machine
  const want = { app: 'pyro-peer', labels: { env: 'test', node: 'n1' }, rate: 99 };
  // 0: 503 Retry-After 1; 1: its retry, 200; 2: 400; then 200
  const r = await receiver((rec, i) => {
    if (i === 0) return { status: 503, headers: { 'Retry-After': '1' }, body: 'busy\n' };
    if (i === 2) return { status: 400, body: 'bad profile\n' };
    return { status: 200 };
  });
  const env = {
    POSTPROF_PUSH_URL: `http://127.0.0.1:${r.port}`,
    POSTPROF_PUSH_APP: 'pyro-peer',
    POSTPROF_PUSH_LABELS: 'env=test,node=n1',
    POSTPROF_PUSH_INTERVAL: '1',
    POSTPROF_PUSH_FLUSH_TIMEOUT: String(FLUSH_S),
  };
  const child = spawn(peer, [], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  // two intervals accepted after the 400 (requests 3 and 4), then the program is told to end
  let closedAt = null, seenAtClose = 0;
  const watchdog = setTimeout(() => {
    child.kill('SIGKILL');
    fail(`only ${r.requests.length} requests in 180 s (statuses ${r.requests.map((q) => q.status)}): ${err}`);
  }, 180000);
  await new Promise((resolve, reject) => {
    r.server.onRequest = (rec, i) => {
      if (i >= 4 && closedAt === null) {
        seenAtClose = r.requests.length;
        closedAt = process.hrtime.bigint();
        child.stdin.end();
        resolve();
      }
    };
    exited.then((code) => reject(new Error(`push_peer exited early (${code}): ${err}${out}`)));
  }).catch((e) => fail(e.message));
  const code = await exited;
  clearTimeout(watchdog);
  const exitS = Number(process.hrtime.bigint() - closedAt) / 1e9;
  check(code === 0, `push_peer exit ${code}: ${err}`);
  check(exitS < FLUSH_S + 10, `push_peer took ${exitS} s to exit after its input closed`);
  check(r.requests.length > seenAtClose, 'the last, partial interval was not pushed at exit');
  // every request is a valid /ingest of this program
  const sums = r.requests.map((rec, i) => checkIngest(rec, want, `request ${i}`));
  // the 503 was retried with the same profile, no sooner than Retry-After
  check(r.requests[1].body.equals(r.requests[0].body), 'the 503 retry sent another profile');
  const gapMs = Number(r.requests[1].at - r.requests[0].answeredAt) / 1e6;
  check(gapMs >= 900, `the 503 was retried after ${gapMs} ms, before Retry-After's 1 s`);
  // the 400 was never retried
  for (let i = 3; i < r.requests.length; i++)
    check(!r.requests[i].body.equals(r.requests[2].body), `request ${i} repeats the refused profile`);
  // intervals follow one another
  for (let i = 3; i < r.requests.length; i++)
    check(Number(r.requests[i].query.get('from')) >= Number(r.requests[i - 1].query.get('from')),
      `request ${i} starts before the one before it`);
  // the program's own function is in what was pushed
  const burn = sums.reduce((a, s) => a + (s.total.pyro_burn || 0), 0);
  check(burn > 0, 'pyro_burn appears in no pushed profile');
  // what the program counted, in its stats and its registry
  check(/ refused=1 /.test(out) && / unreachable=0 /.test(out), `push_peer's counts: ${out}`);
  // one sender pushes in turn: when request 4 arrived (and the input was
  // closed), requests 1 and 3 had been answered 200 and counted; request 4's
  // answer may still be on its way when the program reads its counts (a
  // fresh-clone TSan run read sent=2, then 3 in the registry just after)
  const sent = Number((/ sent=(\d+)/.exec(out) || [])[1]);
  check(sent >= 2 && sent <= r.requests.filter((q) => q.status === 200).length,
    `push_peer counted ${sent} sent: ${out}`);
  const sentMetric = Number((/outcome="sent"\} (\d+)/.exec(out) || [])[1]);
  check(sentMetric >= sent && sentMetric <= r.requests.filter((q) => q.status === 200).length,
    `the registry counted ${sentMetric} sent, the stats ${sent}: ${out}`);
  check(/push_peer metric postprof_profile_pushes_total\{outcome="refused"\} 1\b/.test(out),
    `the refusal is not in the registry: ${out}`);
  r.server.close();
  console.log(`pyroscope_receiver: continuous: ok: ${r.requests.length} requests, pyro_burn ${burn} samples, exit ${exitS.toFixed(2)} s after the end of input`);
}

const [mode, ...args] = process.argv.slice(2);
(mode === 'record' ? recordMode(...args) : mode === 'continuous' ? continuousMode(...args) : Promise.reject(new Error(`unknown mode ${mode}`)))
  .catch((e) => fail(e.stack || String(e)));
