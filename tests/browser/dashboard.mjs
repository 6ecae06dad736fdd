// dashboard.mjs — the four browser scenarios of issue 7 against a running `cardline serve`
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(process.env.BROWSER_DIR, 'package.json'));
const { chromium } = require('playwright-core');
const { URL, SHIPMENT, RISKY, PHOTO, CHROMIUM, ARTIFACTS, PROFILE_ROOT } = process.env;
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

// every scenario in its own fresh browser profile, as a different person at a different desk would be
async function browser() {
  const dir = path.join(PROFILE_ROOT, 'profile-' + ++profiles);
  fs.rmSync(dir, { recursive: true, force: true });
  return chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
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
  await page.fill('#doc', '110105194912310021');
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
console.log('dashboard: 4 scenarios passed');
