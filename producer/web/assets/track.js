// track.js — where an application's card is, for holders (with their whole document number) and staff
'use strict';

const kinds = {
  allocated: 'card number allocated', produced: 'card produced', spoiled: 'a card failed; making another',
  packed: 'packed for the outlet', sealed: 'shipment sealed', dispatched: 'on its way to the outlet',
  received: 'arrived at the outlet', collected: 'collected', activated: 'social security function activated',
  returned: 'returned to the bureau (not collected)', lost_in_transit: 'lost in transit; a new card is made',
  requeued: 'being produced again', handed_in: 'old card handed in', voided: 'card voided',
};

document.getElementById('track').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const app = document.getElementById('application').value.trim();
  const doc = document.getElementById('document').value.trim();
  try {
    const r = await cardline.api('GET', '/api/v1/track?application=' + encodeURIComponent(app) +
      (doc ? '&document=' + encodeURIComponent(doc) : ''));
    document.getElementById('msg').hidden = true;
    document.getElementById('summary').textContent = 'Application ' + r.application + ' (' + r.holder + '): ' +
      (r.card_status ? 'card ' + r.card_status.replace(/_/g, ' ') : r.status) + '; outlet ' + r.outlet +
      (r.outlet_name ? ' ' + r.outlet_name : '') + (r.deadline ? '; due by ' + r.deadline : '');
    cardline.table('events', r.events.map((e) => Object.assign({ what: kinds[e.kind] || e.kind }, e)),
      [['at', 'When'], ['what', 'What']]);
    document.getElementById('result').hidden = false;
  } catch (e) {
    document.getElementById('result').hidden = true;
    cardline.say('msg', e.message, false);
  }
});

// staff are signed in: no header needed, the page is public
fetch('/api/v1/session', { credentials: 'same-origin' }).then((r) => (r.ok ? r.json() : null)).then((me) => {
  if (me) cardline.me = me;
}).catch(() => {});
