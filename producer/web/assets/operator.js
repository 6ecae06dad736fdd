// operator.js — the bureau's day: lines, at-risk applications, holds, queue, spoiled cards, stock; operators
// release held applications, cancel applications and record a holder's loss report
'use strict';

function counts(status) {
  const rows = [];
  const groups = [['applications', status.applications.by_status], ['cards', status.cards.by_status],
    ['shipments', status.shipments_by_status]];
  for (const [what, by] of groups)
    for (const [st, n] of Object.entries(by)) rows.push({ what, status: st, n });
  return rows;
}

const mayAct = () => cardline.me && ['operator', 'admin'].includes(cardline.me.role);

// a change through the API; the page says what happened and shows the new state
async function act(path, body, done) {
  try {
    await cardline.api('POST', path, body);
    cardline.say('act-msg', done, true);
  } catch (e) {
    cardline.say('act-msg', e.message, false);
  }
  await refresh();
}

async function refresh() {
  const [status, lines, risk, held, queue, spoiled, stock] = await Promise.all([
    cardline.api('GET', '/api/v1/status'), cardline.api('GET', '/api/v1/lines'),
    cardline.api('GET', '/api/v1/at-risk'), cardline.api('GET', '/api/v1/held'),
    cardline.api('GET', '/api/v1/queue'), cardline.api('GET', '/api/v1/spoiled'),
    cardline.api('GET', '/api/v1/stock'),
  ]);
  cardline.table('status', counts(status), [['what', 'What'], ['status', 'Status'], ['n', 'Count']]);
  cardline.table('lines', lines, [['line', 'Line'], ['state', 'State'], ['reason', 'Why'], ['printer', 'Printer'],
    ['encoder', 'Encoder'], ['heartbeat', 'Heartbeat'], ['last_hour', 'Cards last hour'], ['good', 'Good'],
    ['spoiled', 'Spoiled'], ['in_machine', 'In the machine']]);
  cardline.table('atrisk', risk, [['application', 'Application'], ['status', 'Status'], ['holder', 'Holder'],
    ['outlet', 'Outlet'], ['deadline', 'Deadline'], ['working_days_left', 'Working days left'], ['reason', 'Reason']]);
  cardline.table('held', held, [['application', 'Application'], ['holder', 'Holder'], ['outlet', 'Outlet'],
    ['reason', 'Reason'], ['since', 'Since']], mayAct() ? (cell, a) => {
    const b = cardline.button(cell, 'Release', () => act('/api/v1/applications/' + encodeURIComponent(a.application) +
      '/release', {}, 'released application ' + a.application));
    b.dataset.release = a.application;
  } : undefined);
  cardline.table('queue', queue, [['application', 'Application'], ['kind', 'Kind'], ['holder', 'Holder'],
    ['outlet', 'Outlet'], ['priority', 'Priority'], ['status', 'Status'], ['deadline', 'Deadline']]);
  cardline.table('spoiled', spoiled, [['card_number', 'Card'], ['line', 'Line'], ['reason', 'Reason'], ['at', 'At']]);
  cardline.table('stock', stock.lines, [['line', 'Line'], ['issued', 'Issued'], ['used', 'Used'], ['good', 'Good'],
    ['spoiled', 'Spoiled'], ['in_machine', 'In the machine'], ['returned', 'Returned'], ['samples', 'Samples'],
    ['on_hand', 'On hand'], ['balanced', 'Balanced']]);
}

document.getElementById('cancel').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const app = document.getElementById('cancel-app').value.trim();
  await act('/api/v1/applications/' + encodeURIComponent(app) + '/cancel',
    { reason: document.getElementById('cancel-reason').value.trim() }, 'cancelled application ' + app);
});

document.getElementById('lost').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const card = document.getElementById('lost-card').value.trim().toUpperCase();
  const reason = document.getElementById('lost-reason').value.trim();
  await act('/api/v1/cards/' + encodeURIComponent(card) + '/report-lost', reason ? { reason } : {},
    'card ' + card + ' reported lost');
});

(async () => {
  if (!(await cardline.page('operators', ['operator', 'admin', 'auditor']))) return;
  document.getElementById('act').hidden = !mayAct();
  await refresh();
  setInterval(() => refresh().catch(() => {}), 15000);
})();
