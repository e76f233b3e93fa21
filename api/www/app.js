/* StreamGuard dashboard: plain JavaScript, no build step.
 *
 * Every number on the page comes from sg-api (docs/api.md), fetched with
 * the token the user typed in, which lives in sessionStorage only (gone
 * when the tab closes). Data from the API is put into the page with
 * textContent and DOM properties only, never as HTML: a subject id or an
 * evidence value is text whatever characters it holds. The page runs under
 * "default-src 'self'": no inline script or style, nothing from elsewhere.
 */
'use strict';

(function () {
  const TOKEN_KEY = 'sg.token';
  const REFRESH_MS = 5000;
  const TIMEOUT_MS = 4500;
  const RANGE_DAYS = 7;
  const PRIVACY_LIMIT_DAYS = 30;

  const $ = (id) => document.getElementById(id);
  const nf = new Intl.NumberFormat('en-US');
  const fmtInt = (n) => (n === null || n === undefined) ? '–' : nf.format(n);

  const SEV_COLOR = { low: '#8fa8c8', medium: '#e0a030', high: '#d0453a' };
  const PALETTE = ['#3b6fb6', '#d0453a', '#e0a030', '#3f9b6b', '#8a5cb8',
                   '#c25b9a', '#2aa3b8', '#7a7a3a', '#b8663b', '#5c6b7a'];

  /* ------------------------------------------------------------ state */
  let token = null;
  let timer = null;
  let charts = {};
  let session = 0;          /* bumped at each login and logout */
  const inflight = {};      /* source key -> the session its request is for */
  const answerDates = new WeakMap();  /* answer -> its HTTP Date, RFC 3339 */

  /* An API failure: status 0 when the server could not be reached. */
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /* GET path with the token; resolves to the parsed JSON answer. 401 ends
   * the session (every panel would fail the same way). */
  async function api(path) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    let res;
    try {
      res = await fetch(path, {
        headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
        cache: 'no-store', credentials: 'omit', redirect: 'error', signal: ctl.signal,
      });
    } catch (e) {
      throw new ApiError(0, 'network', e.name === 'AbortError'
        ? 'the API did not answer in time' : 'cannot reach the API');
    } finally {
      clearTimeout(t);
    }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const code = body && typeof body.code === 'string' ? body.code : String(res.status);
      const title = body && typeof body.title === 'string' ? body.title : res.statusText;
      throw new ApiError(res.status, code, title || ('HTTP ' + res.status));
    }
    if (body === null || typeof body !== 'object') throw new ApiError(res.status, 'bad_json', 'the API answered no JSON');
    /* An answer without "as_of" (a flags list) is dated by its HTTP Date
     * header: the server's clock, to the second. */
    const date = Date.parse(res.headers.get('Date') || '');
    answerDates.set(body, isNaN(date) ? null : new Date(date).toISOString().replace('.000Z', 'Z'));
    return body;
  }

  /* ------------------------------------------------------------ DOM helpers */
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function setText(id, text) { $(id).textContent = text; }

  /* One line of evidence: key=value pairs, values as JSON unless strings. */
  function evidenceLine(ev) {
    let s;
    if (ev === null || ev === undefined) s = '';
    else if (typeof ev !== 'object' || Array.isArray(ev)) s = JSON.stringify(ev);
    else s = Object.keys(ev).map((k) => {
      const v = ev[k];
      return k + '=' + (typeof v === 'string' ? v : JSON.stringify(v));
    }).join(', ');
    s = s.replace(/\s+/g, ' ');
    return s.length > 140 ? s.slice(0, 139) + '…' : s;
  }

  function utcDate(d) { return d.toISOString().slice(0, 10); }
  function lastDays(n) {
    const to = new Date();
    const from = new Date(to.getTime() - (n - 1) * 86400000);
    return { from: utcDate(from), to: utcDate(to) };
  }
  function datesBetween(from, to) {
    const out = [];
    for (let d = new Date(from + 'T00:00:00Z'); utcDate(d) <= to; d = new Date(d.getTime() + 86400000))
      out.push(utcDate(d));
    return out;
  }

  /* ------------------------------------------------------------ panels */
  /* A panel's state: its "as of", or its error (the last data stays, with
   * the time it was read). */
  function panelOk(id, d) {
    const p = $(id);
    p.classList.remove('is-error', 'is-forbidden');
    p.querySelector('.panel-error').hidden = true;
    const a = p.querySelector('.asof');
    const asOf = typeof d.as_of === 'string' ? d.as_of : answerDates.get(d);
    a.textContent = asOf ? 'as of ' + asOf : 'as of (no time in the answer)';
    a.title = typeof d.as_of === 'string' ? "the database's time of the answer"
                                           : "the server's clock (the answer has no as_of)";
    a.dataset.testid = 'asof';
    p.classList.add('is-loaded');
  }

  function panelFail(id, err) {
    const p = $(id);
    const e = p.querySelector('.panel-error');
    if (err.status === 403) {
      p.classList.add('is-forbidden');
      e.textContent = 'Your role may not see this.';
    } else {
      p.classList.add('is-error');
      e.textContent = err.status
        ? 'The API failed: ' + err.status + ' ' + err.code + ' (' + err.message + ').'
        : 'The API failed: ' + err.message + '.';
    }
    e.dataset.testid = 'panel-error';
    e.hidden = false;
  }

  function chart(id, config) {
    if (charts[id]) {
      const c = charts[id];
      c.data.labels = config.data.labels;
      c.data.datasets = config.data.datasets;
      c.update('none');
      return c;
    }
    charts[id] = new Chart($(id), config);
    return charts[id];
  }

  const baseOptions = () => ({
    responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
  });

  function renderTimeseries(d) {
    const mins = Array.isArray(d.minutes) ? d.minutes : [];
    let sum = 0, peak = 0;
    for (const m of mins) { sum += m.events; if (m.events > peak) peak = m.events; }
    setText('ts-last-hour', fmtInt(sum));
    setText('ts-peak', fmtInt(peak));
    const opts = baseOptions();
    opts.plugins.legend.display = false;
    opts.scales = { y: { beginAtZero: true, ticks: { precision: 0 } },
                    x: { ticks: { maxTicksLimit: 12 } } };
    chart('c-timeseries', {
      type: 'line',
      data: {
        labels: mins.map((m) => String(m.minute).slice(11, 16)),
        datasets: [{ label: 'events', data: mins.map((m) => m.events),
                     borderColor: '#3b6fb6', backgroundColor: 'rgba(59,111,182,0.15)',
                     fill: true, pointRadius: 0, tension: 0.2, borderWidth: 2 }],
      },
      options: opts,
    });
  }

  function renderLag(d) {
    const rows = $('lag-rows');
    clear(rows);
    const groups = Array.isArray(d.consumers) ? d.consumers : [];
    for (const g of groups) {
      const tr = document.createElement('tr');
      cell(tr, g.group);
      const td = cell(tr, g.lag === null ? 'unknown' : fmtInt(g.lag), 'r num');
      td.dataset.testid = 'lag';
      td.dataset.group = g.group;
      if (g.lag === null) td.title = 'Kafka is unreachable: no high watermark';
      cell(tr, fmtInt(Array.isArray(g.partitions) ? g.partitions.length : 0), 'r');
      rows.appendChild(tr);
    }
    if (groups.length === 0) {
      const tr = document.createElement('tr');
      cell(tr, 'no consumer group has stored offsets yet').colSpan = 3;
      rows.appendChild(tr);
    }
    const opts = baseOptions();
    opts.indexAxis = 'y';
    opts.plugins.legend.display = false;
    opts.scales = { x: { beginAtZero: true, ticks: { precision: 0 } } };
    chart('c-lag', {
      type: 'bar',
      data: {
        labels: groups.map((g) => g.group),
        datasets: [{ label: 'lag', data: groups.map((g) => g.lag === null ? 0 : g.lag),
                     backgroundColor: '#3b6fb6' }],
      },
      options: opts,
    });
  }

  const VERDICT = {
    equal: 'Batch and streaming agree.',
    differ: 'Batch and streaming differ.',
    no_batch: 'No batch run to compare yet.',
  };

  function renderLambda(d) {
    const l = d.lambda || {};
    const compared = [l.metrics, l.compliance].filter((x) => x === 'equal' || x === 'differ');
    let v = 'no_batch', cls = 'neutral';
    if (compared.includes('differ')) { v = 'differ'; cls = 'bad'; }
    else if (compared.length > 0) { v = 'equal'; cls = 'good'; }
    const el = $('lambda-verdict');
    el.textContent = VERDICT[v];
    el.className = 'verdict ' + cls;
    /* differences: one figure (docs/api.md), or one per part. */
    const isNum = (x) => typeof x === 'number';
    const part = (verdict, n) => (verdict || '–') + (isNum(n) && verdict !== 'no_batch' ? ' (' + fmtInt(n) + ')' : '');
    setText('lambda-date', l.date || '–');
    setText('lambda-metrics', part(l.metrics, l.metrics_differences));
    setText('lambda-compliance', part(l.compliance, l.compliance_differences));
    let diff = null;
    if (isNum(l.differences)) diff = l.differences;
    else if (isNum(l.metrics_differences) || isNum(l.compliance_differences))
      diff = (l.metrics_differences || 0) + (l.compliance_differences || 0);
    setText('lambda-differences', fmtInt(diff));
  }

  function renderFlags(d, range) {
    const bySev = { low: 0, medium: 0, high: 0 };
    for (const r of (Array.isArray(d.by_rule) ? d.by_rule : []))
      if (r.severity in bySev) bySev[r.severity] += r.flags;
    setText('flags-total', fmtInt(d.total));
    setText('flags-high', fmtInt(bySev.high));
    setText('flags-medium', fmtInt(bySev.medium));
    setText('flags-low', fmtInt(bySev.low));
    setText('flags-late', fmtInt(d.late_events));
    setText('flags-range', '(' + range.from + ' to ' + range.to + ', UTC)');
    const dates = datesBetween(range.from, range.to);
    const series = new Map();
    for (const r of (Array.isArray(d.by_day) ? d.by_day : [])) {
      const key = r.rule + ' (' + r.severity + ')';
      if (!series.has(key)) series.set(key, { rule: r.rule, severity: r.severity, byDate: {} });
      series.get(key).byDate[r.date] = (series.get(key).byDate[r.date] || 0) + r.flags;
    }
    const keys = [...series.keys()].sort();
    const rules = [...new Set(keys.map((k) => series.get(k).rule))];
    const datasets = keys.map((k) => {
      const s = series.get(k);
      const base = PALETTE[rules.indexOf(s.rule) % PALETTE.length];
      return {
        label: k, data: dates.map((x) => s.byDate[x] || 0), stack: 'flags',
        backgroundColor: base + (s.severity === 'high' ? 'ff' : s.severity === 'medium' ? 'b0' : '70'),
        borderColor: SEV_COLOR[s.severity] || '#666', borderWidth: s.severity === 'high' ? 2 : 0,
      };
    });
    const opts = baseOptions();
    opts.scales = { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } };
    chart('c-flags', { type: 'bar', data: { labels: dates, datasets: datasets }, options: opts });
  }

  function renderRegions(d, range) {
    setText('regions-range', '(' + range.from + ' to ' + range.to + ', UTC)');
    const g = d.groups || {};
    const grows = $('groups-rows');
    clear(grows);
    for (const [key, name] of [['eu', 'EU'], ['non_eu', 'outside the EU'], ['us_ca', 'US-CA'], ['us_other', 'rest of the US']]) {
      const x = g[key] || {};
      const tr = document.createElement('tr');
      cell(tr, name);
      const ev = cell(tr, fmtInt(x.events), 'r num');
      ev.dataset.testid = 'group-events';
      ev.dataset.group = key;
      cell(tr, fmtInt(x.low), 'r');
      cell(tr, fmtInt(x.medium), 'r');
      const hi = cell(tr, fmtInt(x.high), 'r sev-high');
      hi.dataset.testid = 'group-high';
      hi.dataset.group = key;
      grows.appendChild(tr);
    }
    const countries = (Array.isArray(d.countries) ? d.countries : []).slice()
      .sort((a, b) => (b.risk.high - a.risk.high) || (b.events - a.events) || (a.country < b.country ? -1 : 1));
    const rows = $('regions-rows');
    clear(rows);
    for (const c of countries) {
      const tr = document.createElement('tr');
      cell(tr, c.country);
      cell(tr, c.eu ? 'yes' : 'no');
      const ev = cell(tr, fmtInt(c.events), 'r num');
      ev.dataset.testid = 'country-events';
      ev.dataset.country = c.country;
      cell(tr, fmtInt(c.risk.low), 'r');
      cell(tr, fmtInt(c.risk.medium), 'r');
      cell(tr, fmtInt(c.risk.high), 'r sev-high');
      rows.appendChild(tr);
    }
    /* The chart: each country's share of events at medium and high risk
     * (the counts are in the table), the 12 with the most events. */
    const top = countries.slice().sort((a, b) => (b.events - a.events) || (a.country < b.country ? -1 : 1)).slice(0, 12);
    const pct = (c, s) => c.events > 0 ? Math.round(1000 * c.risk[s] / c.events) / 10 : 0;
    const opts = baseOptions();
    opts.indexAxis = 'y';
    opts.scales = { x: { stacked: true, beginAtZero: true, title: { display: true, text: "% of the country's events" } },
                    y: { stacked: true } };
    chart('c-regions', {
      type: 'bar',
      data: {
        labels: top.map((c) => c.country),
        datasets: ['high', 'medium'].map((s) => ({
          label: s + ' risk', data: top.map((c) => pct(c, s)), backgroundColor: SEV_COLOR[s],
        })),
      },
      options: opts,
    });
  }

  function renderPrivacy(d) {
    setText('privacy-pending', fmtInt(d.pending));
    setText('privacy-overdue', fmtInt(d.overdue));
    const limit = typeof d.limit_days === 'number' ? d.limit_days : PRIVACY_LIMIT_DAYS;
    setText('privacy-limit', String(limit));
    const age = d.oldest_pending_age_seconds;
    const days = typeof age === 'number' ? age / 86400 : null;
    setText('privacy-oldest', days === null ? 'none' : days.toFixed(1) + ' days');
    const m = $('privacy-meter');
    m.max = limit;
    m.low = limit * 2 / 3;
    m.high = limit * 0.9;
    m.value = days === null ? 0 : Math.min(days, limit);
    const p = $('p-privacy');
    p.classList.toggle('overdue', d.overdue > 0);
    const rows = $('privacy-rows');
    clear(rows);
    const st = d.by_status || {};
    for (const k of Object.keys(st).sort()) {
      const tr = document.createElement('tr');
      cell(tr, k);
      const td = cell(tr, fmtInt(st[k]), 'r num');
      td.dataset.testid = 'privacy-status';
      td.dataset.status = k;
      rows.appendChild(tr);
    }
  }

  function renderHighFlags(d) {
    const rows = $('highflags-rows');
    clear(rows);
    const items = Array.isArray(d.items) ? d.items : [];
    for (const f of items) {
      const tr = document.createElement('tr');
      const id = cell(tr, f.flag_id, 'mono');
      id.dataset.testid = 'high-flag-id';
      cell(tr, f.rule);
      const subj = cell(tr, f.subject_type + ' ' + f.subject_id, 'mono');
      subj.dataset.testid = 'high-flag-subject';
      cell(tr, String(f.window_start || '').replace('T', ' '));
      const ev = cell(tr, evidenceLine(f.evidence), 'evidence');
      ev.dataset.testid = 'high-flag-evidence';
      ev.title = JSON.stringify(f.evidence);
      rows.appendChild(tr);
    }
    if (items.length === 0) {
      const tr = document.createElement('tr');
      cell(tr, 'no high-severity flags').colSpan = 5;
      rows.appendChild(tr);
    }
  }

  /* Each source: one route, the panels it feeds. A source whose previous
   * request is still out is skipped this round. */
  const SOURCES = [
    { key: 'timeseries', panels: ['p-timeseries'], path: () => '/stats/timeseries?minutes=60',
      render: (d) => renderTimeseries(d) },
    { key: 'pipeline', panels: ['p-lag', 'p-lambda'], path: () => '/stats/pipeline',
      render: (d) => { renderLag(d); renderLambda(d); } },
    { key: 'flags', panels: ['p-flags'], range: true,
      path: (r) => '/compliance/summary?from=' + r.from + '&to=' + r.to,
      render: (d, r) => renderFlags(d, r) },
    { key: 'regions', panels: ['p-regions'], range: true,
      path: (r) => '/compliance/regions?from=' + r.from + '&to=' + r.to,
      render: (d, r) => renderRegions(d, r) },
    { key: 'privacy', panels: ['p-privacy'], path: () => '/privacy-requests/summary',
      render: (d) => renderPrivacy(d) },
    { key: 'highflags', panels: ['p-highflags'], path: () => '/compliance/flags?severity=high&limit=10',
      render: (d) => renderHighFlags(d) },
  ];

  /* An answer that comes back after a logout (or after another login) is
   * dropped: it belongs to a session that is over. */
  async function refreshOne(src) {
    const mine = session;
    if (inflight[src.key] === mine) return;
    inflight[src.key] = mine;
    const range = lastDays(RANGE_DAYS);
    try {
      const d = await api(src.path(range));
      if (mine !== session) return;
      src.render(d, range);
      for (const id of src.panels) panelOk(id, d);
    } catch (err) {
      if (mine !== session) return;
      if (!(err instanceof ApiError)) err = new ApiError(0, 'client', 'the page could not show the answer');
      if (err.status === 401) { logout('Your token was refused (401): log in again.'); return; }
      for (const id of src.panels) panelFail(id, err);
    } finally {
      if (inflight[src.key] === mine) delete inflight[src.key];
    }
  }

  function refreshAll() {
    if (!token) return;
    for (const src of SOURCES) refreshOne(src);
  }

  /* ------------------------------------------------------------ session */
  function showLogin(message) {
    $('dash-view').hidden = true;
    $('who').hidden = true;
    $('login-view').hidden = false;
    const e = $('login-error');
    e.textContent = message || '';
    e.hidden = !message;
    $('token').value = '';
    $('token').focus();
  }

  function showDash(who) {
    setText('who-name', who.name);
    setText('who-role', who.role);
    $('who').hidden = false;
    $('login-view').hidden = true;
    $('dash-view').hidden = false;
    if (timer) clearInterval(timer);
    refreshAll();
    timer = setInterval(refreshAll, REFRESH_MS);
  }

  function logout(message) {
    session++;
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    if (timer) { clearInterval(timer); timer = null; }
    for (const k of Object.keys(charts)) charts[k].destroy();
    charts = {};
    for (const p of document.querySelectorAll('.panel')) {
      p.classList.remove('is-loaded', 'is-error', 'is-forbidden');
      p.querySelector('.asof').textContent = '';
      p.querySelector('.panel-error').hidden = true;
    }
    showLogin(message);
  }

  async function login(candidate, fromStorage) {
    session++;
    token = candidate;
    let who;
    try {
      who = await api('/auth/whoami');
    } catch (err) {
      token = null;
      sessionStorage.removeItem(TOKEN_KEY);
      if (err.status === 401) showLogin(fromStorage ? 'Your session ended: log in again.' : 'That token was not accepted.');
      else if (err.status === 429) showLogin('Too many failed attempts: wait a minute, then try again.');
      else showLogin('Cannot log in: ' + err.message + '.');
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, candidate);
    showDash(who);
  }

  function start() {
    if (typeof Chart === 'undefined') {
      showLogin('The chart library did not load (/static/vendor/chart.umd.js): run scripts/setup.sh.');
      return;
    }
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = '#444';
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('token').value.trim();
      if (t) login(t, false);
    });
    $('logout').addEventListener('click', () => logout('Logged out.'));
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) login(saved, true);
    else showLogin('');
  }

  document.addEventListener('DOMContentLoaded', start);
})();
