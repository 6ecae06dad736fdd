// dispatch.js — seal, label, ship, receive by scanning, hand out, chase overdue and uncollected cards
'use strict';

async function loadShipments() {
  const status = document.getElementById('status').value;
  const rows = await cardline.api('GET', '/api/v1/shipments' + (status ? '?status=' + encodeURIComponent(status) : ''));
  cardline.table('shipments', rows, [['id', _('Shipment')], ['outlet', _('Outlet')], ['outlet_name', _('Name')],
    ['status', _('Status')], ['cards', _('Cards')], ['sealed_at', _('Sealed')], ['dispatched_at', _('Dispatched')],
    ['received_at', _('Received')]], (cell, s) => {
    cell.dataset.shipment = s.id;
    if (s.status === 'open' && s.cards > 0) cardline.button(cell, _('Seal'), () => act(s.id, 'seal'));
    if (s.status === 'sealed') cardline.button(cell, _('Send'), () => act(s.id, 'send'));
    const base = '/api/v1/shipments/' + s.id + '/';
    cardline.link(cell, _('label'), base + 'label.pdf');
    cardline.link(cell, 'PNG', base + 'label.png');
    cardline.link(cell, _('manifest'), base + 'manifest.pdf');
    cardline.link(cell, 'CSV', base + 'manifest.csv');
  });
}

async function act(id, what) {
  try {
    await cardline.api('POST', '/api/v1/shipments/' + id + '/' + what, {});
    cardline.say('ship-msg', what === 'seal' ? _('shipment {0} sealed', id) : _('shipment {0} dispatched', id), true);
  } catch (e) {
    cardline.say('ship-msg', e.message, false);
  }
  await refresh();
}

async function refresh() {
  await loadShipments();
  const overdue = await cardline.api('GET', '/api/v1/overdue');
  cardline.table('overdue', overdue.shipments, [['id', _('Shipment')], ['outlet', _('Outlet')], ['dispatched_at', _('Dispatched')],
    ['expected_arrival', _('Expected')]]);
  cardline.table('late', overdue.late_cards, [['card_number', _('Card')], ['status', _('Status')], ['application', _('Application')],
    ['holder', _('Holder')], ['outlet', _('Outlet')], ['deadline', _('Deadline')]]);
  const waiting = await cardline.api('GET', '/api/v1/uncollected');
  cardline.table('uncollected', waiting, [['card_number', _('Card')], ['outlet', _('Outlet')], ['application', _('Application')],
    ['holder', _('Holder')], ['received_at', _('At outlet since')], ['due_for_return', _('Due to go back')]], (cell, c) => {
    if (c.due_for_return) cardline.button(cell, _('Return to bureau'), async () => {
      try {
        await cardline.api('POST', '/api/v1/cards/' + c.card_number + '/return', {});
      } catch (e) {
        cardline.say('ship-msg', e.message, false);
      }
      await refresh();
    });
  });
}

// A scanner types the label and presses Enter: the form submits, the field clears, ready for the next one.
document.getElementById('receive').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const scan = document.getElementById('scan');
  const label = scan.value.trim();
  scan.value = '';
  if (!label) return;
  try {
    const body = { label };
    const outlet = document.getElementById('outlet').value.trim();
    if (outlet) body.outlet = outlet;
    const r = await cardline.api('POST', '/api/v1/receive', body);
    cardline.say('receive-msg', _('received shipment {0}', r.shipment), true);
  } catch (e) {
    cardline.say('receive-msg', e.message, false);
  }
  scan.focus();
  await refresh();
});

document.getElementById('collect').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const v = (id) => document.getElementById(id).value.trim();
  const card = v('card').toUpperCase();
  const body = { holder_doc: v('holder-doc'), activate: document.getElementById('activate').checked,
    temporary_returned: document.getElementById('temporary-returned').checked };
  if (!body.activate) body.skip_activation_reason = v('skip-reason');
  if (v('agent-name')) Object.assign(body, { agent_name: v('agent-name'), agent_doc_type: v('agent-doc-type'), agent_doc: v('agent-doc'), poa_ref: v('poa-ref') });
  try {
    const r = await cardline.api('POST', '/api/v1/cards/' + encodeURIComponent(card) + '/collect', body);
    cardline.say('collect-msg', _('card {0} handed out', card) + (body.activate ? _('; social security function activated')
      : _('; social security function NOT activated (recorded exception)')) + (r.temporary ? (r.temporary_due
        ? _('; temporary card {0} not handed in: flagged for return', r.temporary)
        : _('; temporary card {0} returned and cancelled', r.temporary)) : ''), true);
    document.getElementById('collect').reset();
  } catch (e) {
    cardline.say('collect-msg', e.message, false);
  }
  await refresh();
});

document.getElementById('lost').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const r = await cardline.api('POST', '/api/v1/lost', { id: document.getElementById('lost-id').value.trim(),
      reason: document.getElementById('lost-reason').value.trim() });
    cardline.say('lost-msg', _('recorded; {0} application(s) will be produced again first', r.requeued), true);
  } catch (e) {
    cardline.say('lost-msg', e.message, false);
  }
  await refresh();
});

document.getElementById('status').addEventListener('change', () => loadShipments());
document.getElementById('seal-due').addEventListener('click', async () => {
  try {
    const r = await cardline.api('POST', '/api/v1/seal-due', {});
    cardline.say('ship-msg', _('{0} shipment(s) sealed', r.sealed), true);
  } catch (e) {
    cardline.say('ship-msg', e.message, false);
  }
  await refresh();
});

(async () => {
  if (!(await cardline.page(_('dispatch'), ['dispatch', _('admin')]))) return;
  await refresh();
  document.getElementById('scan').focus();
})();
