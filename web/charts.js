/*
 * charts.js - Small hand-written SVG charts shared by the HTML report and the
 * live dashboard: line chart (log or linear axes, markers, reference lines),
 * horizontal bar chart (grouped values, log or linear), flame graph.
 * Every drawn element carries data-* attributes with the figure it shows.
 * No dependencies, no network.
 */
'use strict';
(function (global) {
  const NS = 'http://www.w3.org/2000/svg';
  const COLORS = ['#2563eb', '#e8590c', '#2f9e44', '#9c36b5', '#c2255c', '#0c8599', '#5f3dc4', '#868e96'];

  function el(tag, attrs, parent, text) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs || {}) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function title(parent, text) { el('title', {}, parent, text); }

  /* Number formatting: 3 significant digits, SI suffixes for large values. */
  function num(v) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toPrecision(3) + 'G';
    if (a >= 1e6) return (v / 1e6).toPrecision(3) + 'M';
    if (a >= 1e4) return (v / 1e3).toPrecision(3) + 'k';
    if (a >= 100) return v.toFixed(0);
    if (a === 0) return '0';
    return String(+v.toPrecision(3));
  }
  /* Seconds as ns/µs/ms/s. */
  function secs(v) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    const a = Math.abs(v);
    if (a === 0) return '0';
    if (a < 1e-6) return +(v * 1e9).toPrecision(3) + ' ns';
    if (a < 1e-3) return +(v * 1e6).toPrecision(3) + ' µs';
    if (a < 1) return +(v * 1e3).toPrecision(3) + ' ms';
    return +v.toPrecision(3) + ' s';
  }
  function bytes(v) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return +v.toPrecision(3) + ' ' + u[i];
  }
  /* a share as a percentage, 3 significant digits; below a millionth of a point it is 0 (a sum of
   * rounding errors read "7.04e-15 %") */
  function pct(v) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    return (Math.abs(v) < 1e-8 ? 0 : +(v * 100).toPrecision(3)) + ' %';
  }

  function scale(lo, hi, a, b, log) {
    if (log) {
      const l0 = Math.log10(lo), l1 = Math.log10(hi);
      const f = v => a + (b - a) * (Math.log10(Math.max(v, lo)) - l0) / ((l1 - l0) || 1);
      f.ticks = function () {
        const t = [];
        for (let e = Math.floor(l0); e <= Math.ceil(l1); e++) {
          for (const m of (l1 - l0 < 2.5 ? [1, 2, 5] : [1])) {
            const v = m * Math.pow(10, e);
            if (v >= lo * 0.999 && v <= hi * 1.001) t.push(v);
          }
        }
        return t;
      };
      return f;
    }
    const f = v => a + (b - a) * (v - lo) / ((hi - lo) || 1);
    f.ticks = function (n) {
      const span = hi - lo || 1, raw = span / (n || 5), mag = Math.pow(10, Math.floor(Math.log10(raw)));
      const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => span / s <= (n || 5)) || raw;
      const t = [];
      for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push(+v.toPrecision(12));
      return t;
    };
    return f;
  }
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const mag = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * mag >= v) return m * mag;
    return v;
  }
  /* Drawing width: the container's, so text keeps its size (viewBox scale 1). */
  function widthOf(container, dflt) {
    const w = container.clientWidth;
    return w > 0 ? Math.max(320, Math.min(1400, Math.round(w))) : dflt;
  }
  function svgFor(container, w, h, kind) {
    container.innerHTML = '';
    container.classList.add('chart');
    return el('svg', { viewBox: `0 0 ${w} ${h}`, 'data-chart': kind, role: 'img' }, container);
  }

  /*
   * lineChart(container, opt): opt.series [{name, points: [[x, y], ...], color}],
   * opt.xLog, opt.yLog, opt.xFmt, opt.yFmt, opt.xLabel, opt.yLabel, opt.yMin, opt.yMax,
   * opt.markers [{x, label, color}] (vertical), opt.hlines [{y, label, color}],
   * opt.dots (draw a circle per point, default true), opt.height.
   */
  function lineChart(container, opt) {
    const W = widthOf(container, 560), H = opt.height || 260, m = { l: 62, r: 16, t: 26, b: 42 };
    const svg = svgFor(container, W, H, 'line');
    const series = (opt.series || []).filter(s => s.points && s.points.length);
    const xf = opt.xFmt || num, yf = opt.yFmt || num;
    const all = series.flatMap(s => s.points).filter(p => isFinite(p[0]) && isFinite(p[1]));
    if (!all.length) {
      el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, svg, opt.empty || 'no data yet');
      svg.setAttribute('data-points', '0');
      return svg;
    }
    let xs = all.map(p => p[0]), ys = all.map(p => p[1]);
    (opt.markers || []).forEach(k => xs.push(k.x));
    (opt.hlines || []).forEach(k => ys.push(k.y));
    let x0 = Math.min(...xs), x1 = Math.max(...xs);
    if (opt.xMin !== undefined) x0 = opt.xMin;
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    let y0, y1;
    if (opt.yLog) {
      const pos = ys.filter(v => v > 0);
      y0 = Math.pow(10, Math.floor(Math.log10(Math.min(...pos))));
      y1 = Math.pow(10, Math.ceil(Math.log10(Math.max(...pos))));
      if (y0 === y1) y1 = y0 * 10;
    } else {
      y0 = opt.yMin !== undefined ? opt.yMin : Math.min(0, ...ys);
      y1 = opt.yMax !== undefined ? opt.yMax : niceMax(Math.max(...ys));
      if (y1 <= y0) y1 = y0 + 1;
    }
    const X = scale(x0, x1, m.l, W - m.r, opt.xLog), Y = scale(y0, y1, H - m.b, m.t, opt.yLog);
    const grid = el('g', { class: 'grid' }, svg), axis = el('g', { class: 'axis' }, svg);
    for (const t of Y.ticks(5)) {
      el('line', { x1: m.l, x2: W - m.r, y1: Y(t), y2: Y(t) }, grid);
      el('text', { x: m.l - 6, y: Y(t) + 4, 'text-anchor': 'end' }, axis, yf(t));
    }
    let xt = X.ticks(6);
    if (opt.xTicks) xt = opt.xTicks.filter(v => v >= x0 && v <= x1);
    for (const t of xt) el('text', { x: X(t), y: H - m.b + 16, 'text-anchor': 'middle' }, axis, xf(t));
    el('line', { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }, axis);
    el('line', { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }, axis);
    if (opt.xLabel) el('text', { x: (m.l + W - m.r) / 2, y: H - 6, 'text-anchor': 'middle' }, axis, opt.xLabel);
    if (opt.yLabel) el('text', { x: 12, y: (m.t + H - m.b) / 2, 'text-anchor': 'middle',
      transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})` }, axis, opt.yLabel);
    for (const h of opt.hlines || []) {
      const g = el('g', { class: 'marker', 'data-marker': 'hline', 'data-y': h.y, 'data-label': h.label }, svg);
      el('line', { x1: m.l, x2: W - m.r, y1: Y(h.y), y2: Y(h.y), stroke: h.color || '#c0262d' }, g);
      el('text', { x: W - m.r - 4, y: Y(h.y) + 13, 'text-anchor': 'end', fill: h.color || '#c0262d' }, g, h.label);
    }
    (opt.markers || []).forEach((k, i) => {
      const g = el('g', { class: 'marker', 'data-marker': 'vline', 'data-x': k.x, 'data-label': k.label }, svg);
      el('line', { x1: X(k.x), x2: X(k.x), y1: m.t, y2: H - m.b, stroke: k.color || '#c0262d' }, g);
      const right = X(k.x) > W - m.r - 7 * String(k.label).length - 8;
      el('text', { x: X(k.x) + (right ? -4 : 4), y: m.t + 10 + 13 * i, 'text-anchor': right ? 'end' : 'start',
        fill: k.color || '#c0262d' }, g, k.label);
    });
    series.forEach((s, i) => {
      const color = s.color || COLORS[i % COLORS.length];
      const pts = s.points.filter(p => isFinite(p[0]) && isFinite(p[1]) && (!opt.yLog || p[1] > 0));
      const g = el('g', { class: 'series', 'data-series': s.name, 'data-n': pts.length }, svg);
      const d = pts.map((p, j) => (j ? 'L' : 'M') + X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1)).join('');
      el('path', { d, fill: 'none', stroke: color, 'stroke-width': 2, 'data-series': s.name }, g);
      if (opt.dots !== false) {
        for (const p of pts) {
          const c = el('circle', { cx: X(p[0]), cy: Y(p[1]), r: 3.2, fill: color, 'data-x': p[0], 'data-y': p[1] }, g);
          title(c, `${s.name}: ${xf(p[0])} → ${yf(p[1])}`);
        }
      }
    });
    const lg = el('g', { class: 'legend' }, svg);
    let lx = m.l;
    series.forEach((s, i) => {
      const color = s.color || COLORS[i % COLORS.length];
      el('rect', { x: lx, y: 6, width: 10, height: 10, fill: color }, lg);
      const t = el('text', { x: lx + 14, y: 15 }, lg, s.name);
      lx += 24 + 6.5 * String(s.name).length;
      void t;
    });
    svg.setAttribute('data-points', String(all.length));
    return svg;
  }

  /*
   * barChart(container, opt): horizontal bars. opt.rows [{label, values: [v...], errors: [[low, high] or null per value], note}],
   * opt.keys (names of the values, one colour each), opt.fmt, opt.log, opt.colors.
   */
  function barChart(container, opt) {
    const rows = opt.rows || [], keys = opt.keys || ['value'];
    const bh = opt.barHeight || 14, gap = 8, rowH = bh * keys.length + gap;
    const labelW = opt.labelWidth || 150, W = widthOf(container, 560), m = { l: labelW, r: 70, t: keys.length > 1 ? 24 : 8, b: 24 };
    const H = m.t + m.b + Math.max(1, rows.length) * rowH;
    const svg = svgFor(container, W, H, 'bar');
    const fmt = opt.fmt || num;
    const vals = rows.flatMap(r => r.values.concat((r.errors || []).flat()))
      .filter(v => isFinite(v) && (!opt.log || v > 0));
    if (!vals.length) {
      el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, svg, opt.empty || 'no data');
      svg.setAttribute('data-bars', '0');
      return svg;
    }
    let lo = 0, hi = niceMax(Math.max(0, ...vals));
    if (Math.min(...vals) < 0) lo = -niceMax(-Math.min(...vals));
    if (opt.log) {
      lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals))));
      hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals))));
      if (lo === hi) hi = lo * 10;
    }
    const X = scale(lo, hi, m.l, W - m.r, opt.log);
    const grid = el('g', { class: 'grid' }, svg), axis = el('g', { class: 'axis' }, svg);
    for (const t of X.ticks(5)) {
      el('line', { x1: X(t), x2: X(t), y1: m.t, y2: H - m.b }, grid);
      el('text', { x: X(t), y: H - m.b + 14, 'text-anchor': 'middle' }, axis, fmt(t));
    }
    if (lo < 0) el('line', { x1: X(0), x2: X(0), y1: m.t, y2: H - m.b, stroke: '#667085' }, axis);
    const colors = opt.colors || COLORS;
    let nbars = 0;
    rows.forEach((r, i) => {
      const y = m.t + i * rowH + gap / 2;
      const g = el('g', { class: 'row', 'data-label': r.label }, svg);
      const lab = r.label.length > 24 ? '…' + r.label.slice(-23) : r.label;
      el('text', { x: m.l - 6, y: y + (bh * keys.length) / 2 + 4, 'text-anchor': 'end' }, g, lab);
      keys.forEach((k, j) => {
        const v = r.values[j];
        if (!isFinite(v) || (opt.log && !(v > 0))) return;
        const base = X(opt.log ? lo : 0), end = X(v);
        const x0 = Math.min(base, end), w = Math.max(1, Math.abs(end - base));
        const rect = el('rect', { x: x0, y: y + j * bh, width: w, height: bh - 2, rx: 2, fill: colors[j % colors.length],
          'data-label': r.label, 'data-key': k, 'data-value': v }, g);
        title(rect, `${r.label} ${k}: ${fmt(v)}${r.note ? ' — ' + r.note : ''}`);
        const er = r.errors && r.errors[j];
        let tx = Math.max(base, end) + 4;
        if (er && isFinite(er[0]) && isFinite(er[1])) {
          /* the interval as a whisker across the bar */
          const ym = y + j * bh + (bh - 2) / 2, e0 = X(er[0]), e1 = X(er[1]);
          el('line', { x1: e0, x2: e1, y1: ym, y2: ym, stroke: '#212529', 'stroke-width': 1.5, class: 'interval',
            'data-low': er[0], 'data-high': er[1] }, g);
          el('line', { x1: e0, x2: e0, y1: ym - 4, y2: ym + 4, stroke: '#212529' }, g);
          el('line', { x1: e1, x2: e1, y1: ym - 4, y2: ym + 4, stroke: '#212529' }, g);
          tx = Math.max(tx, Math.max(e0, e1) + 4);
        }
        el('text', { x: tx, y: y + j * bh + bh - 4 }, g, fmt(v) + (j === keys.length - 1 && r.note ? '  ' + r.note : ''));
        nbars++;
      });
    });
    if (keys.length > 1) {
      const lg = el('g', { class: 'legend' }, svg);
      let lx = m.l;
      keys.forEach((k, j) => {
        el('rect', { x: lx, y: 6, width: 10, height: 10, fill: colors[j % colors.length] }, lg);
        el('text', { x: lx + 14, y: 15 }, lg, k);
        lx += 30 + 6.5 * k.length;
      });
    }
    svg.setAttribute('data-bars', String(nbars));
    return svg;
  }

  /* Merge folded stacks [["a;b;c", n], ...] into a tree {name, value, children}. */
  function flameTree(stacks) {
    const root = { name: 'all', value: 0, self: 0, children: new Map() };
    for (const [stack, n] of stacks) {
      let node = root;
      root.value += n;
      for (const f of stack.split(';')) {
        let c = node.children.get(f);
        if (!c) { c = { name: f, value: 0, self: 0, children: new Map() }; node.children.set(f, c); }
        c.value += n;
        node = c;
      }
      node.self += n;
    }
    return root;
  }
  function hue(name) {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return `hsl(${10 + (h % 45)}, ${70 + (h >> 8) % 20}%, ${58 + (h >> 16) % 14}%)`;
  }
  /* flameGraph(container, stacks, unit, fmt, opts): classic flame graph, root at the bottom; click
   * zooms. opts (optional): tree (a flameTree to draw instead of stacks), color(node) and tip(node)
   * (fill and extra tooltip text per frame, e.g. a differential flame graph's change of share). */
  function flameGraph(container, stacks, unit, fmt, opts) {
    unit = unit || 'samples';
    fmt = fmt || num;
    opts = opts || {};
    const tree = opts.tree || flameTree(stacks);
    const fill = n => (opts.color ? opts.color(n) : hue(n.name));
    const tip = n => (opts.tip ? ' · ' + opts.tip(n) : '');
    let depthMax = 0;
    (function walk(n, d) { depthMax = Math.max(depthMax, d); n.children.forEach(c => walk(c, d + 1)); })(tree, 0);
    const W = widthOf(container, 1200), rh = 17, H = (depthMax + 1) * rh + 4;
    function draw(focus) {
      const svg = svgFor(container, W, H, 'flame');
      svg.classList.add('flame');
      let nrect = 0;
      const path = [];
      (function up(n, target) {
        if (n === target) return true;
        for (const c of n.children.values()) if (up(c, target)) { path.unshift(c); return true; }
        return false;
      })(tree, focus);
      function node(n, x, w, d) {
        if (w < 0.3) return;
        const y = H - (d + 1) * rh;
        const g = el('g', {}, svg);
        const r = el('rect', { x, y, width: w, height: rh - 1, fill: d === 0 ? '#e9ecef' : fill(n),
          'data-name': n.name, 'data-value': n.value, 'data-depth': d,
          'data-delta': n.delta === undefined ? undefined : n.delta.toFixed(6) }, g);
        title(r, `${n.name}: ${fmt(n.value)} ${unit} (${(100 * n.value / tree.value).toFixed(1)} %)${tip(n)}`);
        r.addEventListener('click', () => draw(n));
        nrect++;
        if (w > 40) {
          const maxc = Math.floor((w - 6) / 6.6);
          el('text', { x: x + 3, y: y + rh - 5 }, g, n.name.length > maxc ? n.name.slice(0, maxc - 1) + '…' : n.name);
        }
        let cx = x;
        for (const c of n.children.values()) {
          const cw = w * c.value / n.value;
          node(c, cx, cw, d + 1);
          cx += cw;
        }
      }
      /* ancestors of the focus drawn full width, then the focus subtree */
      const chain = [tree, ...path];
      chain.slice(0, -1).forEach((a, d) => {
        const y = H - (d + 1) * rh;
        const r = el('rect', { x: 0, y, width: W, height: rh - 1, fill: '#dee2e6', 'data-name': a.name, 'data-value': a.value, 'data-depth': d }, svg);
        title(r, `${a.name}: ${fmt(a.value)} ${unit}`);
        r.addEventListener('click', () => draw(a));
        el('text', { x: 3, y: y + rh - 5 }, svg, a.name);
        nrect++;
      });
      node(focus, 0, W, chain.length - 1);
      svg.setAttribute('data-rects', String(nrect));
      svg.setAttribute('data-samples', String(tree.value));
      if (container.onflamefocus) container.onflamefocus(focus, tree);
    }
    draw(tree);
    container.flameReset = () => draw(tree);
    return tree;
  }

  global.PPCharts = { lineChart, barChart, flameGraph, flameTree, num, secs, bytes, pct, COLORS };
})(window);
