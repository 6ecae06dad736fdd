// studio.js — a photo studio checks applicants' photos and downloads the receipts of those that pass
'use strict';

async function refresh() {
  const rows = await cardline.api('GET', '/api/v1/photos');
  cardline.table('photos', rows, [['id', 'No.'], ['file_name', 'File'], ['at', 'Checked'], ['passed', 'Passed'],
    ['reason', 'Verdict'], ['receipt_no', 'Receipt']], (cell, p) => {
    if (p.passed) {
      const a = cardline.link(cell, 'download receipt', '/api/v1/photos/' + p.id + '/receipt');
      a.setAttribute('download', 'receipt-' + p.receipt_no + '.pdf');
      a.className = 'receipt';
    }
  });
}

document.getElementById('upload').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const file = document.getElementById('photo').files[0];
  if (!file) return;
  if (file.size > 4 * 1024 * 1024) {
    cardline.say('verdict', 'the file is larger than 4 MiB', false);
    return;
  }
  try {
    const safeName = file.name.replace(/[^\w.\- ]/g, '_').slice(0, 200);
    const r = await cardline.api('POST', '/api/v1/photos', file,
      { 'Content-Type': file.type || 'application/octet-stream', 'X-File-Name': safeName });
    cardline.say('verdict', (r.passed ? 'PASSED — receipt ' + r.receipt_no + ': ' : 'REJECTED — ') + r.reason, r.passed);
  } catch (e) {
    cardline.say('verdict', e.message, false);
  }
  await refresh();
});

(async () => {
  if (!(await cardline.page('photo studio', ['studio']))) return;
  await refresh();
})();
