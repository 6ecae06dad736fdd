// app.js — shared by every page: the API call with the session's CSRF token, safe table rendering, the header
'use strict';

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
      throw new Error('sign in first');
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
    who.textContent = cardline.me.name + ' (' + cardline.me.role + (cardline.me.studio ? ' ' + cardline.me.studio : '') + ')';
    const out = document.createElement('button');
    out.className = 'secondary';
    out.textContent = 'Sign out';
    out.id = 'signout';
    out.addEventListener('click', async () => {
      await cardline.api('POST', '/api/v1/logout', {});
      location.href = '/login.html';
    });
    h.append(t, who, out);
    document.body.prepend(h);
    return true;
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
      td.textContent = 'none';
      return;
    }
    for (const row of rows) {
      const tr = body.insertRow();
      for (const [key] of columns) {
        const td = tr.insertCell();
        const v = row[key];
        td.textContent = v === null || v === undefined ? '' : String(v);
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
