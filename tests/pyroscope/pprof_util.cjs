// pprof_util.cjs - Reading pprof files with pprof-format (a decoder
// independent of postprof's protobuf-c code): per-function totals, per-node
// totals, labels. Shared by merge_check.cjs and pyroscope_receiver.cjs.
'use strict';
const path = require('path');
const zlib = require('zlib');

function loadFormat() {
  const deps = process.env.PP_PYROSCOPE_DEPS;
  if (!deps) throw new Error('PP_PYROSCOPE_DEPS is not set (tests/pyroscope/setup.sh installs pprof-format there)');
  return require(path.join(deps, 'node_modules', 'pprof-format'));
}

function decode(buf) {
  const { Profile } = loadFormat();
  const raw = buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b ? zlib.gunzipSync(buf) : buf;
  return Profile.decode(raw);
}

function str(p, i) {
  return p.stringTable.strings[Number(i)];
}

// index of the value the profile is about (default_sample_type, else 0)
function mainIndex(p) {
  const dflt = Number(p.defaultSampleType || 0);
  if (dflt) {
    const i = p.sampleType.findIndex((t) => Number(t.type) === dflt);
    if (i >= 0) return i;
  }
  return 0;
}

function labelsOf(p, s) {
  const out = {};
  for (const l of s.label || []) out[str(p, l.key)] = Number(l.str) ? str(p, l.str) : Number(l.num);
  return out;
}

// { total: {fn: v}, self: {fn: v}, byNode: {node: {fn: v}}, nodeTotals: {node: v}, sum, unlabelled }
function summarize(p) {
  const locs = new Map();
  for (const l of p.location) locs.set(Number(l.id), l);
  const fns = new Map();
  for (const f of p.function) fns.set(Number(f.id), str(p, f.name));
  const mi = mainIndex(p);
  const r = { total: {}, self: {}, byNode: {}, nodeTotals: {}, sum: 0, unlabelled: 0 };
  for (const s of p.sample) {
    const v = Number(s.value[mi]);
    const names = [];
    for (const id of s.locationId) {
      const loc = locs.get(Number(id));
      if (!loc) throw new Error(`sample refers to unknown location ${id}`);
      for (const line of loc.line) {
        const fn = fns.get(Number(line.functionId));
        if (fn === undefined) throw new Error(`location ${id} refers to unknown function ${line.functionId}`);
        names.push(fn);
      }
    }
    const node = labelsOf(p, s).node;
    r.sum += v;
    if (node === undefined) r.unlabelled += v;
    else {
      r.nodeTotals[node] = (r.nodeTotals[node] || 0) + v;
      r.byNode[node] = r.byNode[node] || {};
    }
    if (names.length) r.self[names[0]] = (r.self[names[0]] || 0) + v;
    for (const fn of new Set(names)) {
      r.total[fn] = (r.total[fn] || 0) + v;
      if (node !== undefined) r.byNode[node][fn] = (r.byNode[node][fn] || 0) + v;
    }
  }
  return r;
}

module.exports = { decode, summarize, labelsOf, str, mainIndex };
