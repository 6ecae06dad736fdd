// studio.js — a photo studio checks an applicant's photo with the full quality check, sees every check's result,
// and downloads the receipt (PDF or PNG) of a photo that passes
'use strict';

async function refresh() {
  const rows = await cardline.api('GET', '/api/v1/receipts');
  cardline.table('receipts', rows, [['receipt_no', 'Receipt'], ['at', 'Issued'], ['valid_until', 'Valid until'],
    ['verdict', 'Verdict'], ['warnings', 'Warnings']], (cell, r) => {
    const base = '/api/v1/receipts/' + encodeURIComponent(r.receipt_no);
    const pdf = cardline.link(cell, 'receipt (PDF)', base);
    pdf.setAttribute('download', 'receipt-' + r.receipt_no + '.pdf');
    pdf.className = 'receipt';
    const png = cardline.link(cell, 'PNG', base + '?format=png');
    png.setAttribute('download', 'receipt-' + r.receipt_no + '.png');
    png.className = 'receipt-png';
  });
}

function showChecks(report) {
  const el = document.getElementById('checks');
  const rows = (report.checks || []).filter((k) => k.status !== 'pass' && k.status !== 'skip');
  if (rows.length === 0) {
    el.hidden = true;
    return;
  }
  cardline.table('checks', rows, [['id', 'Check'], ['status', 'Result'], ['value', 'Measured'], ['limit', 'Allowed'],
    ['message', 'What to do']]);
  el.hidden = false;
}

document.getElementById('upload').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const file = document.getElementById('photo').files[0];
  const doc = document.getElementById('doc').value.trim();
  if (!file) return;
  if (doc.length < 5 || doc.length > 32) {
    cardline.say('verdict', "give the applicant's document number (5 to 32 characters)", false);
    return;
  }
  if (file.size > 4 * 1024 * 1024) {
    cardline.say('verdict', 'the file is larger than 4 MiB', false);
    return;
  }
  try {
    const safeName = file.name.replace(/[^\w.\- ]/g, '_').slice(0, 200);
    const r = await cardline.api('POST', '/api/v1/photos', file,
      { 'Content-Type': file.type || 'application/octet-stream', 'X-File-Name': safeName, 'X-Document-Number': doc });
    const failing = (r.checks || []).filter((k) => k.status === 'fail').map((k) => k.id);
    const warning = (r.checks || []).filter((k) => k.status === 'warn').map((k) => k.id);
    if (r.receipt_no) {
      cardline.say('verdict', (r.verdict === 'warn' ? 'PASSED with warnings (' + warning.join(', ') + ')' : 'PASSED') +
        ' — receipt ' + r.receipt_no + ', valid until ' + r.valid_until, true);
    } else {
      cardline.say('verdict', 'REJECTED — failing checks: ' + failing.join(', '), false);
    }
    showChecks(r);
  } catch (e) {
    cardline.say('verdict', e.message, false);
  }
  await refresh();
});

(async () => {
  if (!(await cardline.page('photo studio', ['studio']))) return;
  await refresh();
})();
