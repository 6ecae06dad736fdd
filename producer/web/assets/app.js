// app.js — shared by every page: the API call with the session's CSRF token, safe table rendering, the header,
// the reader's language (the messages come from /i18n.js, made by the server from the gettext catalog)
'use strict';

// The text of a message in the page's language, with {0}, {1}... replaced by the arguments. A message is marked
// by _ or N_ around one quoted literal (no concatenation): tests/lint/po.sh and the build extract them.
function _(msgid, ...args) {
  const table = typeof cardlineMessages === 'object' ? cardlineMessages : {};
  const text = Object.prototype.hasOwnProperty.call(table, msgid) ? table[msgid] : msgid;
  return text.replace(/\{(\d+)\}/g, (m, i) => (args[i] === undefined ? m : String(args[i])));
}
// marks a message translated later (the words below, looked up when a value is shown)
const N_ = (msgid) => msgid;

// values the API answers in words of its own (states, roles, kinds): shown in the reader's language
const cardlineWords = new Set([N_('open'), N_('sealed'), N_('dispatched'), N_('received'), N_('lost'),
  N_('pending'), N_('in_production'), N_('produced'), N_('held'), N_('cancelled'), N_('allocated'), N_('printing'),
  N_('encoding'), N_('ejecting'), N_('good'), N_('spoiled'), N_('unused'), N_('issued'), N_('voided'),
  N_('returned'), N_('in_transit'), N_('at_outlet'), N_('uncollected'), N_('lost_in_transit'),
  N_('lost_temporary'), N_('return_due'), N_('running'), N_('paused'), N_('stopped'), N_('applications'),
  N_('cards'), N_('shipments'), N_('pass'), N_('warn'), N_('fail'), N_('skip'), N_('operator'), N_('studio'),
  N_('dispatch'), N_('auditor'), N_('admin'), N_('new'), N_('replacement'), N_('exchange'), N_('temporary'),
  N_('expired'), N_('card collected'), N_('left-scheme'), N_('emigrated'), N_('deceased'), N_('disappeared')]);

const cardline = {
  me: null,

  async api(method, path, body, headers) {
    const opts = { method, credentials: 'same-origin', headers: Object.assign({}, headers || {}) };
    if (cardline.me && cardline.me.csrf && method !== 'GET') opts.headers['X-CSRF-Token'] = cardline.me.csrf;
    if (body !== undefined && !(body instanceof Blob)) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    } else if (body !== undefined) {
      opts.body = body;
    }
    const res = await fetch(path, opts);
    let data = null;
    const type = res.headers.get('Content-Type') || '';
    if (type.startsWith('application/json')) data = await res.json();
    if (res.status === 401 && !path.endsWith('/login')) {
      location.href = '/login.html';
      throw new Error(_('sign in first'));
    }
    if (!res.ok) throw new Error((data && data.error) || ('HTTP ' + res.status));
    return data;
  },

  // Sign-in check for pages behind an account; roles is the list allowed on the page.
  async page(title, roles) {
    try {
      cardline.me = await cardline.api('GET', '/api/v1/session');
    } catch (e) {
      return false;
    }
    if (roles && !roles.includes(cardline.me.role)) {
      location.href = cardline.me.home;
      return false;
    }
    const h = document.createElement('header');
    const t = document.createElement('h1');
    t.textContent = 'cardline · ' + title;
    const who = document.createElement('span');
    who.id = 'who';
    who.textContent = cardline.me.name + ' (' + cardline.word(cardline.me.role) + (cardline.me.studio ? ' ' + cardline.me.studio : '') + ')';
    const out = document.createElement('button');
    out.className = 'secondary';
    out.textContent = _('Sign out');
    out.id = 'signout';
    out.addEventListener('click', async () => {
      await cardline.api('POST', '/api/v1/logout', {});
      location.href = '/login.html';
    });
    h.append(t, who, out);
    document.body.prepend(h);
    return true;
  },

  // A value as the reader writes it: the API's words translated, yes/no for true/false, dates in the
  // language's way (the catalog says how: {y}, {m}, {d} the numbers, {mm}, {dd} with a leading zero)
  word(v) {
    if (typeof v === 'boolean') return v ? _('yes') : _('no');
    if (typeof v === 'string' && cardlineWords.has(v)) return _(v);
    return cardline.date(v);
  },

  date(v) {
    if (typeof v !== 'string') return v;
    const m = /^(\d{4})-(\d{2})-(\d{2})([T ].*)?$/.exec(v);
    if (!m) return v;
    const day = _('{0}-{1}-{2}', m[1], m[2], m[3], Number(m[2]), Number(m[3]));
    if (day === m[1] + '-' + m[2] + '-' + m[3]) return v;
    return day + (m[4] ? ' ' + m[4].slice(1) : '');
  },

  // The language switch on every page: the choice is a cookie the server reads (before Accept-Language)
  languageSwitch() {
    const nav = document.createElement('nav');
    nav.id = 'lang';
    for (const [code, name] of [['zh-CN', '中文'], ['en', 'English']]) {
      const a = document.createElement('a');
      a.href = '#';
      a.textContent = name;
      a.lang = code;
      a.dataset.lang = code;
      if (document.documentElement.lang === code) a.setAttribute('aria-current', 'true');
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        document.cookie = 'lang=' + code + '; path=/; max-age=31536000; SameSite=Strict';
        location.reload();
      });
      nav.append(a, ' ');
    }
    document.body.prepend(nav);
  },

  // Render rows (array of objects) into the table with the given columns [key, heading]; text only, never HTML.
  table(id, rows, columns, extra) {
    const table = document.getElementById(id);
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    for (const [, heading] of columns) {
      const th = document.createElement('th');
      th.textContent = heading;
      head.append(th);
    }
    if (extra) head.append(document.createElement('th'));
    const body = table.createTBody();
    if (!rows || rows.length === 0) {
      const td = body.insertRow().insertCell();
      td.colSpan = columns.length + (extra ? 1 : 0);
      td.className = 'muted';
      td.textContent = _('none');
      return;
    }
    for (const row of rows) {
      const tr = body.insertRow();
      for (const [key] of columns) {
        const td = tr.insertCell();
        const v = row[key];
        td.textContent = v === null || v === undefined ? '' : String(cardline.word(v));
        if (typeof v === 'number') td.className = 'num';
      }
      if (extra) extra(tr.insertCell(), row);
    }
  },

  say(id, text, ok) {
    const el = document.getElementById(id);
    el.textContent = text;
    el.className = 'msg ' + (ok ? 'ok' : 'bad');
    el.hidden = false;
  },

  button(cell, text, onclick) {
    const b = document.createElement('button');
    b.textContent = text;
    b.className = 'secondary';
    b.addEventListener('click', onclick);
    cell.append(b, ' ');
    return b;
  },

  link(cell, text, href) {
    const a = document.createElement('a');
    a.textContent = text;
    a.href = href;
    cell.append(a, ' ');
    return a;
  },
};

document.addEventListener('DOMContentLoaded', () => cardline.languageSwitch());
