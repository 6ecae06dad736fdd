// audit.js — read-only: counts and the append-only event trail
'use strict';

async function refresh() {
  const status = await cardline.api('GET', '/api/v1/status');
  const counts = [];
  const groups = [['applications', status.applications.by_status], ['cards', status.cards.by_status],
    ['shipments', status.shipments_by_status]];
  for (const [what, by] of groups)
    for (const [st, n] of Object.entries(by)) counts.push({ what, status: st, n });
  cardline.table('status', counts, [['what', _('What')], ['status', _('Status')], ['n', _('Count')]]);
  const kind = document.getElementById('kind').value.trim();
  const events = await cardline.api('GET', '/api/v1/events' + (kind ? '?kind=' + encodeURIComponent(kind) : ''));
  cardline.table('events', events, [['id', _('No.')], ['at', _('At')], ['actor', _('Actor')], ['kind', _('Kind')],
    ['application', _('Application')], ['card_number', _('Card')], ['shipment', _('Shipment')], ['detail', _('Detail')]]);
}

document.getElementById('filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  refresh();
});

(async () => {
  if (!(await cardline.page(_('audit'), ['auditor', _('admin')]))) return;
  await refresh();
})();
