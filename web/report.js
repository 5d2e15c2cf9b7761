/*
 * report.js - Renders the HTML report from the report JSON inlined in the page
 * (docs/report-schema.md) and the optional folded-stacks profile. Reads only
 * the page itself: no request leaves it.
 */
'use strict';
(function () {
  const C = window.PPCharts;
  const $ = id => document.getElementById(id);
  const R = JSON.parse($('report-data').textContent);
  const P = JSON.parse($('profile-data').textContent);

  function esc(s) {
    return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g,
      c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }
  function table(id, head, rows) {
    const t = $(id);
    t.innerHTML = '<thead><tr>' + head.map(h => `<th class="${h[1] || ''}">${esc(h[0])}</th>`).join('') +
      '</tr></thead><tbody>' + rows.map(r => '<tr>' + r.map((c, i) =>
        `<td class="${head[i][1] || ''}">${c}</td>`).join('') + '</tr>').join('') + '</tbody>';
    t.setAttribute('data-rows', rows.length);
  }
  function badge(cls, text) { return `<span class="badge ${esc(cls)}">${esc(text)}</span>`; }
  function stat(k, v) { return `<div class="stat"><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`; }
  function targetValue(t, v) {
    if (t.unit === 'ratio') return C.pct(v);
    return C.num(v) + ' ' + t.unit;
  }

  /* summary and targets */
  const sys = R.system_stats || {};
  $('meta').textContent = `workload ${R.workload} · ` +
    (sys.timestamp ? new Date(sys.timestamp * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC · ' : '') +
    `${sys.n_cpus || '?'} CPUs · schema ${R.schema_version}`;
  const targets = R.targets || [];
  const npass = targets.filter(t => t.status === 'PASS').length;
  const perf = R.performance || {};
  let html = stat('targets passed', `${npass} / ${targets.length}`) +
    stat('end-to-end pass (median)', C.secs(perf.end_to_end_s)) +
    stat('bottlenecks', (R.bottlenecks || []).length) +
    stat('suggestions', (R.optimization_suggestions || []).length) +
    stat('process CPU', C.num(sys.cpu_percent) + ' %') +
    stat('peak RSS', C.bytes(sys.peak_rss_bytes));
  if (R.apply) html += stat('pass time saved, all suggestions applied', C.pct(R.apply.improvement));
  $('summary-stats').innerHTML = html;
  const after = R.apply ? R.apply.after.targets : null;
  table('targets-table', [['target'], ['measured', 'num'], ['limit', 'num'], ['status']].concat(after ? [['after --apply', 'num'], ['status after']] : []),
    targets.map(t => {
      const a = after && after.find(x => x.name === t.name);
      const row = [esc(t.name), t.measured ? esc(targetValue(t, t.value)) : 'no data',
        esc(t.comparison + ' ' + targetValue(t, t.limit)), badge(t.status === 'PASS' ? 'pass' : 'fail', t.status)];
      if (after) row.push(a ? esc(targetValue(a, a.value)) : '–', a ? badge(a.status === 'PASS' ? 'pass' : 'fail', a.status) : '–');
      return row;
    }));

  /* time per stage */
  const shares = perf.stage_share || {};
  const stageRows = Object.keys(shares).filter(k => shares[k] !== null && shares[k] > 0)
    .map(k => ({ label: k, values: [shares[k] * perf.end_to_end_s], note: C.pct(shares[k]) }));
  C.barChart($('chart-stages'), { rows: stageRows, keys: ['time per pass'], fmt: C.secs, empty: 'no stage timings' });

  /* latency distribution per operation */
  const ops = perf.operations || [];
  /* the chart keeps the 30 operations with the most time, in call-tree order; the table has all */
  const MAX_CHART_OPS = 30;
  const keep = new Set(ops.map((o, i) => [o.total_s, i]).sort((a, b) => b[0] - a[0]).slice(0, MAX_CHART_OPS).map(x => x[1]));
  const chartOps = ops.filter((o, i) => keep.has(i));
  if (ops.length > chartOps.length) {
    const n = document.createElement('p');
    n.className = 'note';
    n.textContent = `The chart shows the ${chartOps.length} operations with the most time; the table lists all ${ops.length}.`;
    $('chart-latency').after(n);
  }
  C.barChart($('chart-latency'), {
    rows: chartOps.map(o => ({ label: '  '.repeat(o.depth) + o.name, values: [o.p50_s, o.p95_s, o.p99_s, o.max_s] })),
    keys: ['p50', 'p95', 'p99', 'max'], fmt: C.secs, log: true, barHeight: 9,
    colors: ['#74c0fc', '#339af0', '#1864ab', '#adb5bd'], empty: 'no operations'
  });
  /* null in the report: nobody measured the figure (never shown as 0) */
  const measured = (v, f) => (v === null || v === undefined) ? 'not measured' : f(v);
  const cpuShare = o => (o.cpu_s === null || o.cpu_s === undefined || !o.cpu_wall_s) ? 'not measured' : C.pct(o.cpu_s / o.cpu_wall_s);
  table('ops-table', [['operation'], ['calls', 'num'], ['total', 'num'], ['self', 'num'], ['mean', 'num'], ['p50', 'num'], ['p95', 'num'], ['p99', 'num'], ['share', 'num'],
    ['on CPU', 'num'], ['allocated', 'num'], ['peak', 'num']],
    ops.map(o => [esc('\u00a0\u00a0'.repeat(o.depth) + o.name), C.num(o.count), C.secs(o.total_s), C.secs(o.self_s), C.secs(o.mean_s),
      C.secs(o.p50_s), C.secs(o.p95_s), C.secs(o.p99_s), C.pct(o.share),
      cpuShare(o), measured(o.alloc_bytes, C.bytes), measured(o.memory_delta_mb, v => C.bytes(v * 1048576))]));

  /* data loading */
  const dl = R.data_loading || {};
  const sources = Object.keys(dl).filter(k => k !== 'sequential_vs_concurrent' && k !== 'keep_alive');
  C.barChart($('chart-loading'), {
    rows: sources.map(s => ({ label: s, values: [dl[s].p50_s, dl[s].p95_s, dl[s].p99_s] })),
    keys: ['p50', 'p95', 'p99'], fmt: C.secs, colors: ['#8ce99a', '#40c057', '#2b8a3e'], barHeight: 10, empty: 'no data sources'
  });
  /* on CPU and waiting: the loading thread's own (thread_cpu_share); the
   * process's CPU counts every thread, an in-process server's too */
  const own = v => (v === null || v === undefined) ? '\u2014' : C.pct(v);
  table('loading-table', [['source'], ['batch', 'num'], ['mean batch', 'num'], ['rows/s', 'num'], ['bytes/s', 'num'],
    ['on CPU', 'num'], ['waiting', 'num'], ['process CPU', 'num']],
    sources.map(s => [esc(s), C.num(dl[s].batch_size), C.secs(dl[s].loading_time), C.num(dl[s].rows_per_s),
      C.bytes(dl[s].bytes_per_s) + '/s', own(dl[s].thread_cpu_share), C.pct(dl[s].wait_share), C.pct(dl[s].cpu_share)]));
  const notes = [];
  /* a comparison's x-factor with its interval, as the console prints it
   * (report_console.c, ab_text) */
  const abText = x => (x.speedup === null || x.speedup === undefined) ? '' :
    ` (${x.speedup.toFixed(2)}x, 95 % ` +
    `${x.speedup_high === null ? 'at least ' + x.speedup_low.toFixed(2) : x.speedup_low.toFixed(2) + ' to ' + x.speedup_high.toFixed(2)} x, ${x.pairs} pairs: ` +
    `${!x.significant ? 'no significant change' : x.speedup_low > 1 ? 'faster' : 'slower'})`;
  const sc = dl.sequential_vs_concurrent;
  if (sc && sc.critical_path_s)
    notes.push(`The batches above: the slowest source ${C.secs(sc.critical_path_s)}, all sources ${C.secs(sc.sum_s)} ` +
      '(at once, loading takes at least the slowest).');
  if (sc && sc.measured)
    notes.push(`${sc.rows_per_batch ? `A batch of ${sc.rows_per_batch} rows` : 'One batch'} from every source: ` +
      `${C.secs(sc.sequential_s)} one after another, ${C.secs(sc.concurrent_s)} all at once${abText(sc)}.`);
  const ka = dl.keep_alive;
  if (ka && ka.measured)
    notes.push(`${ka.source}: ${C.secs(ka.off_s)} per batch with a new connection per request, ${C.secs(ka.on_s)} with keep-alive${abText(ka)}.`);
  for (const t of notes.reverse()) {
    const p = document.createElement('p');
    p.className = 'note';
    p.textContent = t;
    $('loading-table').after(p);
  }

  /* batch-size sweep, one row of two charts per model */
  const mi = R.model_inference || {};
  const models = Object.keys(mi);
  const sweepBox = $('sweep-models');
  if (!models.length) sweepBox.innerHTML = '<p class="note">The workload has no model.</p>';
  const pow2 = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
  for (const name of models) {
    const m = mi[name], pts = m.batch_sweep || [];
    const h = document.createElement('h3');
    h.textContent = `${name}${m.current ? ' (used by the pipeline)' : ''}: best batch ${m.best_batch || 'none'}` +
      (m.best_batch ? ` — ${C.num(m.best_throughput)} items/s, p99 ${C.secs(m.best_p99_s)}` : '') +
      ` · latency target ${C.secs(m.latency_target_s)}`;
    const grid = document.createElement('div');
    grid.className = 'grid2';
    const a = document.createElement('div'), b = document.createElement('div');
    a.id = `chart-sweep-latency-${name}`;
    b.id = `chart-sweep-throughput-${name}`;
    grid.append(a, b);
    sweepBox.append(h, grid);
    /* int8 against fp32 at the chosen batch, with its interval (the console's line) */
    const q = m.fp32_vs_int8;
    if (q) {
      const p = document.createElement('p');
      p.className = 'note int8';
      p.textContent = `fp32 ${C.num(q.fp32_throughput)} items/s against int8 ${C.num(q.int8_throughput)} items/s` +
        (q.speedup != null ? abText(q).replace(' (', ' (int8 ') : '') + '.';
      sweepBox.append(p);
    }
    const markers = [];
    if (m.best_batch) markers.push({ x: m.best_batch, label: `chosen ${m.best_batch}`, color: '#2f9e44' });
    if (m.current_batch && m.current_batch !== m.best_batch) markers.push({ x: m.current_batch, label: `current ${m.current_batch}`, color: '#868e96' });
    C.lineChart(a, {
      series: [{ name: 'p50', points: pts.map(p => [p.batch, p.p50_s]) }, { name: 'p99', points: pts.map(p => [p.batch, p.p99_s]), color: '#e8590c' }],
      xLog: true, yLog: true, xTicks: pow2, xFmt: C.num, yFmt: C.secs, xLabel: 'batch size', yLabel: 'latency per batch',
      markers, hlines: m.latency_target_s ? [{ y: m.latency_target_s, label: 'latency target' }] : []
    });
    C.lineChart(b, {
      series: [{ name: 'throughput', points: pts.map(p => [p.batch, p.throughput]), color: '#2f9e44' },
        { name: '95 % low', points: pts.filter(p => p.throughput_low != null).map(p => [p.batch, p.throughput_low]), color: '#b2f2bb' },
        { name: '95 % high', points: pts.filter(p => p.throughput_high != null).map(p => [p.batch, p.throughput_high]), color: '#b2f2bb' }],
      xLog: true, xTicks: pow2, xFmt: C.num, yLabel: 'items / s', xLabel: 'batch size', markers
    });
  }

  /* miss-ratio curve */
  const cp = R.cache_performance || {};
  if (!cp.present) {
    $('chart-mrc').innerHTML = '<p class="note">The workload has no cache.</p>';
  } else {
    const mrc = (cp.miss_ratio_curve && cp.miss_ratio_curve.points) || [];
    const tgt = targets.find(t => t.name === 'cache_hit_ratio');
    const want = tgt ? tgt.limit : 0.9;
    const markers = [];
    if (cp.recommended_capacity) markers.push({ x: cp.recommended_capacity, label: `recommended ${C.num(cp.recommended_capacity)}`, color: '#2f9e44' });
    if (cp.capacity) markers.push({ x: cp.capacity, label: `current ${C.num(cp.capacity)}`, color: '#868e96' });
    C.lineChart($('chart-mrc'), {
      series: [{ name: 'hit ratio (LRU)', points: mrc.filter(p => p.capacity > 0).map(p => [p.capacity, 1 - p.miss_ratio]) }],
      xLog: true, yMin: 0, yMax: 1, yFmt: v => Math.round(v * 100) + '%', xLabel: 'capacity (entries)', yLabel: 'hit ratio',
      markers, hlines: [{ y: want, label: `target hit ratio ${Math.round(want * 100)} %` }], dots: mrc.length <= 40
    });
    const cf = cp.capacity_for_hit_ratio || {};
    const ar = cp.at_recommended;
    $('cache-facts').innerHTML = '<table>' + [
      ['hit ratio now', C.pct(cp.hit_ratio)], ['capacity now', C.num(cp.capacity)],
      ['ops replayed', C.num(cp.ops)], ['unique keys', C.num(cp.unique_keys)],
      ['curve', `${esc(cp.miss_ratio_curve.method)} (sampling ${C.pct(cp.miss_ratio_curve.sampling_rate)})`],
      ['capacity for 80 / 90 / 95 %', ['0.80', '0.90', '0.95'].map(k => cf[k] ? C.num(cf[k]) : 'unreachable').join(' / ')],
      ['recommended capacity', C.num(cp.recommended_capacity)],
      ['measured there', ar ? `${C.pct(ar.hit_ratio)} hits, replay ${C.secs(ar.replay_s)} ` +
        `(now ${C.secs(ar.now_replay_s != null ? ar.now_replay_s : cp.replay_s)}${ar.speedup != null ? '; ' + abText(ar).slice(2, -1) : ''})` : '–']
    ].map(r => `<tr><th>${r[0]}</th><td class="num">${r[1]}</td></tr>`).join('') + '</table>' +
      ((cp.backends || []).length ? '<h3>Cache backends, same trace</h3><table><thead><tr><th>backend</th><th class="num">hit ratio</th>' +
        '<th class="num">mean op</th><th class="num">p99 op</th><th class="num">replay</th><th>against the current one (replays interleaved; x: how many times as fast)</th></tr></thead><tbody>' +
        cp.backends.map(b => `<tr><td>${esc(b.name)}${b.current ? ' (current)' : ''}</td><td class="num">${C.pct(b.hit_ratio)}</td>` +
          `<td class="num">${C.secs(b.avg_time)}</td><td class="num">${C.secs(b.p99_time)}</td><td class="num">${C.secs(b.replay_s)}</td>` +
          `<td>${b.against_current ? esc(`${C.secs(b.against_current.replay_s)} against ${C.secs(b.against_current.current_replay_s)}` +
            abText(b.against_current)) : '\u2014'}</td></tr>`).join('') +
        '</tbody></table>' : '');
  }

  /* bottlenecks */
  const bn = R.bottlenecks || [];
  table('bottlenecks-table', [['severity'], ['operation'], ['kind'], ['value', 'num'], ['threshold', 'num'], ['finding']],
    bn.map(b => [badge(b.severity, b.severity), esc(b.operation), esc(b.kind), esc(C.num(b.value) + ' ' + b.unit),
      esc(C.num(b.threshold) + ' ' + b.unit), esc(b.message)]));
  if (!bn.length) $('bottlenecks-table').outerHTML = '<p class="note" id="bottlenecks-table" data-rows="0">No bottleneck crossed a threshold.</p>';

  /* suggestions: predicted vs measured */
  const sg = R.optimization_suggestions || [];
  const applied = (R.apply && R.apply.suggestions) || [];
  const measuredFor = s => applied.find(a => a.description === s.description);
  C.barChart($('chart-gain'), {
    rows: sg.map((s, i) => {
      const a = measuredFor(s);
      const pe = s.expected_improvement_low != null ? [s.expected_improvement_low * 100, s.expected_improvement_high * 100] : null;
      const me = a && a.measured_low != null ? [a.measured_low * 100, a.measured_high * 100] : null;
      return { label: `${i + 1}. ${s.category}`, values: [s.expected_improvement * 100, a ? a.measured_improvement * 100 : NaN],
        errors: [pe, me] };
    }),
    keys: R.apply ? ['predicted gain %', 'measured gain %'] : ['predicted gain %'], fmt: v => +v.toPrecision(3) + '%',
    colors: ['#748ffc', '#2f9e44'], empty: 'no suggestions', labelWidth: 170
  });
  /* how an --apply measurement was adjusted for the machine's speed (docs/profilers.md) */
  const gaugeNote = (a) => {
    const g = a && a.speed_gauge;
    if (!g) return '';
    const aside = g.pairs_set_aside > 0 ? `<div class="note">${g.pairs_set_aside} pair${g.pairs_set_aside === 1 ? '' : 's'} set aside: the machine changed speed between its two passes</div>` : '';
    return aside + gaugeText(g);
  };
  /* the prediction made again at --apply's speed, when that one judged the measurement */
  const atSpeedNote = (a) => {
    const x = a && a.at_apply_speed;
    return x && x.judged ? `<div class="note at-speed">at --apply's speed: ${C.pct(x.predicted)} (${C.pct(x.predicted_low)} to ${C.pct(x.predicted_high)})</div>` : '';
  };
  const gaugeText = (g) => {
    if (g.used)
      return `<div class="note">measured adjusted for the machine's speed, gauged by the stages it does not change (${esc(g.stages)}); unadjusted ${C.pct(g.unadjusted)}` +
        (g.unadjusted_low != null && g.unadjusted_high != null ? ` (95 % ${C.pct(g.unadjusted_low)} to ${C.pct(g.unadjusted_high)})` : '') + '</div>';
    if (g.stages && g.gauge_ratio > 0 && (g.gauge_low > 1 || (g.gauge_high != null && g.gauge_high < 1)))
      return `<div class="note">not adjusted for the machine's speed: the stages it should not change (${esc(g.stages)}) took ${g.gauge_ratio.toFixed(3)}x their time` +
        ` (95 % ${g.gauge_low.toFixed(3)} to ${g.gauge_high != null ? g.gauge_high.toFixed(3) : 'unbounded'})</div>`;
    return '';
  };
  table('suggestions-table', [['#'], ['impact'], ['suggestion'], ['predicted', 'num'], ['measured', 'num'], ['basis']],
    sg.map((s, i) => {
      const a = measuredFor(s);
      return [String(i + 1), badge(s.impact, s.impact),
        `${esc(s.description)}<div class="note">${esc(s.implementation)}</div><div class="note">${esc(s.evidence)}</div>` +
        (a && a.note ? `<div class="note">${esc(a.note)}</div>` : '') + gaugeNote(a),
        C.pct(s.expected_improvement) + (s.expected_improvement_low != null && s.expected_improvement_high > s.expected_improvement_low
          ? ` (${C.pct(s.expected_improvement_low)} to ${C.pct(s.expected_improvement_high)})` : '') + atSpeedNote(a),
        a ? C.pct(a.measured_improvement) + (a.measured_low != null ? ` (${C.pct(a.measured_low)} to ${C.pct(a.measured_high)}) ${a.hit ? 'hit' : 'miss'}` : '') +
          (a.cut_short ? '<div class="note">cut short by the run\'s time limit</div>' : '')
          : 'not applied', badge(s.basis, s.basis)];
    }));

  /* the settings tested and not suggested, each with what it did to the
   * passes (the console's verdicts, report_console.c untested_verdict()) */
  const untested = (R.experiments || []).filter(e => (e.sites || []).length && !e.suggested);
  const gainOf = x => (x > 0 ? 1 - 1 / x : null);
  const verdict = e => {
    if (e.speedup_high > 0 && e.speedup_high < 1) return 'slower with it: the passes\' 95 % interval lies below no change';
    if (e.speedup_low > 1 && !(e.predicted_low > 0))
      return (e.sites || []).some(x => x.significant)
        ? 'the passes were faster, but what the sites that changed predict is too uncertain to vouch for: its 90 % interval reaches no gain'
        : 'the passes were faster, but no change of the sites it runs stood out from the noise, so nothing predicts what it gains';
    if (e.speedup_low > 1) return 'faster, by less than the minimum effect can be vouched for';
    return 'no significant change';
  };
  if (untested.length) {
    $('suggestions').insertAdjacentHTML('beforeend', '<h3>Tested and not suggested</h3>' +
      '<p class="note">the predicted gain\'s 90 % interval reaches the minimum effect</p><table id="untested-table"></table>');
    table('untested-table', [['setting'], ['pass', 'num'], ['gain (95 %)', 'num'], ['predicted (90 %)', 'num'], ['verdict']],
      untested.map(e => {
        const lo = gainOf(e.speedup_low), hi = gainOf(e.speedup_high);
        return [esc(`${e.knob}=${e.cand_value} (now ${e.current_value})`),
          esc(`${C.secs(e.base_s)} → ${C.secs(e.cand_s)}`),
          esc(C.pct(gainOf(e.speedup)) + ` (${lo === null ? 'unbounded' : C.pct(lo)} to ${C.pct(hi)})`),
          esc(C.pct(e.predicted_improvement) + (e.predicted_low != null ? ` (${C.pct(e.predicted_low)} to ${C.pct(e.predicted_high)})` : '')),
          esc(verdict(e))];
      }));
  }

  /* the experiments the run's time limit stopped while still going (as the
   * console says it, report_console.c print_cut_short) */
  const cut = (R.experiments || []).filter(e => e.cut_short);
  if (cut.length)
    $('suggestions').insertAdjacentHTML('beforeend', `<p class="note" id="cut-short">The run's time limit ([profile] run_budget_s) stopped ` +
      `${cut.length} experiment${cut.length === 1 ? '' : 's'} while still going (${esc(cut.map(e => `${e.knob}=${e.cand_value}`).join(', '))}): ` +
      'their intervals are wider than more pairs would have made them (a slow machine, or a short limit).</p>');
  /* a phase whose passes took longer on one CPU than on another (as the
   * console says it, report_console.c print_cpu_split) */
  for (const [x, whose] of [[R.experiment_cpus, 'the experiments\''], [R.apply && R.apply.cpus, '--apply\'s']])
    if (x && x.differs)
      $('suggestions').insertAdjacentHTML('beforeend', `<p class="note cpu-split">The CPUs: ${esc(whose)} passes at the current settings took ` +
        `${C.secs(x.slow_s)} on CPU ${x.slow_cpu} (${x.slow_passes} passes) and ${C.secs(x.quick_s)} on CPU ${x.quick_cpu} (${x.quick_passes}): ` +
        `${x.ratio.toFixed(2)}x (95 % ${x.ratio_low.toFixed(2)} to ${x.ratio_high.toFixed(2)} x). This machine's CPUs differ in speed, so a pass's ` +
        'time depends on the CPU its thread lands on, and a pair whose passes ran on different CPUs measures them as well as the setting.</p>');
  /* the machine's speed in --apply against the experiments' (docs/profilers.md) */
  const ms = R.apply && R.apply.machine_speed;
  if (ms)
    $('suggestions').insertAdjacentHTML('beforeend', `<p class="note" id="apply-speed">The machine's speed in --apply: ` +
      `a pass at the current settings took ${C.num(ms.apply_pass_s * 1e3)} ms, ${C.num(ms.experiments_pass_s * 1e3)} ms in the experiments ` +
      `(${ms.ratio.toFixed(2)}x, 95 % ${ms.ratio_low.toFixed(2)} to ${ms.ratio_high.toFixed(2)})` +
      (ms.differs ? ': another speed; each prediction was made at the experiments\', and a site\'s share of a pass moves with it, ' +
        'so each is made again at this speed (the experiments\' site speedups, this run\'s shares) and judges the measurement' : '') + '</p>');

  /* how many measurements landed inside their predicted interval, and how many
   * right predictions would at this run's noise (docs/profilers.md) */
  const ap = R.apply;
  if (ap && ap.suggestions && ap.suggestions.length) {
    const hits = ap.suggestions.filter(a => a.hit).length;
    $('suggestions').insertAdjacentHTML('beforeend', `<p class="note" id="apply-coverage">Measured inside the predicted interval: ` +
      `${hits} of ${ap.suggestions.length} (coverage ${C.pct(ap.coverage)})` +
      (ap.coverage_expected > 0 ? `; expected of right predictions, given the predictions' and the measurements' noise: ${C.pct(ap.coverage_expected)}` : '') +
      '</p>');
  }
  /* every suggestion at once: the composed prediction against its measurement, judged by the
   * prediction made at --apply's speed when that one judges (docs/profilers.md) */
  const cb = ap && ap.combined;
  if (cb && cb.pairs > 0) {
    const at = cb.at_apply_speed && cb.at_apply_speed.judged ? cb.at_apply_speed : null;
    const lo = at ? at.predicted_low : cb.predicted_low, hi = at ? at.predicted_high : cb.predicted_high;
    const where = cb.measured < lo ? 'below' : cb.measured > hi ? 'above' : 'inside';
    $('suggestions').insertAdjacentHTML('beforeend', `<p class="note" id="apply-combined" data-where="${where}">All suggestions at once: ` +
      `predicted ${C.pct(cb.predicted)} (90 % ${C.pct(cb.predicted_low)} to ${C.pct(cb.predicted_high)}, composed per site)` +
      (at ? `, at --apply's speed ${C.pct(at.predicted)} (${C.pct(at.predicted_low)} to ${C.pct(at.predicted_high)})` : '') +
      `; measured ${C.pct(cb.measured)} (95 % ${C.pct(cb.measured_low)} to ${C.pct(cb.measured_high)}, ${cb.pairs} pairs): ` +
      `${where} the ${at ? 'prediction made at that speed' : 'predicted interval'}</p>`);
  }

  /* causal predictions (postprof run's causal phase, docs/causal.md) */
  const K = R.causal;
  if (K && K.sites) {
    $('causal').hidden = false;
    $('causal-info').textContent = `progress point ${K.progress} (one unit of work of ${K.phase}), ` +
      `${K.experiments} experiments in ${C.num(K.seconds)} s of ${C.num(K.budget_s)} s allowed` +
      (K.undecided ? `; ${K.undecided} point(s) not decided (95 % interval wider than ±${C.num(100 * K.precision)} points)` : '') +
      (K.note ? `; ${K.note}` : '');
    const pts = [];
    K.sites.forEach(s => s.points.forEach(p => pts.push([s, p])));
    const iv = p => p.gain_low != null && p.gain_high != null ? [p.gain_low * 100, p.gain_high * 100] : null;
    C.barChart($('chart-causal'), {
      rows: pts.map(([s, p]) => ({ label: `${s.name} ${Math.round(p.speedup * 100)}%`,
        values: [p.gain * 100, p.share_gain != null ? p.share_gain * 100 : NaN], errors: [iv(p), null] })),
      keys: ['causal gain %', 'its share predicts %'], fmt: v => +v.toPrecision(3) + '%',
      colors: ['#2f9e44', '#adb5bd'], empty: 'no causal points', labelWidth: 230
    });
    const range = p => p.gain_low != null && p.gain_high != null ? `${C.pct(p.gain_low)} to ${C.pct(p.gain_high)}` : 'no interval yet';
    table('causal-table', [['scope'], ['faster', 'num'], ['gain (95 %)', 'num'], ['share predicts', 'num'], ['experiments', 'num'], ['verdict']],
      pts.map(([s, p]) => [esc(s.name), esc(Math.round(p.speedup * 100) + ' %'),
        esc(`${C.pct(p.gain)} (${range(p)})`) + (p.decided ? '' : ' ' + badge('fail', 'not decided')),
        p.share_gain != null ? esc(C.pct(p.share_gain)) + (p.agree === false ? ' ' + badge('fail', 'outside') : '') : '–',
        esc(p.experiments), `<div class="note">${esc(s.verdict)}</div>`]));
  }

  /* flame graph */
  if (P && P.stacks && P.stacks.length) {
    $('flame').hidden = false;
    const box = $('chart-flame');
    const fmt = /space|bytes/.test(P.unit) ? C.bytes : C.num; /* allocation profiles count bytes */
    box.onflamefocus = (focus, tree) => {
      $('flame-info').textContent = `${P.source}: ${fmt(tree.value)} ${P.unit} · focus ${focus.name} ` +
        `(${(100 * focus.value / tree.value).toFixed(1)} %) · click a frame to zoom`;
    };
    C.flameGraph(box, P.stacks, P.unit, fmt);
    $('flame-reset').addEventListener('click', () => box.flameReset());
  }
  document.body.setAttribute('data-rendered', 'true');
})();
