// The dashboard in a real browser: Debian's Chromium driven by
// playwright-core (no browser download), against a running sg-api.
// tests/integration/test_dashboard.sh starts the server, fills the
// database, asks the API itself (curl) and passes what it answered here as
// the expectations; this script logs in through the form and checks that
// the page shows exactly those numbers, that data is shown as text, that
// nothing is fetched from anywhere but the server, and the login, logout,
// 401 and 403 paths.
//
//   node tests/browser/dashboard.mjs --url URL --token-file F --expect F.json --out DIR
//        [--privacy-token-file F --revoke-cmd 'sh command that revokes it']
//        [--stop-cmd 'sh command that stops the server' (run last)]
//   node tests/browser/dashboard.mjs --url URL --token-file F --shot FILE.png
//        (only logs in, waits for every panel and chart, and saves a screenshot)
//
// Prints one line per check ("ok: ..."); exits 1 at the first failure
// (saving DIR/failure.png), 2 on a usage error.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execSync } from 'node:child_process';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i];
  if (!k.startsWith('--') || i + 1 >= process.argv.length) {
    console.error(`dashboard.mjs: bad argument '${k}'`);
    process.exit(2);
  }
  args[k.slice(2)] = process.argv[i + 1];
}
if (!args.url || !args['token-file'] || !(args.shot || (args.expect && args.out))) {
  console.error('usage: dashboard.mjs --url URL --token-file F (--expect F.json --out DIR | --shot FILE.png)');
  process.exit(2);
}
const BASE = args.url.replace(/\/$/, '');
const TOKEN = fs.readFileSync(args['token-file'], 'utf8').trim();
const EXP = args.expect ? JSON.parse(fs.readFileSync(args.expect, 'utf8')) : null;
const OUT = args.out || path.dirname(args.shot);
const WAIT_MS = 15000;

const CHARTS = ['c-timeseries', 'c-lag', 'c-flags', 'c-regions'];
const PANELS = ['p-timeseries', 'p-lag', 'p-lambda', 'p-privacy', 'p-flags', 'p-regions', 'p-highflags'];
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

let checks = 0;
const ok = (what) => { checks++; console.log(`ok: ${what}`); };
class Failure extends Error {}
const fail = (what) => { throw new Failure(what); };
const eq = (expected, actual, what) => {
  const e = JSON.stringify(expected), a = JSON.stringify(actual);
  if (e !== a) fail(`${what}: expected ${e}, got ${a}`);
  ok(`${what} = ${e}`);
};
// A number as the page shows it ("1,234") back to a number; "–" is null.
const num = (s) => {
  const t = String(s).trim().replace(/,/g, '');
  if (t === '–' || t === '') return null;
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(t)) fail(`'${s}' is not a number`);
  return Number(t);
};

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-dash-chromium-'));
const requests = [];
const dialogs = [];
const pageErrors = [];
let context, page;

async function text(testid) {
  return (await page.getByTestId(testid).first().textContent()).trim();
}

async function login(token) {
  await page.getByTestId('login-token').fill(token);
  await page.getByTestId('login-submit').click();
}

// Every panel has an answer (or, with allowForbidden, a 403 notice) and
// every chart has drawn: a Chart instance on the canvas and at least one
// painted pixel.
async function waitRendered() {
  await page.waitForFunction(([panels, charts]) => {
    for (const id of panels) {
      const p = document.getElementById(id);
      if (!p.classList.contains('is-loaded')) return false;
    }
    for (const id of charts) {
      const c = document.getElementById(id);
      const ch = window.Chart && window.Chart.getChart(c);
      if (!ch || c.width === 0 || c.height === 0) return false;
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let painted = false;
      for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) { painted = true; break; }
      if (!painted) return false;
    }
    return true;
  }, [PANELS, CHARTS], { timeout: WAIT_MS, polling: 100 });
}

async function main() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
    deviceScaleFactor: 1,
    timezoneId: 'UTC',
    locale: 'en-US',
  });
  context.setDefaultTimeout(WAIT_MS);
  context.on('request', (r) => requests.push(r.url()));
  // CSP violations (the page must keep to default-src 'self') and an
  // injected script's mark, both visible to the test.
  await context.addInitScript(() => {
    window.__sgViolations = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.__sgViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page = context.pages()[0] || await context.newPage();
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  const resp = await page.goto(BASE + '/');
  if (!resp || resp.status() !== 200) fail(`GET / answered ${resp && resp.status()}`);
  await page.getByTestId('login-form').waitFor({ state: 'visible' });

  if (args.shot) {
    await login(TOKEN);
    await page.getByTestId('who-name').waitFor({ state: 'visible' });
    await waitRendered();
    await page.screenshot({ path: args.shot, fullPage: true });
    ok(`screenshot ${args.shot}`);
    return;
  }

  // A wrong token: the login form says so, the dashboard stays hidden.
  ok('GET / shows the login form');
  await login('sgt_' + 'A'.repeat(43));
  await page.getByTestId('login-error').waitFor({ state: 'visible' });
  eq('That token was not accepted.', await text('login-error'), 'the login error for a wrong token');
  if (await page.locator('#dash-view').isVisible()) fail('the dashboard shows after a wrong token');
  ok('no dashboard after a wrong token');

  // The analyst's token.
  await login(TOKEN);
  await page.getByTestId('who-name').waitFor({ state: 'visible' });
  eq(EXP.whoami.name, await text('who-name'), 'the name shown');
  eq(EXP.whoami.role, await text('who-role'), 'the role shown');
  await waitRendered();
  ok('every panel answered and every chart has drawn');

  // The numbers shown are the API's.
  eq(EXP.flags_total, num(await text('flags-total')), 'total flags (last 7 days)');
  eq(EXP.flags_high, num(await text('flags-high')), 'high flags (last 7 days)');
  eq(EXP.flags_by_day_sum, await page.evaluate(() => window.Chart.getChart(document.getElementById('c-flags'))
    .data.datasets.reduce((s, d) => s + d.data.reduce((a, b) => a + b, 0), 0)), 'flags drawn in the stacked bar chart');
  eq(EXP.privacy_pending, num(await text('privacy-pending')), 'pending privacy requests');
  eq(EXP.privacy_overdue, num(await text('privacy-overdue')), 'overdue privacy requests');
  for (const [group, lag] of Object.entries(EXP.lag)) {
    const cell = page.locator(`[data-testid="lag"][data-group="${group}"]`);
    eq(lag, num(await cell.textContent()), `lag of ${group}`);
  }
  eq(EXP.lambda_date ?? '–', await text('lambda-date'), 'the batch-vs-streaming date');
  for (const [country, events] of Object.entries(EXP.country_events || {})) {
    const cell = page.locator(`[data-testid="country-events"][data-country="${country}"]`);
    eq(events, num(await cell.textContent()), `events of ${country}`);
  }
  const ts = await page.evaluate(() => {
    const ch = window.Chart.getChart(document.getElementById('c-timeseries'));
    return { points: ch.data.labels.length, sum: ch.data.datasets[0].data.reduce((a, b) => a + b, 0) };
  });
  eq(EXP.timeseries_points, ts.points, 'minutes in the events-per-minute chart');
  eq(ts.sum, num(await text('ts-last-hour')), 'events in the hour = the sum the chart draws');
  eq(EXP.high_flag_ids, await page.getByTestId('high-flag-id').allTextContents(), 'the latest high flags, in order');

  // "as of" on every panel, from the answers.
  // (An answer without as_of, as the contract's flags list, is dated by
  // its HTTP Date header.)
  for (const id of PANELS) {
    const a = (await page.locator(`#${id} .asof`).textContent()).trim();
    if (!/^as of [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$/.test(a)) fail(`${id}: '${a}' is not "as of <RFC 3339>"`);
  }
  ok('every panel shows "as of" the time of its answer');

  // A hostile string in the data is text.
  if (EXP.hostile) {
    const subjects = await page.getByTestId('high-flag-subject').allTextContents();
    if (!subjects.some((s) => s.includes(EXP.hostile))) fail(`no subject shows the hostile string as text: ${JSON.stringify(subjects)}`);
    const evidence = await page.getByTestId('high-flag-evidence').allTextContents();
    if (!evidence.some((s) => s.includes(EXP.hostile))) fail(`no evidence shows the hostile string as text: ${JSON.stringify(evidence)}`);
    eq(0, await page.locator('img, iframe, object, embed, svg').count(), 'elements made from data (img, iframe, ...)');
    ok('the hostile subject id and evidence are shown as text');
  }
  if (EXP.secret) {
    const html = await page.content();
    if (html.includes(EXP.secret)) fail('the page holds an e-mail of privacy_requests');
    ok('no e-mail of privacy_requests on the page');
  }
  await page.screenshot({ path: path.join(OUT, 'dashboard.png'), fullPage: true });
  ok(`screenshot ${path.join(OUT, 'dashboard.png')}`);

  // The session survives a reload (sessionStorage); logout ends it.
  await page.reload();
  await page.getByTestId('who-name').waitFor({ state: 'visible' });
  ok('still logged in after a reload');
  await page.getByTestId('logout').click();
  await page.getByTestId('login-form').waitFor({ state: 'visible' });
  eq(null, await page.evaluate(() => sessionStorage.getItem('sg.token')), 'the token kept after logout');

  // A role that may see one panel: the others say so.
  if (args['privacy-token-file']) {
    await login(fs.readFileSync(args['privacy-token-file'], 'utf8').trim());
    await page.getByTestId('who-role').waitFor({ state: 'visible' });
    eq('privacy', await text('who-role'), 'the role shown for the privacy token');
    await page.locator('#p-privacy.is-loaded').waitFor({ state: 'attached' });
    await page.locator('#p-flags.is-forbidden').waitFor({ state: 'attached' });
    eq('Your role may not see this.', (await page.locator('#p-flags .panel-error').textContent()).trim(),
      'the flags panel for the privacy role (403)');
    eq(EXP.privacy_pending, num(await text('privacy-pending')), 'pending privacy requests (privacy role)');
    // The token revoked while the page is open: the next refresh's 401
    // sends the user back to the login form, saying why.
    if (args['revoke-cmd']) {
      execSync(args['revoke-cmd'], { stdio: ['ignore', 'ignore', 'inherit'] });
      await page.getByTestId('login-error').waitFor({ state: 'visible', timeout: 12000 });
      eq('Your token was refused (401): log in again.', await text('login-error'), 'the message after a 401 mid-session');
    }
  }

  // The API goes away under an open page: every panel says so and keeps
  // its last numbers, marked stale.
  if (args['stop-cmd']) {
    await login(TOKEN);
    await page.getByTestId('who-name').waitFor({ state: 'visible' });
    await waitRendered();
    execSync(args['stop-cmd'], { stdio: ['ignore', 'ignore', 'inherit'] });
    await page.waitForFunction((panels) => panels.every((id) => document.getElementById(id).classList.contains('is-error')),
      PANELS, { timeout: 12000, polling: 100 });
    eq('The API failed: cannot reach the API.', (await page.locator('#p-flags .panel-error').textContent()).trim(),
      'the flags panel once the API is gone');
    eq(EXP.flags_total, num(await text('flags-total')), 'total flags still shown (stale) once the API is gone');
    ok('every panel shows its error state once the API is gone');
  }

  eq([], dialogs, 'dialogs opened (alert, confirm, ...)');
  eq([], pageErrors, 'uncaught script errors');
  eq([], await page.evaluate(() => window.__sgViolations), 'Content-Security-Policy violations');
  const foreign = requests.filter((u) => {
    const url = new URL(u);
    return !(url.protocol === 'http:' || url.protocol === 'https:') || !LOCAL_HOSTS.has(url.hostname);
  });
  eq([], foreign, 'requests to anywhere but localhost');
  ok(`${requests.length} requests, all to ${new URL(BASE).host}`);
}

let rc = 0;
try {
  await main();
} catch (e) {
  rc = 1;
  console.error(e instanceof Failure ? `FAIL: ${e.message}` : `FAIL: ${e.stack || e}`);
  if (page && OUT) await page.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
console.log(`dashboard.mjs: ${checks} checks passed${rc ? ', 1 failed' : ''}`);
process.exit(rc);
