// operator.js — the bureau's day: lines, at-risk applications, holds, queue, spoiled cards, stock
'use strict';

async function refresh() {
  const [status, lines, risk, held, queue, spoiled, stock] = await Promise.all([
    cardline.api('GET', '/api/v1/status'), cardline.api('GET', '/api/v1/lines'),
    cardline.api('GET', '/api/v1/at-risk'), cardline.api('GET', '/api/v1/held'),
    cardline.api('GET', '/api/v1/queue'), cardline.api('GET', '/api/v1/spoiled'),
    cardline.api('GET', '/api/v1/stock'),
  ]);
  const counts = [];
  for (const [what, by] of Object.entries(status))
    for (const [st, n] of Object.entries(by)) counts.push({ what, status: st, n });
  cardline.table('status', counts, [['what', 'What'], ['status', 'Status'], ['n', 'Count']]);
  cardline.table('lines', lines, [['id', 'Line'], ['state', 'State'], ['reason', 'Why'], ['printer', 'Printer'],
    ['encoder', 'Encoder'], ['heartbeat', 'Heartbeat'], ['last_hour', 'Cards last hour'], ['good', 'Good'],
    ['spoiled', 'Spoiled']]);
  cardline.table('atrisk', risk, [['application', 'Application'], ['status', 'Status'], ['holder', 'Holder'],
    ['outlet', 'Outlet'], ['deadline', 'Deadline'], ['working_days_left', 'Working days left'], ['reason', 'Reason']]);
  cardline.table('held', held, [['application', 'Application'], ['holder', 'Holder'], ['outlet', 'Outlet'],
    ['reason', 'Reason'], ['since', 'Since']]);
  cardline.table('queue', queue, [['application', 'Application'], ['kind', 'Kind'], ['holder', 'Holder'],
    ['outlet', 'Outlet'], ['priority', 'Priority'], ['status', 'Status'], ['deadline', 'Deadline']]);
  cardline.table('spoiled', spoiled, [['card_number', 'Card'], ['line', 'Line'], ['reason', 'Reason'], ['at', 'At']]);
  cardline.table('stock', stock, [['line', 'Line'], ['issued', 'Issued'], ['fed', 'Fed'], ['good', 'Good'],
    ['spoiled', 'Spoiled'], ['returned', 'Returned'], ['sample', 'Samples']]);
}

(async () => {
  if (!(await cardline.page('operators', ['operator', 'admin', 'auditor']))) return;
  await refresh();
  setInterval(() => refresh().catch(() => {}), 15000);
})();
