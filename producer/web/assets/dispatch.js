// dispatch.js — seal, label, ship, receive by scanning, hand out, chase overdue and uncollected cards
'use strict';

async function loadShipments() {
  const status = document.getElementById('status').value;
  const rows = await cardline.api('GET', '/api/v1/shipments' + (status ? '?status=' + encodeURIComponent(status) : ''));
  cardline.table('shipments', rows, [['id', 'Shipment'], ['outlet', 'Outlet'], ['outlet_name', 'Name'],
    ['status', 'Status'], ['cards', 'Cards'], ['sealed_at', 'Sealed'], ['dispatched_at', 'Dispatched'],
    ['received_at', 'Received']], (cell, s) => {
    cell.dataset.shipment = s.id;
    if (s.status === 'open' && s.cards > 0) cardline.button(cell, 'Seal', () => act(s.id, 'seal'));
    if (s.status === 'sealed') cardline.button(cell, 'Send', () => act(s.id, 'send'));
    const base = '/api/v1/shipments/' + s.id + '/';
    cardline.link(cell, 'label', base + 'label.pdf');
    cardline.link(cell, 'PNG', base + 'label.png');
    cardline.link(cell, 'manifest', base + 'manifest.pdf');
    cardline.link(cell, 'CSV', base + 'manifest.csv');
  });
}

async function act(id, what) {
  try {
    await cardline.api('POST', '/api/v1/shipments/' + id + '/' + what, {});
    cardline.say('ship-msg', 'shipment ' + id + (what === 'seal' ? ' sealed' : ' dispatched'), true);
  } catch (e) {
    cardline.say('ship-msg', e.message, false);
  }
  await refresh();
}

async function refresh() {
  await loadShipments();
  const overdue = await cardline.api('GET', '/api/v1/overdue');
  cardline.table('overdue', overdue.shipments, [['id', 'Shipment'], ['outlet', 'Outlet'], ['dispatched_at', 'Dispatched'],
    ['expected_arrival', 'Expected']]);
  cardline.table('late', overdue.late_cards, [['card_number', 'Card'], ['status', 'Status'], ['application', 'Application'],
    ['holder', 'Holder'], ['outlet', 'Outlet'], ['deadline', 'Deadline']]);
  const waiting = await cardline.api('GET', '/api/v1/uncollected');
  cardline.table('uncollected', waiting, [['card_number', 'Card'], ['outlet', 'Outlet'], ['application', 'Application'],
    ['holder', 'Holder'], ['received_at', 'At outlet since'], ['due_for_return', 'Due to go back']], (cell, c) => {
    if (c.due_for_return) cardline.button(cell, 'Return to bureau', async () => {
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
    cardline.say('receive-msg', 'received shipment ' + r.shipment, true);
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
    cardline.say('collect-msg', 'card ' + card + ' handed out' + (body.activate ? '; social security function activated'
      : '; social security function NOT activated (recorded exception)') + (r.temporary ? '; temporary card ' + r.temporary +
      (r.temporary_due ? ' not handed in: flagged for return' : ' returned and cancelled') : ''), true);
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
    cardline.say('lost-msg', 'recorded; ' + r.requeued + ' application(s) will be produced again first', true);
  } catch (e) {
    cardline.say('lost-msg', e.message, false);
  }
  await refresh();
});

document.getElementById('status').addEventListener('change', () => loadShipments());
document.getElementById('seal-due').addEventListener('click', async () => {
  try {
    const r = await cardline.api('POST', '/api/v1/seal-due', {});
    cardline.say('ship-msg', r.sealed + ' shipment(s) sealed', true);
  } catch (e) {
    cardline.say('ship-msg', e.message, false);
  }
  await refresh();
});

(async () => {
  if (!(await cardline.page('dispatch', ['dispatch', 'admin']))) return;
  await refresh();
  document.getElementById('scan').focus();
})();
