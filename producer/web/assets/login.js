// login.js — sign in and go to the page of the account's role
'use strict';

document.getElementById('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const me = await cardline.api('POST', '/api/v1/login', {
      name: document.getElementById('name').value,
      password: document.getElementById('password').value,
    });
    location.href = me.home;
  } catch (e) {
    cardline.say('msg', e.message, false);
  }
});
