// studio.js — a photo studio checks an applicant's photo with the full quality check, sees every check's result,
// and downloads the receipt (PDF or PNG) of a photo that passes
'use strict';

async function refresh() {
  const rows = await cardline.api('GET', '/api/v1/receipts');
  cardline.table('receipts', rows, [['receipt_no', _('Receipt')], ['at', _('Issued')], ['valid_until', _('Valid until')],
    ['verdict', _('Verdict')], ['warnings', _('Warnings')]], (cell, r) => {
    const base = '/api/v1/receipts/' + encodeURIComponent(r.receipt_no);
    const pdf = cardline.link(cell, _('receipt (PDF)'), base);
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
  cardline.table('checks', rows, [['id', _('Check')], ['status', _('Result')], ['value', _('Measured')], ['limit', _('Allowed')],
    ['message', _('What to do')]]);
  el.hidden = false;
}

document.getElementById('upload').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const file = document.getElementById('photo').files[0];
  const doc = document.getElementById('doc').value.trim();
  if (!file) return;
  if (doc.length < 5 || doc.length > 32) {
    cardline.say('verdict', _("give the applicant's document number (5 to 32 characters)"), false);
    return;
  }
  if (file.size > 4 * 1024 * 1024) {
    cardline.say('verdict', _('the file is larger than 4 MiB'), false);
    return;
  }
  try {
    const safeName = file.name.replace(/[^\w.\- ]/g, '_').slice(0, 200);
    const type = document.getElementById('doc-type').value;
    const r = await cardline.api('POST', '/api/v1/photos?doc_type=' + encodeURIComponent(type), file,
      { 'Content-Type': file.type || 'application/octet-stream', 'X-File-Name': safeName, 'X-Document-Number': doc });
    const failing = (r.checks || []).filter((k) => k.status === 'fail').map((k) => k.id);
    const warning = (r.checks || []).filter((k) => k.status === 'warn').map((k) => k.id);
    if (r.receipt_no) {
      cardline.say('verdict', (r.verdict === 'warn' ? _('PASSED with warnings ({0})', warning.join(', ')) : _('PASSED')) +
        _(' — receipt {0}, valid until {1}', r.receipt_no, cardline.date(r.valid_until)), true);
    } else {
      cardline.say('verdict', _('REJECTED — failing checks: {0}', failing.join(', ')), false);
    }
    showChecks(r);
  } catch (e) {
    cardline.say('verdict', e.message, false);
  }
  await refresh();
});

// the photo rule as the configured profile says it (the server's numbers, the ones the check applies)
async function showRule() {
  const p = await cardline.api('GET', '/api/v1/photo-profile');
  const dpi = p.dpi_min === p.dpi_max ? String(p.dpi_min) : p.dpi_min + '–' + p.dpi_max;
  document.getElementById('photo-rule').textContent = _('Photo ({0}, {1} × {2} pixels, {3} dpi, {4}–{5} KB, white background)',
    p.png ? 'JPEG / PNG' : 'JPEG', p.width, p.height, dpi, p.size_kb_min, p.size_kb_max);
}

(async () => {
  if (!(await cardline.page(_('photo studio'), ['studio']))) return;
  await showRule();
  await refresh();
})();
