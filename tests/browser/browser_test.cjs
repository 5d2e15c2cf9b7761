/*
 * browser_test.cjs - Loads the HTML report and the live dashboard in Debian's
 * chromium (headless, through playwright-core; no browser is downloaded) and
 * checks what a person would see: no console errors, no request leaving the
 * page's origin, every chart drawn with elements that carry the data, the
 * dashboard's numbers following the metrics. Saves screenshots in OUTDIR.
 *   node browser_test.cjs report|report-noprofile REPORT.html REPORT.json OUTDIR
 *   node browser_test.cjs causal CAUSAL.html CAUSAL.json OUTDIR
 *   node browser_test.cjs dashboard DASH_PEER OUTDIR
 * Needs PP_BROWSER_DEPS: the directory where `npm ci` installed playwright-core.
 */
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const { spawn } = require('child_process');

/* A missing tool skips the test (exit 77), except under CI=true where it fails. */
function missing(what) {
  console.error('browser tests: ' + what);
  process.exit(process.env.CI === 'true' ? 1 : 77);
}
const deps = process.env.PP_BROWSER_DEPS;
if (!deps) { console.error('PP_BROWSER_DEPS is not set'); process.exit(2); }
const CHROMIUM = process.env.PP_CHROMIUM || '/usr/bin/chromium';
try { fs.accessSync(CHROMIUM, fs.constants.X_OK); } catch (e) { missing(`no chromium at ${CHROMIUM} (scripts/deps.sh installs it)`); }
let chromium;
try { ({ chromium } = require(path.join(deps, 'node_modules', 'playwright-core'))); } catch (e) { missing('playwright-core not installed in ' + deps + ' (browser.setup runs npm ci)'); }

let failures = 0;
function check(cond, what) {
  if (cond) { console.log('ok   ' + what); return; }
  console.log('FAIL ' + what);
  failures++;
}

async function openBrowser() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pp-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 0,
  });
  // No deadlines of the test's own (timeout: 0 everywhere): at load 15-20 a
  // page can take far longer than usual to draw; a hang is ctest's to catch.
  ctx.setDefaultTimeout(0);
  ctx.setDefaultNavigationTimeout(0);
  return { ctx, profile };
}
async function closeBrowser(b) {
  await b.ctx.close();
  fs.rmSync(b.profile, { recursive: true, force: true });
}

/* Console errors, page errors and requests outside allowedPrefix are recorded. */
function watch(page, allowedPrefix) {
  const seen = { errors: [], offsite: [] };
  page.on('console', m => { if (m.type() === 'error') seen.errors.push(m.text()); });
  page.on('pageerror', e => seen.errors.push(String(e)));
  page.route('**/*', route => {
    const url = route.request().url();
    if (url.startsWith(allowedPrefix)) return route.continue();
    seen.offsite.push(url);
    return route.abort();
  });
  return seen;
}

async function count(page, sel) { return page.locator(sel).count(); }

async function testReport(htmlPath, jsonPath, outDir, withProfile) {
  const R = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const b = await openBrowser();
  try {
    const page = await b.ctx.newPage();
    const url = 'file://' + path.resolve(htmlPath);
    const seen = watch(page, url);
    await page.goto(url);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 0 });

    const targets = await page.locator('#targets-table tbody tr').allTextContents();
    check(targets.length === R.targets.length, `targets table: ${targets.length} rows for ${R.targets.length} targets`);
    for (const t of R.targets)
      check(targets.some(row => row.includes(t.name) && row.includes(t.status)), `target ${t.name} shown as ${t.status}`);

    const stages = Object.keys(R.performance.stage_share).filter(k => R.performance.stage_share[k] > 0);
    check(await count(page, '#chart-stages rect[data-value]') === stages.length, `time per stage: ${stages.length} bars`);
    const ops = R.performance.operations;
    check(await count(page, '#chart-latency rect[data-key="p99"]') === ops.length, `latency: a p99 bar per operation (${ops.length})`);
    const firstP99 = await page.locator('#chart-latency rect[data-key="p99"]').first().getAttribute('data-value');
    check(Math.abs(+firstP99 - ops[0].p99_s) <= 1e-12 + 1e-9 * ops[0].p99_s, `latency bar carries p99 of ${ops[0].name}`);
    /* a figure the report has as null reads "not measured" in its row, never 0 */
    const opRows = await page.locator('#ops-table tbody tr').allTextContents();
    check(opRows.length === ops.length, `operations table: ${opRows.length} rows for ${ops.length} operations`);
    for (let i = 0; i < Math.min(opRows.length, ops.length); i++) {
      const shown = (opRows[i].match(/not measured/g) || []).length;
      const want = [ops[i].cpu_s, ops[i].alloc_bytes, ops[i].memory_delta_mb].filter(v => v === null).length;
      check(shown === want, `${ops[i].name}: ${want} figure(s) shown as not measured (${shown})`);
    }

    for (const name of Object.keys(R.model_inference)) {
      const m = R.model_inference[name];
      const lat = `[id="chart-sweep-latency-${name}"]`, thr = `[id="chart-sweep-throughput-${name}"]`;
      check(await count(page, `${lat} g[data-series="p99"] circle[data-y]`) === m.batch_sweep.length,
        `${name}: sweep latency has ${m.batch_sweep.length} p99 points`);
      check(await count(page, `${thr} g[data-series="throughput"] circle[data-y]`) === m.batch_sweep.length, `${name}: sweep throughput points`);
      if (m.batch_sweep.length && m.batch_sweep[0].throughput_low != null)
        check(await count(page, `${thr} g[data-series="95 % low"] circle[data-y]`) === m.batch_sweep.length, `${name}: sweep throughput intervals`);
      if (m.best_batch)
        check(await count(page, `${thr} g[data-marker="vline"][data-x="${m.best_batch}"]`) === 1, `${name}: chosen batch ${m.best_batch} marked`);
      check(await count(page, `${lat} g[data-marker="hline"]`) === 1, `${name}: latency target line`);
    }

    const cp = R.cache_performance;
    if (cp.present) {
      const n = await page.locator('#chart-mrc g.series').getAttribute('data-n');
      check(+n === cp.miss_ratio_curve.points.filter(p => p.capacity > 0).length, `miss-ratio curve: ${n} points`);
      check(await count(page, `#chart-mrc g[data-marker="vline"][data-x="${cp.recommended_capacity}"]`) === 1, 'recommended capacity marked');
      check(await count(page, '#chart-mrc g[data-marker="hline"]') === 1, 'target hit ratio line');
    }
    check(+(await page.locator('#bottlenecks-table').getAttribute('data-rows')) === R.bottlenecks.length, 'bottlenecks listed');
    check(+(await page.locator('#suggestions-table').getAttribute('data-rows')) === R.optimization_suggestions.length, 'suggestions listed');
    check(await count(page, '#chart-gain rect[data-key="predicted gain %"]') === R.optimization_suggestions.length, 'predicted gain bars');
    /* no figure in exponent notation (a sum of rounding errors once read "7.04e-15 %") */
    const sugText = await page.locator('#suggestions').textContent();
    check(!/\d\.?\d*e[-+]\d/.test(sugText), 'suggestions: no figure in exponent notation');
    /* the settings tested and not suggested, each with what its passes did */
    const untested = (R.experiments || []).filter(e => (e.sites || []).length && !e.suggested);
    if (untested.length) {
      const rows = await page.locator('#untested-table tbody tr').allTextContents();
      check(rows.length === untested.length, `tested and not suggested: ${rows.length} rows for ${untested.length}`);
      untested.forEach((e, i) => {
        const want = e.speedup_high < 1 ? 'slower with it' : e.speedup_low < 1 ? 'no significant change' : 'faster';
        check(rows[i] !== undefined && rows[i].includes(want), `${e.knob}=${e.cand_value}: "${want}"`);
      });
    } else {
      check(await count(page, '#untested-table') === 0, 'nothing tested without a suggestion: no such table');
    }
    if (R.apply) {
      /* one measured bar per suggestion --apply measured (a loaded machine can leave a run with
       * no suggestion to apply: then none) */
      const applied = R.apply.suggestions || [];
      const nm = R.optimization_suggestions.filter(s => applied.some(a => a.description === s.description)).length;
      check(await count(page, '#chart-gain rect[data-key="measured gain %"]') === nm, `measured gain bars: ${nm}`);
      /* a prediction made again at --apply's speed shows where it judged the measurement */
      const judged = R.optimization_suggestions.filter(s => applied.some(a => a.description === s.description &&
        a.at_apply_speed && a.at_apply_speed.judged)).length;
      check(await count(page, '#suggestions-table .at-speed') === judged, `predictions at --apply's speed shown: ${judged}`);
      check(await count(page, '#apply-speed') === (R.apply.machine_speed ? 1 : 0), 'the machine\'s speed in --apply noted');
      /* the coverage, with what right predictions would score at the run's noise */
      if (applied.length) {
        const cov = await page.locator('#apply-coverage').textContent();
        check(cov.includes(`${applied.filter(a => a.hit).length} of ${applied.length}`), `coverage noted: ${cov}`);
        check(!(R.apply.coverage_expected > 0) || cov.includes('expected of right predictions'), 'expected coverage noted');
      } else {
        check(await count(page, '#apply-coverage') === 0, 'nothing applied: no coverage');
      }
      /* all at once, said against the interval that judges it */
      const cb = R.apply.combined;
      if (cb && cb.pairs > 0) {
        const at = cb.at_apply_speed && cb.at_apply_speed.judged ? cb.at_apply_speed : cb;
        const want = cb.measured < at.predicted_low ? 'below' : cb.measured > at.predicted_high ? 'above' : 'inside';
        const el = page.locator('#apply-combined');
        check(await el.getAttribute('data-where') === want, `all at once: ${want}`);
        check((await el.textContent()).includes(`${cb.pairs} pairs): ${want} the`), 'all at once: said in words');
      } else {
        check(await count(page, '#apply-combined') === 0, 'nothing applied at once: no note');
      }
    }

    if (R.apply)
      check(await count(page, '#targets-table th:has-text("after --apply")') === 1, 'targets after --apply shown');
    else
      check(await count(page, '#chart-gain rect[data-key="measured gain %"]') === 0, 'no measured bars without --apply');
    const flame = page.locator('#chart-flame svg');
    if (!withProfile) {
      check(await flame.count() === 0 && await page.locator('#flame').isHidden(), 'no profile: no flame graph section');
    } else {
    check(await flame.count() === 1, 'flame graph drawn');
    if (await flame.count()) {
      const rects = await count(page, '#chart-flame rect[data-name]');
      check(rects >= 5, `flame graph: ${rects} frames`);
      const before = +(await page.locator('#chart-flame rect[data-name="infer"]').getAttribute('width'));
      await page.locator('#chart-flame rect[data-name="infer"]').click();
      const after = +(await page.locator('#chart-flame rect[data-name="infer"]').getAttribute('width'));
      const full = +(await page.locator('#chart-flame svg').getAttribute('viewBox')).split(' ')[2];
      check(after > before && Math.abs(after - full) < 1, `clicking a frame zooms it to full width (${before.toFixed(0)} -> ${after.toFixed(0)})`);
      await page.locator('#flame-reset').click();
    }
    }
    /* the loading section's comparisons: each with its x-factor's interval,
     * its pairs and the verdict the interval gives */
    const DL = R.data_loading || {};
    const notes = (await page.locator('#loading p.note').allTextContents()).join('\n');
    for (const [key, lead] of [['sequential_vs_concurrent', 'from every source'], ['keep_alive', 'with keep-alive']]) {
      const x = DL[key];
      if (!x || !x.measured || x.speedup === null || x.speedup === undefined) continue;
      const verdict = !x.significant ? 'no significant change' : x.speedup_low > 1 ? 'faster' : 'slower';
      const line = notes.split('\n').find(t => t.includes(lead)) || '';
      check(line.includes(`${x.speedup.toFixed(2)}x, 95 %`) && line.includes(`${x.pairs} pairs: ${verdict}`),
        `${key}: x-factor, interval, pairs and verdict shown (${line})`);
    }
    /* the experiments the run's time limit stopped while still going: one note naming each */
    const cut = (R.experiments || []).filter(e => e.cut_short);
    check(await count(page, '#cut-short') === (cut.length ? 1 : 0), `a note on the experiments cut short (${cut.length})`);
    for (const e of cut)
      check((await page.locator('#cut-short').textContent()).includes(`${e.knob}=${e.cand_value}`), `${e.knob}=${e.cand_value} named as cut short`);
    const cutApplied = R.optimization_suggestions.filter(s => ((R.apply && R.apply.suggestions) || [])
      .some(a => a.description === s.description && a.cut_short)).length;
    check(await count(page, '#suggestions-table .note:has-text("cut short by the run\'s time limit")') === cutApplied,
      `measurements cut short marked: ${cutApplied}`);
    /* a phase whose passes took longer on one CPU: said, with its interval */
    const splits = [R.experiment_cpus, R.apply && R.apply.cpus].filter(x => x && x.differs);
    const cpuNotes = await page.locator('#suggestions p.cpu-split').allTextContents();
    check(cpuNotes.length === splits.length, `a note per phase whose CPUs differ (${splits.length})`);
    for (const x of splits)
      check(cpuNotes.some(t => t.includes(`on CPU ${x.slow_cpu}`) && t.includes(`${x.ratio.toFixed(2)}x (95 % ${x.ratio_low.toFixed(2)} to`)),
        `CPU ${x.slow_cpu} against CPU ${x.quick_cpu}: the ratio with its interval`);
    /* int8 against fp32 per model, with its interval and verdict */
    const int8Notes = await page.locator('#sweep-models p.int8').allTextContents();
    for (const [name, m] of Object.entries(R.model_inference || {})) {
      const q = m.fp32_vs_int8;
      if (!q || q.speedup == null) continue;
      const verdict = !q.significant ? 'no significant change' : q.speedup_low > 1 ? 'faster' : 'slower';
      check(int8Notes.some(t => t.includes(`(int8 ${q.speedup.toFixed(2)}x, 95 %`) && t.includes(`${q.pairs} pairs: ${verdict}`)),
        `${name}: int8 against fp32 with its interval and verdict`);
    }
    /* each other cache backend against the current one, with its interval */
    const rowsCache = await page.locator('#cache-facts tr').allTextContents();
    for (const cb of ((R.cache_performance || {}).backends || [])) {
      const x = cb.against_current;
      if (!x) continue;
      const verdict = !x.significant ? 'no significant change' : x.speedup_low > 1 ? 'faster' : 'slower';
      check(rowsCache.some(t => t.includes(cb.name) && t.includes(`${x.speedup.toFixed(2)}x, 95 %`) && t.includes(`${x.pairs} pairs: ${verdict}`)),
        `cache backend ${cb.name}: against the current one with its interval and verdict`);
    }
    /* the causal section (postprof run's causal phase): a row and a bar per point, the
     * undecided ones marked, every verdict shown as text */
    const K = R.causal;
    if (!K) {
      check(await page.locator('#causal').isHidden(), 'no causal phase: no causal section');
    } else {
      const npts = K.sites.reduce((n, s) => n + s.points.length, 0);
      check(await page.locator('#causal').isVisible(), 'causal section shown');
      check(+(await page.locator('#causal-table').getAttribute('data-rows')) === npts, `causal table: a row per point (${npts})`);
      check(await count(page, '#chart-causal rect[data-key="causal gain %"]') === npts, 'a causal gain bar per point');
      const undecided = K.sites.reduce((n, s) => n + s.points.filter(p => !p.decided).length, 0);
      check(await count(page, '#causal-table .badge:has-text("not decided")') === undecided, `${undecided} points marked not decided`);
      const rows = await page.locator('#causal-table tbody tr').allTextContents();
      for (const s of K.sites)
        check(rows.some(r => r.includes(s.name) && r.includes(s.verdict.slice(0, 40))), `${s.name}: verdict shown as text`);
      check(await count(page, '#causal-table script') === 0, 'verdicts escaped');
    }
    const shot = withProfile ? 'report' : 'report-minimal';
    await page.screenshot({ path: path.join(outDir, shot + '.png'), fullPage: true });
    if (withProfile)
      for (const id of ['summary', 'stages', 'latency', 'loading', 'sweep', 'cache', 'bottlenecks', 'suggestions', 'flame'])
        await page.locator('#' + id).screenshot({ path: path.join(outDir, `report-${id}.png`) });
    check(seen.errors.length === 0, 'no console errors' + (seen.errors.length ? ': ' + seen.errors.join(' | ') : ''));
    check(seen.offsite.length === 0, 'no request outside the file' + (seen.offsite.length ? ': ' + seen.offsite.join(' ') : ''));
  } finally {
    await closeBrowser(b);
  }
}

/* The peer: a process whose metrics we change through its stdin. */
function startPeer(bin, args = []) {
  const p = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const waiters = [];
  p.stdout.on('data', d => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
    }
  });
  const next = () => new Promise((res) => { waiters.push(res); });
  return {
    proc: p, next,
    async cmd(c) { p.stdin.write(c + '\n'); const r = await next(); if (r !== 'OK') throw new Error(`peer: ${c}: ${r}`); },
  };
}

async function testDashboard(peerBin, outDir) {
  const peer = startPeer(peerBin);
  const first = await peer.next();
  const m = /^PORT (\d+)$/.exec(first);
  if (!m) throw new Error('peer said: ' + first);
  const base = `http://127.0.0.1:${m[1]}`;
  const b = await openBrowser();
  try {
    const page = await b.ctx.newPage();
    const seen = watch(page, base + '/');
    /* wait until the card's data-value satisfies op ('eq', 'gt', 'ge') against want */
    const waitValue = (id, op, want, what) => page.waitForFunction(
      ([i, o, w]) => {
        const s = document.getElementById(i).getAttribute('data-value');
        if (s === '') return false;
        const v = +s;
        return o === 'eq' ? Math.abs(v - w) < 1e-9 : o === 'gt' ? v > w : v >= w;
      }, [id, op, want], { timeout: 0, polling: 100 }).then(() => check(true, what), e => check(false, what + ': ' + e.message.split('\n')[0]));

    const resp = await page.goto(base + '/');
    check(resp.status() === 200 && /text\/html/.test(resp.headers()['content-type']), 'GET / serves the dashboard page');
    await page.waitForFunction(() => +document.body.getAttribute('data-updates') >= 1, null, { timeout: 0 });

    await peer.cmd('hit 0.25');
    await waitValue('v-hit', 'eq', 0.25, 'cache_hit_ratio set to 0.25 shows 0.25');
    await peer.cmd('hit 0.75');
    await waitValue('v-hit', 'eq', 0.75, 'cache_hit_ratio changed to 0.75 shows 0.75');
    check((await page.locator('#v-hit').textContent()).includes('75'), 'hit ratio card reads 75 %');

    await peer.cmd('bottleneck dash.infer slow');
    await waitValue('v-bottlenecks', 'eq', 1, 'one bottleneck detected shows 1');
    await peer.cmd('bottleneck dash.infer slow');
    await peer.cmd('bottleneck dash.load waiting');
    await waitValue('v-bottlenecks', 'eq', 3, 'three detections show 3');
    await page.waitForSelector('#bottlenecks tr[data-op="dash.infer"][data-kind="slow"][data-count="2"]', { timeout: 0 })
      .then(() => check(true, 'current bottlenecks list dash.infer/slow twice'), e => check(false, 'bottleneck row: ' + e.message));

    await peer.cmd('work 300');
    await page.waitForSelector('#top-ops tr[data-op="dash.infer"][data-count="300"]', { timeout: 0 })
      .then(() => check(true, 'top operations show dash.infer with 300 calls'), e => check(false, 'top ops row: ' + e.message));
    await peer.cmd('work 300');
    await page.waitForSelector('#top-ops tr[data-op="dash.infer"][data-count="600"]', { timeout: 0 })
      .then(() => check(true, 'top operations follow to 600 calls'), e => check(false, 'top ops 600: ' + e.message));
    await page.waitForFunction(() => document.querySelectorAll('#chart-rate g.series[data-series="dash.infer"]').length === 1 &&
      document.querySelectorAll('#chart-p95 g.series[data-series="dash.infer"]').length === 1, null, { timeout: 0 })
      .then(() => check(true, 'rate and p95 series of dash.infer drawn'), e => check(false, 'rate/p95 series: ' + e.message));
    await waitValue('v-memory', 'gt', 1e6, 'memory_usage_bytes shown (> 1 MB)');
    await waitValue('v-cpu', 'ge', 0, 'cpu_usage_percent shown');
    await page.waitForFunction(() => +document.body.getAttribute('data-updates') >= 4, null, { timeout: 0 });
    for (const id of ['chart-memory', 'chart-cpu', 'chart-hit', 'chart-bottlenecks', 'chart-rate']) {
      const pts = +(await page.locator(`#${id} svg`).getAttribute('data-points'));
      check(pts >= 2, `${id}: ${pts} points over time`);
    }
    const hitLine = await page.locator('#chart-hit g.series path').getAttribute('d');
    check(/M.*L/.test(hitLine || ''), 'cache_hit_ratio drawn as a line');
    check(await count(page, '#chart-gpu svg') === 1, 'gpu chart present (empty note without NVML)');

    /* the shared-cache card: hidden until the node exports the shared-cache metrics */
    check(await page.locator('#shared-card').isHidden(), 'no shared-cache card without a shared cache');
    await peer.cmd('shared 0 0 0 0 0.5');
    await peer.cmd('gain 0.31 0.12 0.5 50');
    await page.waitForSelector('#shared-card:not([hidden])', { timeout: 0 })
      .then(() => check(true, 'the shared-cache card appears with the shared-cache metrics'), e => check(false, 'shared card: ' + e.message.split('\n')[0]));
    await peer.cmd('shared 90 10 50 50 0.9');
    await page.waitForFunction(() => document.getElementById('shared-gain').getAttribute('data-value') === '0.31', null, { timeout: 0 })
      .then(() => check(true, 'the gain from /api/service is shown'), e => check(false, 'shared gain: ' + e.message.split('\n')[0]));
    const gainText = await page.locator('#shared-gain').textContent();
    check(/\+31\.0 points \(95 % CI \+12\.0 to \+50\.0\): the shared cache pays/.test(gainText) && /LRU of 50 entries/.test(gainText),
      'the gain reads +31.0 points with its interval and verdict: ' + gainText);
    await page.waitForFunction(() => ['this node on the shared cache', 'every node on the shared cache', "an LRU of this node's own"]
      .every(n => document.querySelector(`#chart-shared g.series[data-series="${n}"]`)), null, { timeout: 0 })
      .then(() => check(true, 'node, every-node and local-LRU hit ratios drawn'), e => check(false, 'shared chart series: ' + e.message.split('\n')[0]));

    const nf = await page.request.get(base + '/no-such-page');
    check(nf.status() === 404, '/no-such-page answers 404');
    await page.screenshot({ path: path.join(outDir, 'dashboard.png'), fullPage: true });
    check(seen.errors.length === 0, 'no console errors' + (seen.errors.length ? ': ' + seen.errors.join(' | ') : ''));
    check(seen.offsite.length === 0, 'no request outside the server' + (seen.offsite.length ? ': ' + seen.offsite.join(' ') : ''));
  } finally {
    await closeBrowser(b);
    peer.proc.stdin.end();
    await new Promise(res => { peer.proc.on('exit', code => { check(code === 0, `peer exited ${code}`); res(); }); });
  }
}

/* A server with a bearer token: the page is public, takes the token from
 * #token=..., drops it from the address bar, and asks for it when missing. */
async function testDashboardToken(peerBin, outDir) {
  const TOKEN = 'br-9f-token';
  const peer = startPeer(peerBin, [TOKEN]);
  const first = await peer.next();
  const m = /^PORT (\d+)$/.exec(first);
  if (!m) throw new Error('peer said: ' + first);
  const base = `http://127.0.0.1:${m[1]}`;
  const b = await openBrowser();
  try {
    const page = await b.ctx.newPage();
    const seen = watch(page, base + '/');
    const refused = await page.request.get(base + '/api/snapshot');
    check(refused.status() === 401, '/api/snapshot without the token answers 401');
    const resp = await page.goto(base + '/#token=' + TOKEN);
    check(resp.status() === 200, 'GET / is served without the token');
    await page.waitForFunction(() => +document.body.getAttribute('data-updates') >= 1, null, { timeout: 0 })
      .then(() => check(true, 'the page polls with the token from #token='), e => check(false, 'no update with #token=: ' + e.message.split('\n')[0]));
    check(await page.evaluate(() => location.hash) === '', 'the token is gone from the address bar');
    await peer.cmd('hit 0.5');
    await page.waitForFunction(() => document.getElementById('v-hit').getAttribute('data-value') === '0.5', null, { timeout: 0 })
      .then(() => check(true, 'cache_hit_ratio follows with the token'), e => check(false, 'hit ratio with token: ' + e.message.split('\n')[0]));
    check(seen.errors.length === 0, 'no console errors with the token' + (seen.errors.length ? ': ' + seen.errors.join(' | ') : ''));

    /* another tab, no token: the page asks for it, then works */
    const tab = await b.ctx.newPage();
    const seen2 = watch(tab, base + '/');
    await tab.goto(base + '/');
    await tab.waitForSelector('#token-form:not([hidden])', { timeout: 0 })
      .then(() => check(true, 'without a token the page asks for one'), e => check(false, 'no token prompt: ' + e.message.split('\n')[0]));
    check(/bearer token/.test(await tab.locator('#status').textContent()), 'the status line says a token is needed');
    await tab.screenshot({ path: path.join(outDir, 'dashboard_token_prompt.png') });
    await tab.fill('#token-input', TOKEN);
    await tab.click('#token-form button');
    await tab.waitForFunction(() => +document.body.getAttribute('data-updates') >= 1, null, { timeout: 0 })
      .then(() => check(true, 'the token typed in starts the updates'), e => check(false, 'typed token: ' + e.message.split('\n')[0]));
    check(await tab.locator('#token-form').isHidden(), 'the prompt is gone once connected');
    /* the browser itself logs the refused requests; nothing else may fail */
    const other = seen2.errors.filter(e => !/401/.test(e));
    check(other.length === 0, 'no console errors besides the refused requests' + (other.length ? ': ' + other.join(' | ') : ''));
    check(seen.offsite.length + seen2.offsite.length === 0, 'no request outside the server');
  } finally {
    await closeBrowser(b);
    peer.proc.stdin.end();
    await new Promise(res => { peer.proc.on('exit', code => { check(code === 0, `peer exited ${code}`); res(); }); });
  }
}

/* `postprof report --causal`: a line per site (with its interval), a table row per point. */
async function testCausal(htmlPath, jsonPath, outDir) {
  const D = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const b = await openBrowser();
  try {
    const page = await b.ctx.newPage();
    const url = 'file://' + path.resolve(htmlPath);
    const seen = watch(page, url);
    await page.goto(url);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 0 });
    for (const s of D.sites.slice(0, 8)) {
      const n = await page.locator(`#chart-causal g.series[data-series="${s.name.replace(/"/g, '\\"')}"]`).getAttribute('data-n');
      check(+n === s.points.length + 1, `causal chart: ${s.name} drawn through ${s.points.length} points and the origin (${n})`);
    }
    const rows = await page.locator('#causal-table tr').allTextContents();
    const npoints = D.sites.reduce((a, s) => a + s.points.length, 0);
    check(rows.length === npoints + 1, `causal table: ${rows.length - 1} rows for ${npoints} points`);
    check(rows.some(r => r.includes('no significant change')), 'an interval across 0 reads "no significant change"');
    check(rows.some(r => r.includes('too few experiments')), 'an open interval reads "too few experiments"');
    check(await page.locator('#causal-table b').count() === 0, 'a site name is shown as text, never as markup');
    await page.screenshot({ path: path.join(outDir, 'causal.png'), fullPage: true });
    check(seen.errors.length === 0, 'no console errors' + (seen.errors.length ? ': ' + seen.errors.join(' | ') : ''));
    check(seen.offsite.length === 0, 'no request leaves the page');
  } finally {
    await closeBrowser(b);
  }
}

(async () => {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'causal') await testCausal(args[0], args[1], args[2]);
  else if (mode === 'report' || mode === 'report-noprofile') await testReport(args[0], args[1], args[2], mode === 'report');
  else if (mode === 'dashboard') await testDashboard(args[0], args[1]);
  else if (mode === 'dashboard-token') await testDashboardToken(args[0], args[1]);
  else { console.error('usage: browser_test.cjs report HTML JSON OUTDIR | dashboard[-token] PEER OUTDIR'); process.exit(2); }
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  process.exit(failures ? 1 : 0);
})().catch(e => { console.error(e); process.exit(1); });
