/*
 * dashboard.js - The live dashboard: every second it reads /metrics
 * (Prometheus text) and /api/snapshot from the server that served the page,
 * keeps a few minutes of history in memory and redraws the charts, the
 * current values, the top operations and the current bottlenecks. A node of
 * `pipeline --serve` beside a shared cache also gets the shared-cache card
 * (its hit ratio, every node's, a local LRU's; the gain from /api/service).
 * A server started with --token wants "Authorization: Bearer T" on those
 * requests: the page takes T from its address's fragment (#token=T, which
 * browsers never send to the server), keeps it for the tab in
 * sessionStorage, removes it from the address bar, and asks for it when the
 * server answers 401.
 */
'use strict';
(function () {
  const C = window.PPCharts;
  const $ = id => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const INTERVAL_MS = Math.max(200, +params.get('interval_ms') || 1000);
  const KEEP_S = 300;
  const t0 = Date.now();
  const hist = { mem: [], cpu: [], gpu: {}, hit: [], bn: [], rate: {}, p95: {}, shared: { node: [], all: [], local: [] } };
  let lastSvc = null;
  let sharedSeen = false; /* the node exports the shared-cache metrics: poll /api/service too */
  let prev = null; /* previous scrape: {t, counts: {op: n}, buckets: {op: [[le, n]...]}, bn: {key: n}} */
  const lastSeen = {}; /* bottleneck key -> time its count last grew */
  const TOKEN_KEY = 'postprof.token';
  let token = takeToken();

  function takeToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (m) {
      const t = decodeURIComponent(m[1]);
      try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* storage off: this load only */ }
      history.replaceState(null, '', location.pathname + location.search);
      return t;
    }
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function askToken(why) {
    const st = $('status');
    st.textContent = why;
    st.className = 'err';
    const form = $('token-form');
    form.hidden = false;
    $('token-input').focus();
  }

  $('token-form').addEventListener('submit', ev => {
    ev.preventDefault();
    token = $('token-input').value.trim();
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* this load only */ }
    $('token-form').hidden = true;
    $('token-input').value = '';
    tick();
  });

  function esc(s) {
    return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  /* Prometheus text format: [{name, labels: {}, value}] (comments skipped). */
  function parseMetrics(text) {
    const out = [];
    const lre = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (const line of text.split('\n')) {
      if (!line || line[0] === '#') continue;
      let name, labels = {}, rest;
      const brace = line.indexOf('{');
      const sp = line.indexOf(' ');
      if (brace >= 0 && brace < sp) {
        name = line.slice(0, brace);
        const close = line.lastIndexOf('}');
        const body = line.slice(brace + 1, close);
        let m;
        lre.lastIndex = 0;
        while ((m = lre.exec(body)))
          labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        rest = line.slice(close + 1).trim();
      } else {
        name = line.slice(0, sp);
        rest = line.slice(sp + 1).trim();
      }
      const v = rest.split(' ')[0];
      out.push({ name, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : parseFloat(v) });
    }
    return out;
  }

  function push(arr, t, v) {
    arr.push([t, v]);
    while (arr.length && arr[0][0] < t - KEEP_S) arr.shift();
  }

  /* Upper estimate of quantile q from cumulative bucket deltas [[le, n]...] (sorted). */
  function quantile(buckets, q) {
    const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
    if (!(total > 0)) return NaN;
    const want = q * total;
    let prevLe = 0, prevN = 0;
    for (const [le, n] of buckets) {
      if (n >= want) {
        if (!isFinite(le)) return prevLe;
        return prevLe + (le - prevLe) * ((want - prevN) / ((n - prevN) || 1));
      }
      prevLe = le; prevN = n;
    }
    return prevLe;
  }

  function ingest(samples, snap) {
    const now = (Date.now() - t0) / 1000;
    const cur = { t: now, counts: {}, buckets: {}, bn: {}, look: {}, local: {} };
    let sharedAll = NaN;
    let mem = NaN, cpu = NaN, hit = NaN;
    const gpus = {};
    for (const s of samples) {
      switch (s.name) {
        case 'memory_usage_bytes': mem = s.value; break;
        case 'cpu_usage_percent': cpu = s.value; break;
        case 'cache_hit_ratio': hit = s.value; break;
        case 'gpu_usage_percent': gpus[s.labels.gpu || '0'] = s.value; break;
        case 'profiling_duration_seconds_count': cur.counts[s.labels.operation] = s.value; break;
        case 'profiling_duration_seconds_bucket':
          (cur.buckets[s.labels.operation] = cur.buckets[s.labels.operation] || []).push([parseFloat(s.labels.le), s.value]);
          break;
        case 'postprof_cache_lookups_total': cur.look[s.labels.result] = s.value; break;
        case 'postprof_cache_local_lru_lookups_total': cur.local[s.labels.result] = s.value; break;
        case 'postprof_shared_cache_hit_ratio': sharedAll = s.value; break;
        case 'bottleneck_detected_total':
          cur.bn[(s.labels.operation || '') + '\u0000' + (s.labels.kind || '')] = s.value;
          break;
      }
    }
    push(hist.mem, now, mem);
    push(hist.cpu, now, cpu);
    push(hist.hit, now, hit);
    for (const g in gpus) push(hist.gpu[g] = hist.gpu[g] || [], now, gpus[g]);
    const bnTotal = Object.values(cur.bn).reduce((a, b) => a + b, 0);
    push(hist.bn, now, bnTotal);
    const rates = {};
    if (prev) {
      const dt = now - prev.t;
      for (const op in cur.counts) {
        const d = cur.counts[op] - (prev.counts[op] || 0);
        rates[op] = dt > 0 ? d / dt : 0;
        push(hist.rate[op] = hist.rate[op] || [], now, rates[op]);
        const pb = prev.buckets[op] || [];
        const delta = (cur.buckets[op] || []).map(([le, n], i) => [le, n - (pb[i] ? pb[i][1] : 0)]);
        const p = quantile(delta.sort((a, b) => a[0] - b[0]), 0.95);
        if (isFinite(p)) push(hist.p95[op] = hist.p95[op] || [], now, p);
      }
      for (const k in cur.bn) if (cur.bn[k] > (prev.bn[k] || 0)) lastSeen[k] = now;
      /* hit ratio of the lookups since the previous refresh */
      const ratio = (c, p) => {
        const h = (c.hit || 0) - (p.hit || 0), m = (c.miss || 0) - (p.miss || 0);
        return h + m > 0 ? h / (h + m) : NaN;
      };
      if ('hit' in cur.local || isFinite(sharedAll)) {
        sharedSeen = true;
        push(hist.shared.node, now, ratio(cur.look, prev.look));
        push(hist.shared.local, now, ratio(cur.local, prev.local));
        push(hist.shared.all, now, sharedAll);
      }
    } else {
      for (const k in cur.bn) lastSeen[k] = -Infinity;
    }
    prev = cur;
    render(now, { mem, cpu, hit, gpus, bnTotal, rates, snap, bn: cur.bn, svc: lastSvc });
  }

  /* The shared-cache card: three hit ratios over time and the gain with its interval. */
  function renderShared(now, svc, timeOpt, clip) {
    const card = $('shared-card');
    if (!sharedSeen) return;
    card.hidden = false;
    const pct = x => Math.round(x * 100) + '%';
    C.lineChart($('chart-shared'), Object.assign({}, timeOpt, {
      series: [{ name: 'this node on the shared cache', points: clip(hist.shared.node), color: '#2f9e44' },
        { name: 'every node on the shared cache', points: clip(hist.shared.all), color: '#1971c2' },
        { name: 'an LRU of this node\'s own', points: clip(hist.shared.local), color: '#e8590c' }],
      yMin: 0, yMax: 1, yFmt: pct, empty: 'no lookups yet' }));
    const g = svc && svc.shared_gain;
    const e = $('shared-gain');
    if (g) {
      const sg = x => (x >= 0 ? '+' : '') + (x * 100).toFixed(1);
      e.textContent = `Over the run, this node's hit ratio on the shared cache minus an LRU of ${C.num(svc.local_lru_entries)} entries of its own: ` +
        `${sg(g.hit_ratio_points)} points (95 % CI ${sg(g.ci95_low)} to ${sg(g.ci95_high)}): ${g.verdict}.`;
      e.setAttribute('data-value', String(g.hit_ratio_points));
      e.setAttribute('data-verdict', g.verdict);
    } else {
      e.textContent = 'Gain over a local LRU: not known yet (the detector needs 3 refreshes with lookups).';
      e.setAttribute('data-value', '');
    }
  }

  function setCard(id, value, text) {
    const e = $(id);
    e.textContent = text;
    e.setAttribute('data-value', isFinite(value) ? String(value) : '');
  }

  /* the operations with the most calls per second lately, at most n */
  function topOps(obj, n) {
    return Object.keys(obj).map(op => {
      const pts = obj[op];
      const recent = pts.slice(-10).reduce((a, p) => a + (isFinite(p[1]) ? p[1] : 0), 0);
      return [op, recent];
    }).sort((a, b) => b[1] - a[1]).slice(0, n).map(x => x[0]);
  }

  function render(now, v) {
    const opsPerS = Object.values(v.rates).reduce((a, b) => a + b, 0);
    setCard('v-ops', prev && Object.keys(v.rates).length ? opsPerS : NaN, Object.keys(v.rates).length ? C.num(opsPerS) : '–');
    setCard('v-memory', v.mem, C.bytes(v.mem));
    setCard('v-cpu', v.cpu, isFinite(v.cpu) ? C.num(v.cpu) + ' %' : '–');
    const g = Object.values(v.gpus);
    setCard('v-gpu', g.length ? g[0] : NaN, g.length ? g.map(x => C.num(x) + ' %').join(' / ') : 'no GPU');
    setCard('v-hit', v.hit, C.pct(v.hit));
    setCard('v-bottlenecks', v.bnTotal, C.num(v.bnTotal));

    const xFmt = t => Math.round(t - now) + 's';
    const timeOpt = { xFmt, xLabel: 'seconds ago', height: 200, dots: false, xMin: Math.max(0, now - 120) };
    const clip = pts => pts.filter(p => p[0] >= now - 120);
    const rateOps = topOps(hist.rate, 6);
    C.lineChart($('chart-rate'), Object.assign({}, timeOpt, { series: rateOps.map(op => ({ name: op, points: clip(hist.rate[op]) })), yLabel: 'calls / s', empty: 'no PP_SCOPE operation ran yet' }));
    C.lineChart($('chart-p95'), Object.assign({}, timeOpt, { series: rateOps.filter(op => hist.p95[op]).map(op => ({ name: op, points: clip(hist.p95[op]) })), yFmt: C.secs, yLabel: 'p95', empty: 'no calls in the last intervals' }));
    C.lineChart($('chart-memory'), Object.assign({}, timeOpt, { series: [{ name: 'resident', points: clip(hist.mem) }], yFmt: C.bytes }));
    C.lineChart($('chart-cpu'), Object.assign({}, timeOpt, { series: [{ name: 'process CPU %', points: clip(hist.cpu), color: '#e8590c' }] }));
    C.lineChart($('chart-gpu'), Object.assign({}, timeOpt, { series: Object.keys(hist.gpu).map(k => ({ name: 'gpu ' + k, points: clip(hist.gpu[k]) })), empty: 'no GPU (NVML absent): nothing to draw' }));
    C.lineChart($('chart-hit'), Object.assign({}, timeOpt, { series: [{ name: 'hit ratio', points: clip(hist.hit), color: '#2f9e44' }], yMin: 0, yMax: 1, yFmt: x => Math.round(x * 100) + '%' }));
    renderShared(now, v.svc, timeOpt, clip);
    C.lineChart($('chart-bottlenecks'), Object.assign({}, timeOpt, { series: [{ name: 'detected (total)', points: clip(hist.bn), color: '#c0262d' }], height: 160 }));

    /* top operations by total time, from the snapshot */
    const sites = (v.snap && v.snap.sites) || [];
    const top = sites.slice().sort((a, b) => b.total_ns - a.total_ns).slice(0, 12);
    const t = $('top-ops');
    t.innerHTML = '<thead><tr><th>operation</th><th class="num">calls</th><th class="num">calls/s</th><th class="num">total</th>' +
      '<th class="num">mean</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th></tr></thead><tbody>' +
      top.map(s => `<tr data-op="${esc(s.name)}" data-count="${s.count}"><td>${esc(s.name)}</td><td class="num">${C.num(s.count)}</td>` +
        `<td class="num">${v.rates[s.name] !== undefined ? C.num(v.rates[s.name]) : '–'}</td><td class="num">${C.secs(s.total_ns / 1e9)}</td>` +
        `<td class="num">${C.secs(s.mean_ns / 1e9)}</td><td class="num">${C.secs(s.p50_ns / 1e9)}</td>` +
        `<td class="num">${C.secs(s.p95_ns / 1e9)}</td><td class="num">${C.secs(s.p99_ns / 1e9)}</td></tr>`).join('') + '</tbody>';
    t.setAttribute('data-rows', String(top.length));

    /* current bottlenecks: every series of bottleneck_detected_total, newest first */
    const keys = Object.keys(v.bn).filter(k => v.bn[k] > 0).sort((a, b) => (lastSeen[b] || 0) - (lastSeen[a] || 0) || v.bn[b] - v.bn[a]);
    const b = $('bottlenecks');
    b.innerHTML = '<thead><tr><th>operation</th><th>kind</th><th class="num">detected</th><th class="num">last</th></tr></thead><tbody>' +
      keys.map(k => {
        const [op, kind] = k.split('\u0000');
        const fresh = now - (lastSeen[k] || -Infinity) <= 10;
        return `<tr class="${fresh ? 'fresh' : ''}" data-op="${esc(op)}" data-kind="${esc(kind)}" data-count="${v.bn[k]}"><td>${esc(op)}</td><td>${esc(kind)}</td>` +
          `<td class="num">${C.num(v.bn[k])}</td><td class="num">${isFinite(lastSeen[k]) ? Math.round(now - lastSeen[k]) + ' s ago' : 'before'}</td></tr>`;
      }).join('') + (keys.length ? '' : '<tr><td colspan="4" class="note">none detected</td></tr>') + '</tbody>';
    b.setAttribute('data-rows', String(keys.length));

    const info = (v.snap && v.snap.info) || {};
    $('meta').textContent = `${location.host} · ${info.threads_live || 0} threads · clock ${info.clock_source || '?'} · ${sites.length} operations`;
    const st = $('status');
    st.textContent = 'updated ' + new Date().toLocaleTimeString();
    st.className = 'ok';
    document.body.setAttribute('data-updates', String((+document.body.getAttribute('data-updates') || 0) + 1));
  }

  async function tick() {
    try {
      const opts = { cache: 'no-store', headers: token ? { Authorization: 'Bearer ' + token } : {} };
      const [m, s] = await Promise.all([fetch('/metrics', opts), fetch('/api/snapshot', opts)]);
      if (m.status === 401 || s.status === 401) {
        /* no polling until a token is given: each refusal would be logged */
        askToken(token ? 'the server refused this token' : 'this server needs a bearer token');
        return;
      }
      if (!m.ok || !s.ok) throw new Error(`HTTP ${m.status} / ${s.status}`);
      let svc = null;
      if (sharedSeen) { /* `pipeline --serve` only: the gain and its interval */
        const r = await fetch('/api/service', opts);
        if (r.ok) svc = await r.json();
      }
      lastSvc = svc;
      ingest(parseMetrics(await m.text()), await s.json());
    } catch (e) {
      const st = $('status');
      st.textContent = 'cannot reach the server: ' + e.message;
      st.className = 'err';
    }
    setTimeout(tick, INTERVAL_MS);
  }
  tick();
})();
