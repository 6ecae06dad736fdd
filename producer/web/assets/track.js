// track.js — where an application's card is, for holders (with their whole document number) and staff
'use strict';

const kinds = {
  allocated: _('card number allocated'), produced: _('card produced'), spoiled: _('a card failed; making another'),
  packed: _('packed for the outlet'), sealed: _('shipment sealed'), dispatched: _('on its way to the outlet'),
  received: _('arrived at the outlet'), collected: _('collected'), activated: _('social security function activated'),
  returned: _('returned to the bureau (not collected)'), lost_in_transit: _('lost in transit; a new card is made'),
  requeued: _('being produced again'), handed_in: _('old card handed in'), voided: _('card voided'),
};

document.getElementById('track').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const app = document.getElementById('application').value.trim();
  const doc = document.getElementById('document').value.trim();
  try {
    const r = await cardline.api('GET', '/api/v1/track?application=' + encodeURIComponent(app) +
      (doc ? '&document=' + encodeURIComponent(doc) : ''));
    document.getElementById('msg').hidden = true;
    document.getElementById('summary').textContent = _('Application {0} ({1}): ', r.application, r.holder) +
      (r.card_status ? _('card {0}', _(r.card_status) === r.card_status ? r.card_status.replace(/_/g, ' ') : _(r.card_status))
        : cardline.word(r.status)) + _('; outlet {0}', r.outlet) +
      (r.outlet_name ? ' ' + r.outlet_name : '') + (r.deadline ? _('; due by {0}', cardline.date(r.deadline)) : '');
    cardline.table('events', r.events.map((e) => Object.assign({ what: kinds[e.kind] || e.kind }, e)),
      [['at', _('When')], ['what', _('What')]]);
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
