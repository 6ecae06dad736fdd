// operator.js — the bureau's day: lines, at-risk applications, holds, queue, spoiled cards, stock; operators
// release held applications, cancel applications, record a holder's loss report (formal or temporary), withdraw
// it, cancel a card, and take temporary cards back
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
  const [status, lines, risk, held, queue, spoiled, stock, temporary] = await Promise.all([
    cardline.api('GET', '/api/v1/status'), cardline.api('GET', '/api/v1/lines'),
    cardline.api('GET', '/api/v1/at-risk'), cardline.api('GET', '/api/v1/held'),
    cardline.api('GET', '/api/v1/queue'), cardline.api('GET', '/api/v1/spoiled'),
    cardline.api('GET', '/api/v1/stock'), cardline.api('GET', '/api/v1/temporary-cards'),
  ]);
  cardline.table('temporary', temporary.map((t) => Object.assign({}, t, { due: t.due ? 'yes: ' + t.due_reason : 'no' })),
    [['card', 'Card'], ['status', 'Status'], ['holder', 'Holder'], ['doc', 'Document'], ['outlet', 'Outlet'],
      ['valid_until', 'Valid until'], ['due', 'Due back']], mayAct() ? (cell, t) => {
      const b = cardline.button(cell, 'Returned', () => act('/api/v1/cards/' + encodeURIComponent(t.card) +
        '/return-temporary', {}, 'temporary card ' + t.card + ' returned and cancelled'));
      b.dataset.returnTemporary = t.card;
    } : undefined);
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

// the other two actions of the loss form: the same card number and note, another route
for (const [id, route, done] of [['lost-temporary', 'report-lost-temporary', ' reported lost (temporary report)'],
  ['withdraw-loss', 'withdraw-loss', ': loss report withdrawn']]) {
  document.getElementById(id).addEventListener('click', async () => {
    const form = document.getElementById('lost');
    if (!form.reportValidity()) return;
    const card = document.getElementById('lost-card').value.trim().toUpperCase();
    const reason = document.getElementById('lost-reason').value.trim();
    await act('/api/v1/cards/' + encodeURIComponent(card) + '/' + route, reason ? { reason } : {}, 'card ' + card + done);
  });
}

document.getElementById('card-cancel').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const card = document.getElementById('card-cancel-card').value.trim().toUpperCase();
  const reason = document.getElementById('card-cancel-reason').value;
  await act('/api/v1/cards/' + encodeURIComponent(card) + '/cancel', { reason }, 'card ' + card + ' cancelled (' + reason + ')');
});

(async () => {
  if (!(await cardline.page('operators', ['operator', 'admin', 'auditor']))) return;
  document.getElementById('act').hidden = !mayAct();
  await refresh();
  setInterval(() => refresh().catch(() => {}), 15000);
})();
