/*
 * diff.js - Renders `postprof diff --html`: a differential flame graph (the
 * candidate's, or the baseline's, frames coloured by the change of their share
 * of their own profile's total) and the table of the largest changes that the
 * text output prints. Reads only the page itself: no request leaves it.
 */
'use strict';
(function () {
  const C = window.PPCharts;
  const $ = id => document.getElementById(id);
  const D = JSON.parse($('diff-data').textContent);

  function esc(s) {
    return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g,
      c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }
  const pct = v => (100 * v).toFixed(2) + ' %';
  const signed = v => (v >= 0 ? '+' : '') + (100 * v).toFixed(2) + ' pp';

  const trees = { base: C.flameTree(D.base.stacks), cand: C.flameTree(D.cand.stacks) };
  /* delta of a frame = its share in the candidate minus its share in the baseline, same call path */
  let maxAbs = 0;
  function annotate(n, other, own, oth, sign) {
    const a = n.value / own.value, b = other ? other.value / oth.value : 0;
    n.delta = sign * (a - b);
    n.other = b;
    if (n !== own) maxAbs = Math.max(maxAbs, Math.abs(n.delta));
    n.children.forEach((c, name) => annotate(c, other ? other.children.get(name) : null, own, oth, sign));
  }
  annotate(trees.cand, trees.base, trees.cand, trees.base, 1);
  annotate(trees.base, trees.cand, trees.base, trees.cand, -1);
  function color(n) {
    const t = maxAbs > 0 ? Math.min(1, Math.abs(n.delta) / maxAbs) : 0;
    const light = Math.round(94 - 44 * t);
    return n.delta >= 0 ? `hsl(0, 80%, ${light}%)` : `hsl(215, 80%, ${light}%)`;
  }
  const fmt = /space|bytes/.test(D.cand.unit) ? C.bytes : C.num;
  const box = $('chart-flame');
  let side = 'cand';
  function draw(which) {
    side = which;
    const P = D[which], tree = trees[which];
    box.setAttribute('data-side', which);
    box.onflamefocus = (focus) => {
      $('flame-info').textContent = `${which === 'cand' ? 'candidate' : 'baseline'} ${P.source}: ` +
        `${fmt(tree.value)} ${P.unit} · focus ${focus.name} · click a frame to zoom`;
    };
    C.flameGraph(box, null, P.unit, fmt, {
      tree, color,
      tip: n => `share ${pct(which === 'cand' ? n.value / tree.value : n.other)} → ` +
        `${pct(which === 'cand' ? n.other + n.delta : n.value / tree.value - n.delta)} (${signed(n.delta)})`,
    });
  }
  $('show-cand').addEventListener('click', () => draw('cand'));
  $('show-base').addEventListener('click', () => draw('base'));
  $('flame-reset').addEventListener('click', () => box.flameReset());
  $('meta').textContent = `baseline ${D.base.source} (${fmt(trees.base.value)} ${D.base.unit}) → ` +
    `candidate ${D.cand.source} (${fmt(trees.cand.value)} ${D.cand.unit})`;
  draw(side);

  const t = $('changes-table');
  const head = ['function', 'self before', 'self after', 'change', 'total before', 'total after', 'change'];
  t.innerHTML = '<thead><tr>' + head.map((h, i) => `<th class="${i ? 'num' : ''}">${esc(h)}</th>`).join('') +
    '</tr></thead><tbody>' + D.top.map(r => `<tr data-function="${esc(r.function)}"><td>${esc(r.function)}</td>` +
      [pct(r.base_self), pct(r.cand_self), signed(r.cand_self - r.base_self),
        pct(r.base_total), pct(r.cand_total), signed(r.cand_total - r.base_total)]
        .map(c => `<td class="num">${c}</td>`).join('') + '</tr>').join('') + '</tbody>';
  t.setAttribute('data-rows', D.top.length);
  document.body.setAttribute('data-rendered', 'true');
})();
