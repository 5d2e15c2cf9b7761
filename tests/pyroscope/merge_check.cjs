// merge_check.cjs MERGED NODE=INPUT... - Decodes a `postprof merge` output and
// its inputs (pprof with pprof-format, folded read here) and checks: every sample carries a
// `node` label naming one of the inputs; per node, the per-function totals
// equal that input's; over all nodes, each function's total is the sum of the
// inputs'. Exit 0 when all hold, 1 with what differs.
'use strict';
const fs = require('fs');
const { decode, summarize } = require('./pprof_util.cjs');

// a folded input (root;...;leaf COUNT per line), summarized like a pprof one
function summarizeFolded(text) {
  const r = { total: {}, self: {}, sum: 0 };
  for (const line of text.split('\n')) {
    const m = /^(.*) (\d+)$/.exec(line.trim());
    if (!m) continue;
    const frames = m[1].split(';'), v = Number(m[2]);
    r.sum += v;
    r.self[frames[frames.length - 1]] = (r.self[frames[frames.length - 1]] || 0) + v;
    for (const fn of new Set(frames)) r.total[fn] = (r.total[fn] || 0) + v;
  }
  return r;
}

function fail(msg) {
  console.error(`merge_check: FAIL: ${msg}`);
  process.exit(1);
}

const [merged, ...pairs] = process.argv.slice(2);
if (!merged || pairs.length === 0) fail('usage: merge_check.cjs MERGED NODE=INPUT...');
const m = summarize(decode(fs.readFileSync(merged)));
if (m.unlabelled !== 0) fail(`${m.unlabelled} of the merged value has no node label`);
const want = {};
let inputsSum = 0;
for (const pair of pairs) {
  const eq = pair.indexOf('=');
  const node = pair.slice(0, eq), file = pair.slice(eq + 1);
  const s = file.endsWith('.folded')
    ? summarizeFolded(fs.readFileSync(file, 'utf8'))
    : summarize(decode(fs.readFileSync(file)));
  if (s.sum <= 0) fail(`${file} holds no samples: the check would prove nothing`);
  inputsSum += s.sum;
  const got = m.byNode[node];
  if (!got) fail(`no sample of node ${node} in the merged profile`);
  if (m.nodeTotals[node] !== s.sum) fail(`node ${node}: merged ${m.nodeTotals[node]}, input ${s.sum}`);
  for (const [fn, v] of Object.entries(s.total)) {
    if (got[fn] !== v) fail(`node ${node}, ${fn}: merged ${got[fn]}, input ${v}`);
    want[fn] = (want[fn] || 0) + v;
  }
  for (const fn of Object.keys(got))
    if (!(fn in s.total)) fail(`node ${node}: ${fn} is in the merged profile but not in ${file}`);
}
for (const node of Object.keys(m.nodeTotals))
  if (!pairs.some((p) => p.startsWith(node + '='))) fail(`unexpected node label ${node}`);
if (m.sum !== inputsSum) fail(`merged total ${m.sum}, inputs ${inputsSum}`);
for (const [fn, v] of Object.entries(want))
  if (m.total[fn] !== v) fail(`${fn}: merged total ${m.total[fn]}, sum of inputs ${v}`);
for (const fn of Object.keys(m.total)) if (!(fn in want)) fail(`${fn} appears from nowhere`);
console.log(`merge_check: ok: ${Object.keys(m.nodeTotals).length} nodes, ${Object.keys(want).length} functions, total ${m.sum}`);
