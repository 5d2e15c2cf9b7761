/*
 * causal.js - Renders `postprof report --causal`: gain against speedup for
 * the highest-ranked sites (a line per site, its 95 % interval as two pale
 * lines) and the table of every site and speedup with its interval and
 * verdict. Reads only the page itself: no request leaves it.
 */
'use strict';
(function () {
  const C = window.PPCharts;
  const $ = id => document.getElementById(id);
  const D = JSON.parse($('causal-data').textContent);

  function esc(s) {
    return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g,
      c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }
  const pc = v => (v === null || v === undefined) ? 'open' : (v >= 0 ? '+' : '') + (100 * v).toFixed(1) + ' %';

  $('meta').textContent = `progress point "${D.progress}" · ${D.baselines} baselines · ` +
    `${(D.baseline_ns_per_point / 1e6).toFixed(3)} ms per point`;
  const shown = D.sites.slice(0, 8);
  const series = [];
  shown.forEach((s, i) => {
    const color = C.COLORS[i % C.COLORS.length];
    const pts = [[0, 0]].concat(s.points.map(p => [100 * p.speedup, 100 * p.gain]));
    series.push({ name: s.name, points: pts, color });
    const lo = s.points.filter(p => p.gain_low !== null).map(p => [100 * p.speedup, 100 * p.gain_low]);
    const hi = s.points.filter(p => p.gain_high !== null).map(p => [100 * p.speedup, 100 * p.gain_high]);
    if (lo.length) series.push({ name: `${s.name} 95 % low`, points: [[0, 0]].concat(lo), color: color + '55' });
    if (hi.length) series.push({ name: `${s.name} 95 % high`, points: [[0, 0]].concat(hi), color: color + '55' });
  });
  C.lineChart($('chart-causal'), {
    series, xMin: 0, xLabel: 'speedup of the scope (%)', yLabel: 'time per point saved (%)',
    xFmt: v => v + ' %', yFmt: v => v + ' %', empty: 'no site was measured', height: 320
  });

  const rows = ['<tr><th>scope</th><th>slope</th><th>speedup</th><th>gain</th><th>95 % interval</th>' +
    '<th>experiments</th><th>verdict</th></tr>'];
  for (const s of D.sites) {
    s.points.forEach((p, k) => {
      const open = p.gain_low === null || p.gain_high === null;
      const verdict = open ? 'too few experiments' :
        (p.gain_low <= 0 && p.gain_high >= 0) ? 'no significant change' :
          p.gain_low > 0 ? 'faster' : 'slower';
      rows.push(`<tr>${k ? '<td></td><td></td>' : `<td>${esc(s.name)}</td><td>${s.slope.toFixed(2)}</td>`}` +
        `<td>${(100 * p.speedup).toFixed(0)} %</td><td>${pc(p.gain)}</td>` +
        `<td>[${pc(p.gain_low)}, ${pc(p.gain_high)}]</td><td>${p.experiments}</td><td>${verdict}</td></tr>`);
    });
  }
  $('causal-table').innerHTML = rows.join('');
  document.body.setAttribute('data-rendered', 'true');
})();
