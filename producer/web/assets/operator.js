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

const mayAct = () => cardline.me && ['operator', _('admin')].includes(cardline.me.role);

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
  cardline.table('temporary', temporary.map((t) => Object.assign({}, t, { due: t.due ? _('yes: {0}', cardline.word(t.due_reason)) : _('no') })),
    [['card', _('Card')], ['status', _('Status')], ['holder', _('Holder')], ['doc', _('Document')], ['outlet', _('Outlet')],
      ['valid_until', _('Valid until')], ['due', _('Due back')]], mayAct() ? (cell, t) => {
      const b = cardline.button(cell, _('Returned'), () => act('/api/v1/cards/' + encodeURIComponent(t.card) +
        '/return-temporary', {}, _('temporary card {0} returned and cancelled', t.card)));
      b.dataset.returnTemporary = t.card;
    } : undefined);
  cardline.table('status', counts(status), [['what', _('What')], ['status', _('Status')], ['n', _('Count')]]);
  cardline.table('lines', lines, [['line', _('Line')], ['state', _('State')], ['reason', _('Why')], ['printer', _('Printer')],
    ['encoder', _('Encoder')], ['heartbeat', _('Heartbeat')], ['last_hour', _('Cards last hour')], ['good', _('Good')],
    ['spoiled', _('Spoiled')], ['in_machine', _('In the machine')]]);
  cardline.table('atrisk', risk, [['application', _('Application')], ['status', _('Status')], ['holder', _('Holder')],
    ['outlet', _('Outlet')], ['deadline', _('Deadline')], ['working_days_left', _('Working days left')], ['reason', _('Reason')]]);
  cardline.table('held', held, [['application', _('Application')], ['holder', _('Holder')], ['outlet', _('Outlet')],
    ['reason', _('Reason')], ['since', _('Since')]], mayAct() ? (cell, a) => {
    const b = cardline.button(cell, _('Release'), () => act('/api/v1/applications/' + encodeURIComponent(a.application) +
      '/release', {}, _('released application {0}', a.application)));
    b.dataset.release = a.application;
  } : undefined);
  cardline.table('queue', queue, [['application', _('Application')], ['kind', _('Kind')], ['holder', _('Holder')],
    ['outlet', _('Outlet')], ['priority', _('Priority')], ['status', _('Status')], ['deadline', _('Deadline')]]);
  cardline.table('spoiled', spoiled, [['card_number', _('Card')], ['line', _('Line')], ['reason', _('Reason')], ['at', _('At')]]);
  cardline.table('stock', stock.lines, [['line', _('Line')], ['issued', _('Issued')], ['used', _('Used')], ['good', _('Good')],
    ['spoiled', _('Spoiled')], ['in_machine', _('In the machine')], ['returned', _('Returned')], ['samples', _('Samples')],
    ['on_hand', _('On hand')], ['balanced', _('Balanced')]]);
}

document.getElementById('cancel').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const app = document.getElementById('cancel-app').value.trim();
  await act('/api/v1/applications/' + encodeURIComponent(app) + '/cancel',
    { reason: document.getElementById('cancel-reason').value.trim() }, _('cancelled application {0}', app));
});

document.getElementById('lost').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const card = document.getElementById('lost-card').value.trim().toUpperCase();
  const reason = document.getElementById('lost-reason').value.trim();
  await act('/api/v1/cards/' + encodeURIComponent(card) + '/report-lost', reason ? { reason } : {},
    _('card {0} reported lost', card));
});

// the other two actions of the loss form: the same card number and note, another route
for (const [id, route, done] of [['lost-temporary', 'report-lost-temporary', N_('card {0} reported lost (temporary report)')],
  ['withdraw-loss', 'withdraw-loss', N_('card {0}: loss report withdrawn')]]) {
  document.getElementById(id).addEventListener('click', async () => {
    const form = document.getElementById('lost');
    if (!form.reportValidity()) return;
    const card = document.getElementById('lost-card').value.trim().toUpperCase();
    const reason = document.getElementById('lost-reason').value.trim();
    await act('/api/v1/cards/' + encodeURIComponent(card) + '/' + route, reason ? { reason } : {}, _(done, card));
  });
}

document.getElementById('card-cancel').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const card = document.getElementById('card-cancel-card').value.trim().toUpperCase();
  const reason = document.getElementById('card-cancel-reason').value;
  await act('/api/v1/cards/' + encodeURIComponent(card) + '/cancel', { reason }, _('card {0} cancelled ({1})', card, _(reason)));
});

(async () => {
  if (!(await cardline.page(_('operators'), ['operator', 'admin', 'auditor']))) return;
  document.getElementById('act').hidden = !mayAct();
  await refresh();
  setInterval(() => refresh().catch(() => {}), 15000);
})();
