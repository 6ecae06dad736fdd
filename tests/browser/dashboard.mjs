// dashboard.mjs — the browser scenarios of issues 7 and 13 against a running `cardline serve`
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(process.env.BROWSER_DIR, 'package.json'));
const { chromium } = require('playwright-core');
const { URL, SHIPMENT, RISKY, PHOTO, CHROMIUM, ARTIFACTS, PROFILE_ROOT, LOSTCARD, CANCEL, TRACK, TRACKDOC, LIFECARD,
  TEMPCARD } = process.env;
let profiles = 0;
// a 100 x 100 grey PNG: fails the size and colour checks
const TINY_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAGQAAABkCAAAAABVicqIAAAAPklEQVR4nO3NAQkAAAwDoPVPtlhrcThoAdMDkUgkEolEIpFIJBKJRCKRSCQSiUQikUgkEolEIpFIJBKJ5H8yNJ+GQyaz05oAAAAASUVORK5CYII=';

function check(what, cond, detail) {
  if (!cond) {
    console.error('FAIL:', what, detail === undefined ? '' : detail);
    process.exit(1);
  }
  console.log('ok:', what);
}

// every scenario in its own fresh browser profile, as a different person at a different desk would be; the
// browser's language (Accept-Language) is English unless a scenario asks for another: the pages speak Chinese
// only to a browser that prefers it (or without a choice at all) and English on request
async function browser(locale = 'en-US') {
  const dir = path.join(PROFILE_ROOT, 'profile-' + ++profiles);
  fs.rmSync(dir, { recursive: true, force: true });
  return chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    locale,
    acceptDownloads: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

async function signIn(ctx, name, password) {
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.errors = errors;
  await page.goto(URL + '/');
  await page.fill('#name', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/login.html')), page.click('#signin')]);
  await page.waitForSelector('#who');
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, name + '.png'), fullPage: true });
}

// 1. a studio gives the applicant's document number and a photo, sees the verdict, downloads the receipt
let receiptNo = null;
{
  const ctx = await browser();
  const page = await signIn(ctx, 'studio-a', 'password-of-studio-a');
  check('studio lands on the studio page', page.url().endsWith('/studio.html'));
  await page.waitForFunction(() => document.getElementById('photo-rule').textContent !== 'Photo');
  const rule = await page.textContent('#photo-rule');
  check("the photo rule says the configured profile's numbers (ssc: 358 × 441, 350 dpi, 14–40 KB)",
    rule.includes('358 × 441 pixels') && rule.includes('350 dpi') && rule.includes('14–40 KB'), rule);
  const types = await page.$$eval('#doc-type option', (os) => os.map((o) => o.value));
  check('the document type is a choice of the supported types', types.length === 8 && types[0] === 'resident_id' &&
    types.includes('passport') && types.includes('hk_macau_permit'), types);
  await page.fill('#doc', '11010519491231002X');
  await page.setInputFiles('#photo', PHOTO);
  await page.click('#check');
  await page.waitForSelector('#verdict.ok');
  const verdict = await page.textContent('#verdict');
  const m = /PASSED.* — receipt (P\d{16}[\dX]), valid until \d{4}-\d\d-\d\d/.exec(verdict);
  check('verdict shown: passed with a receipt number', m, verdict);
  receiptNo = m[1];
  await page.waitForSelector('a.receipt');
  const listed = await page.textContent('#receipts');
  check('the receipt is listed', listed.includes(receiptNo), listed);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.receipt')]);
  const saved = path.join(ARTIFACTS, 'receipt.pdf');
  await download.saveAs(saved);
  check('receipt downloaded as a PDF', fs.readFileSync(saved).subarray(0, 4).toString() === '%PDF');
  check('the download is named by the receipt', download.suggestedFilename() === 'receipt-' + receiptNo + '.pdf',
    download.suggestedFilename());
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('a.receipt-png')]);
  const savedPng = path.join(ARTIFACTS, 'receipt.png');
  await png.saveAs(savedPng);
  check('receipt downloaded as a PNG', fs.readFileSync(savedPng).subarray(1, 4).toString() === 'PNG');
  await shot(page, '1-studio-receipt');

  // a failing photo: the failing checks are named and no receipt is issued
  await page.setInputFiles('#photo', { name: 'small.png', mimeType: 'image/png', buffer: Buffer.from(TINY_PNG, 'base64') });
  await page.click('#check');
  await page.waitForSelector('#verdict.bad');
  const rejected = await page.textContent('#verdict');
  check('a failing photo is rejected with its check ids', /REJECTED — failing checks: .*format\./.test(rejected), rejected);
  check('the failing checks are shown', (await page.textContent('#checks')).includes('fail'));
  const count = await page.evaluate(async () => (await (await fetch('/api/v1/receipts')).json()).length);
  check('no receipt for the failing photo', count === 1, count);
  await shot(page, '1b-studio-rejected');
  check('no script errors on the studio page', page.errors.length === 0, page.errors);
  await ctx.close();
}

// 2. another studio sees none of it
{
  const ctx = await browser();
  const page = await signIn(ctx, 'studio-b', 'password-of-studio-b');
  await page.waitForSelector('#receipts td');
  const table = await page.textContent('#receipts');
  check("studio B's list is empty", table.includes('none') && !table.includes(receiptNo), table);
  const status = await page.evaluate(async (no) => (await fetch('/api/v1/receipts/' + no)).status, receiptNo);
  check("studio B cannot fetch studio A's receipt", status === 404 || status === 403, status);
  const statusPng = await page.evaluate(async (no) => (await fetch('/api/v1/receipts/' + no + '?format=png')).status, receiptNo);
  check("nor its PNG", statusPng === 404 || statusPng === 403, statusPng);
  const listed = await page.evaluate(async () => (await (await fetch('/api/v1/receipts')).json()).length);
  check("studio B's API list is empty too", listed === 0, listed);
  await shot(page, '2-studio-b-sees-nothing');
  await ctx.close();
}

// 3. dispatch scans a label (a scanner types it and presses Enter): the shipment shows received
{
  const ctx = await browser();
  const page = await signIn(ctx, 'clerk', 'password-of-clerk');
  check('clerk lands on the dispatch page', page.url().endsWith('/dispatch.html'));
  await page.waitForSelector(`td[data-shipment="${SHIPMENT}"]`);
  await page.focus('#scan');
  await page.keyboard.type(']C100' + SHIPMENT, { delay: 5 });
  await page.keyboard.press('Enter');
  await page.waitForSelector('#receive-msg:not([hidden])');
  const msg = await page.textContent('#receive-msg');
  await shot(page, '3-dispatch-scanned');
  check('receipt confirmed on screen', msg.includes('received shipment ' + SHIPMENT), msg);
  check('the scan field is cleared and ready for the next label', (await page.inputValue('#scan')) === '');
  await page.waitForFunction((id) => {
    const cell = document.querySelector(`td[data-shipment="${id}"]`);
    return cell && cell.parentElement.textContent.includes('received');
  }, SHIPMENT);
  check('the shipment row shows received', true);
  check('no script errors on the dispatch page', page.errors.length === 0, page.errors);
  await page.keyboard.type('12345');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#receive-msg.bad');
  check('a misread label is refused with a reason', (await page.textContent('#receive-msg')).includes('not a shipment label'));
  await shot(page, '3-dispatch-received');
  await ctx.close();
}

// 4. an operator sees the at-risk application
{
  const ctx = await browser();
  const page = await signIn(ctx, 'op', 'password-of-op');
  check('operator lands on the operator page', page.url().endsWith('/operator.html'));
  await page.waitForSelector('#atrisk td');
  const risk = await page.textContent('#atrisk');
  check('the at-risk list names the application', risk.includes(RISKY), risk.slice(0, 300));
  check('no script errors on the operator page', page.errors.length === 0, page.errors);
  const denied = await page.evaluate(async () => (await fetch('/api/v1/events')).status);
  check('an operator cannot read the audit trail', denied === 403, denied);
  await shot(page, '4-operator-at-risk');
  await ctx.close();
}
// 5. an operator releases the held application, cancels another and records a holder's loss report, from the
// dashboard; each change shows on the page (the database is checked by browser.sh)
{
  const ctx = await browser();
  const page = await signIn(ctx, 'op', 'password-of-op');
  const held = `#held button[data-release="${RISKY}"]`;
  await page.waitForSelector(held);
  check('the held application has a Release button', true);
  await page.click(held);
  await page.waitForSelector('#act-msg.ok');
  check('release confirmed on screen', (await page.textContent('#act-msg')) === 'released application ' + RISKY,
    await page.textContent('#act-msg'));
  await page.waitForFunction((id) => !document.getElementById('held').textContent.includes(id), RISKY);
  check('the released application left the held list', true);
  const queued = await page.evaluate(async (id) => (await (await fetch('/api/v1/queue')).json())
    .some((a) => a.application === id && a.status === 'pending'), RISKY);
  check('the released application is queued again', queued);

  await page.waitForFunction((id) => document.getElementById('queue').textContent.includes(id), CANCEL);
  await page.fill('#cancel-app', CANCEL);
  await page.fill('#cancel-reason', 'browser test: applicant withdrew');
  await page.click('#cancel button[type=submit]');
  await page.waitForFunction((id) => document.getElementById('act-msg').textContent === 'cancelled application ' + id,
    CANCEL);
  check('cancellation confirmed on screen', true);
  await page.waitForFunction((id) => !document.getElementById('queue').textContent.includes(id), CANCEL);
  check('the cancelled application left the queue', true);
  // cancelling it again is refused with the domain's reason
  await page.click('#cancel button[type=submit]');
  await page.waitForSelector('#act-msg.bad');
  check('a second cancellation is refused with a reason', /no pending, held or in-production application/
    .test(await page.textContent('#act-msg')), await page.textContent('#act-msg'));
  // the browser logs the refusal's 404 as a failed resource: expected, and the only error allowed here
  check('the refusal is the only error so far', page.errors.length === 1 && page.errors[0].includes('404'), page.errors);
  page.errors.length = 0;

  await page.fill('#lost-card', LOSTCARD);
  await page.click('#lost button[type=submit]');
  await page.waitForFunction((card) => document.getElementById('act-msg').textContent === 'card ' + card +
    ' reported lost', LOSTCARD);
  check('the loss report confirmed on screen', true);
  const cards = await page.evaluate(async () => (await (await fetch('/api/v1/status')).json()).cards.by_status.lost);
  check('the dashboard counts the lost card', cards === 1, cards);
  check('no script errors while acting', page.errors.length === 0, page.errors);

  // another holder phones in a loss (temporary report), finds the card, and later leaves the scheme (注销)
  const said = (text) => page.waitForFunction((t) => document.getElementById('act-msg').textContent === t, text);
  await page.fill('#lost-card', LIFECARD);
  await page.fill('#lost-reason', 'holder phoned the hotline');
  await page.click('#lost-temporary');
  await said('card ' + LIFECARD + ' reported lost (temporary report)');
  check('the temporary loss report confirmed on screen', true);
  const blocked = await page.evaluate(async () => (await (await fetch('/api/v1/status')).json()).cards.by_status.lost_temporary);
  check('the card is blocked at once (lost_temporary)', blocked === 1, blocked);
  await page.click('#withdraw-loss');
  await said('card ' + LIFECARD + ': loss report withdrawn');
  check('the withdrawal confirmed on screen', true);
  await page.click('#withdraw-loss');
  await page.waitForSelector('#act-msg.bad');
  check('a second withdrawal is refused with the reason', (await page.textContent('#act-msg')) ===
    'card ' + LIFECARD + ' is not reported lost (it is issued)', await page.textContent('#act-msg'));
  check('the refusal is the only error', page.errors.length === 1 && page.errors[0].includes('404'), page.errors);
  page.errors.length = 0;
  await page.fill('#card-cancel-card', LIFECARD);
  await page.selectOption('#card-cancel-reason', 'left-scheme');
  await page.click('#card-cancel button[type=submit]');
  await said('card ' + LIFECARD + ' cancelled (left-scheme)');
  check('the cancellation confirmed on screen', true);

  // the window's temporary cards: listed with their validity, taken back with one click
  const returnButton = `#temporary button[data-return-temporary="${TEMPCARD}"]`;
  await page.waitForSelector(returnButton);
  const row = await page.textContent(`xpath=//table[@id="temporary"]//tr[td[1][text()="${TEMPCARD}"]]`);
  check('the temporary card is listed with its validity', /issued.*\d{4}-\d\d-\d\d.*no/.test(row), row);
  await page.click(returnButton);
  await said('temporary card ' + TEMPCARD + ' returned and cancelled');
  await page.waitForFunction((c) => !document.getElementById('temporary').textContent.includes(c), TEMPCARD);
  check('the returned temporary card left the list', true);
  check('no script errors on the card actions', page.errors.length === 0, page.errors);
  await shot(page, '5-operator-acted');
  await ctx.close();
}

// 6. an admin: identity, accounts (add, disable), the tracking page for staff, sign-out
{
  const ctx = await browser();
  const page = await signIn(ctx, 'boss', 'password-of-boss');
  check('admin lands on the admin page', page.url().endsWith('/admin.html'));
  const me = await page.evaluate(async () => (await fetch('/api/v1/session')).json());
  check('the session names the admin', me.name === 'boss' && me.role === 'admin' && me.home === '/admin.html' &&
    typeof me.csrf === 'string' && me.csrf.length > 20, me);
  check('the header names the admin', (await page.textContent('#who')) === 'boss (admin)');
  await page.waitForSelector('#accounts td');
  const listed = await page.textContent('#accounts');
  check('the accounts are listed', ['op', 'clerk', 'studio-a', 'aud'].every((n) => listed.includes(n)), listed);
  await page.fill('#name', 'newop');
  await page.selectOption('#role', 'operator');
  await page.fill('#password', 'password-of-newop');
  await page.click('#add button[type=submit]');
  await page.waitForSelector('#msg.ok');
  check('account added on screen', (await page.textContent('#msg')) === 'account newop added');
  const row = 'xpath=//table[@id="accounts"]//tr[td[1][text()="newop"]]';
  await page.waitForSelector(row);
  check('the new account is listed as an operator', (await page.textContent(row)).includes('operator'));
  await page.click(row + '//button[text()="Disable"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#accounts tr')]
    .some((tr) => tr.cells[0].textContent === 'newop' && tr.cells[3].textContent === 'yes'));
  check('the account shows disabled', true);
  const own = await page.evaluate(async (csrf) => (await fetch('/api/v1/accounts/boss/disable',
    { method: 'POST', headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' }, body: '{}' })).status, me.csrf);
  check('an admin cannot disable their own account', own === 409, own);
  await shot(page, '6-admin-accounts');

  await page.goto(URL + '/track.html');
  await page.fill('#application', TRACK);
  await page.click('#track button[type=submit]');
  await page.waitForSelector('#result:not([hidden])');
  const summary = await page.textContent('#summary');
  check('staff track an application without its document', summary.startsWith('Application ' + TRACK), summary);
  check('the holder is masked', !summary.includes(TRACKDOC), summary);
  check('the way of the card is listed', (await page.textContent('#events')).includes('card produced'));
  await shot(page, '6b-admin-track');

  await page.goto(URL + '/admin.html');
  await page.waitForSelector('#signout');
  await Promise.all([page.waitForURL((u) => u.pathname.endsWith('/login.html')), page.click('#signout')]);
  const after = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
  check('after sign-out the session is gone', after === 401, after);
  // the two deliberate refusals above (own account 409, signed out 401) are logged by the browser; nothing else
  check('no script errors on the admin pages', page.errors.length === 2 && page.errors[0].includes('409') &&
    page.errors[1].includes('401'), page.errors);
  await ctx.close();
}

// 7. an auditor reads the counts and the audit trail: the operator's changes are there, by name
{
  const ctx = await browser();
  const page = await signIn(ctx, 'aud', 'password-of-aud');
  check('auditor lands on the audit page', page.url().endsWith('/audit.html'));
  await page.waitForSelector('#status td');
  const counts = await page.textContent('#status');
  check('the counts show applications, cards and shipments', ['applications', 'cards', 'shipments', 'produced',
    'lost', 'cancelled'].every((w) => counts.includes(w)), counts);
  await page.waitForSelector('#events td');
  await page.fill('#kind', 'reported_lost');
  await page.click('#filter button[type=submit]');
  await page.waitForFunction((card) => {
    const t = document.getElementById('events');
    return t.tBodies[0] && t.tBodies[0].rows.length === 1 && t.textContent.includes(card);
  }, LOSTCARD);
  const lost = await page.textContent('#events');
  check('the loss report is in the trail, by the operator', lost.includes('web:op') && lost.includes('reported_lost'), lost);
  check('no script errors on the audit page', page.errors.length === 0, page.errors);
  check('an auditor may not change anything', (await page.evaluate(async (id) => (await fetch(
    '/api/v1/applications/' + id + '/release', { method: 'POST' })).status, RISKY)) === 403);
  await shot(page, '7-audit');
  await ctx.close();
}

// 8. the public tracks an application with the holder's whole document number
{
  const ctx = await browser();
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.setDefaultTimeout(15000);
  await page.goto(URL + '/track.html');
  await page.fill('#application', TRACK);
  await page.fill('#document', TRACKDOC);
  await page.click('#track button[type=submit]');
  await page.waitForSelector('#result:not([hidden])');
  const summary = await page.textContent('#summary');
  check('the holder tracks the application', summary.startsWith('Application ' + TRACK) && summary.includes('card'),
    summary);
  await page.fill('#document', TRACKDOC.slice(0, -1) + (TRACKDOC.endsWith('1') ? '2' : '1'));
  await page.click('#track button[type=submit]');
  await page.waitForSelector('#msg:not([hidden])');
  check('a wrong document finds nothing', (await page.textContent('#msg')).includes('no application'),
    await page.textContent('#msg'));
  await shot(page, '8-public-track');
  await ctx.close();
}
// 9. the bureau's language: a browser that prefers Chinese gets the pages in Chinese (and a browser that names
// neither language too); the language switch on every page turns them English, and the choice stays
{
  const ctx = await browser('zh-CN');
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(URL + '/login.html');
  check('the sign-in page is Chinese: <html lang="zh-CN">', (await page.getAttribute('html', 'lang')) === 'zh-CN',
    await page.getAttribute('html', 'lang'));
  check('its heading and button are Chinese', (await page.textContent('main h2')) === 'cardline — 社会保障卡制卡生产' &&
    (await page.textContent('#signin')) === '登录', await page.textContent('main h2'));
  await page.fill('#name', 'clerk');
  await page.fill('#password', 'wrong password here');
  await page.click('#signin');
  await page.waitForSelector('#msg:not([hidden])');
  check("the API's refusal is Chinese", (await page.textContent('#msg')) === '账户名或密码错误',
    await page.textContent('#msg'));
  await page.fill('#password', 'password-of-clerk');
  await Promise.all([page.waitForURL((u) => u.pathname.endsWith('/dispatch.html')), page.click('#signin')]);
  await page.waitForSelector('#uncollected td');
  check('the dispatch page is Chinese', (await page.textContent('main h2')) === '网点签收批次' &&
    (await page.textContent('#signout')) === '退出登录', await page.textContent('main h2'));
  const heads = await page.$$eval('#uncollected th', (ths) => ths.map((t) => t.textContent));
  check('its table headers are Chinese', heads.includes('卡号') && heads.includes('应退回社保局'), heads);
  const due = await page.$$eval('#uncollected tbody tr', (trs) => trs.map((tr) => tr.cells[5].textContent));
  check('"Due to go back" says 是 or 否, never true or false', due.length > 0 && due.every((d) => d === '是' || d === '否'),
    due);
  const since = await page.$$eval('#uncollected tbody tr', (trs) => trs.map((tr) => tr.cells[4].textContent));
  check('dates are written the Chinese way (2026年12月5日)', since.every((d) => /^\d{4}年\d{1,2}月\d{1,2}日/.test(d)), since);
  const status = await page.$$eval('#shipments tbody tr', (trs) => trs.map((tr) => tr.cells[3].textContent));
  check('status words are Chinese', status.length > 0 && status.every((w) => /^[\u4e00-\u9fff]+$/.test(w)), status);
  await shot(page, '9-dispatch-chinese');
  await Promise.all([page.waitForEvent('load'), page.click('#lang a[data-lang="en"]')]);
  await page.waitForSelector('#uncollected td');
  check('after the switch: <html lang="en"> and English text', (await page.getAttribute('html', 'lang')) === 'en' &&
    (await page.textContent('main h2')) === 'Receive a shipment at the outlet' &&
    (await page.textContent('#signout')) === 'Sign out', await page.textContent('main h2'));
  const dueEn = await page.$$eval('#uncollected tbody tr', (trs) => trs.map((tr) => tr.cells[5].textContent));
  check('"Due to go back" says yes or no in English', dueEn.every((d) => d === 'yes' || d === 'no'), dueEn);
  await page.goto(URL + '/track.html');
  check('the choice stays for the other pages', (await page.getAttribute('html', 'lang')) === 'en' &&
    (await page.textContent('main h2')) === 'Where is my card?', await page.textContent('main h2'));
  await Promise.all([page.waitForEvent('load'), page.click('#lang a[data-lang="zh-CN"]')]);
  check('and switches back', (await page.getAttribute('html', 'lang')) === 'zh-CN' &&
    (await page.textContent('main h2')) === '我的卡到哪儿了？', await page.textContent('main h2'));
  // the wrong password above (401) is the one error the browser logs
  check('no script errors in either language', errors.length === 1 && errors[0].includes('401'), errors);
  await ctx.close();
}
// 10. the receipt a Chinese studio downloads is Chinese (browser.sh reads its text and scenario 1's English one)
{
  const ctx = await browser('zh-CN');
  const page = await signIn(ctx, 'studio-a', 'password-of-studio-a');
  const b64 = await page.evaluate(async (no) => {
    const bytes = new Uint8Array(await (await fetch('/api/v1/receipts/' + no)).arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }, receiptNo);
  const pdf = Buffer.from(b64, 'base64');
  check('the Chinese studio downloads its receipt as a PDF', pdf.subarray(0, 4).toString() === '%PDF');
  fs.writeFileSync(path.join(ARTIFACTS, 'receipt-zh.pdf'), pdf);
  await ctx.close();
}
// a browser that names neither language (no Accept-Language: the server's own language, Chinese unless set)
{
  const res = await fetch(URL + '/login.html', { headers: { 'Accept-Language': 'fr-FR, de;q=0.5' } });
  const html = await res.text();
  check('a browser preferring another language gets Chinese', html.includes('<html lang="zh-CN">') &&
    html.includes('登录') && res.headers.get('content-language') === 'zh-CN', res.headers.get('content-language'));
}
console.log('dashboard: 10 scenarios passed');
