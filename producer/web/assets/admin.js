// admin.js — accounts and their roles
'use strict';

async function refresh() {
  const rows = await cardline.api('GET', '/api/v1/accounts');
  cardline.table('accounts', rows, [['name', _('Name')], ['role', _('Role')], ['studio', _('Studio')], ['disabled', _('Disabled')],
    ['token', _('API token')], ['last_login_at', _('Last sign-in')]], (cell, a) => {
    if (!a.disabled && a.name !== cardline.me.name) cardline.button(cell, _('Disable'), async () => {
      try {
        await cardline.api('POST', '/api/v1/accounts/' + encodeURIComponent(a.name) + '/disable', {});
      } catch (e) {
        cardline.say('msg', e.message, false);
      }
      await refresh();
    });
  });
}

document.getElementById('add').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const v = (id) => document.getElementById(id).value.trim();
  try {
    await cardline.api('POST', '/api/v1/accounts', { name: v('name'), role: v('role'), studio: v('studio') || null,
      password: document.getElementById('password').value });
    cardline.say('msg', _('account {0} added', v('name')), true);
    document.getElementById('add').reset();
  } catch (e) {
    cardline.say('msg', e.message, false);
  }
  await refresh();
});

(async () => {
  if (!(await cardline.page(_('administration'), ['admin']))) return;
  await refresh();
})();
