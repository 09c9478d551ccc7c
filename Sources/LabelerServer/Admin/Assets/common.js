// Shared by the admin pages: the key (kept in localStorage, sent only in the X-Moderation-Key
// header, never in a URL), calls to the labeler, swapping server-rendered partials into the
// page, sign-in / sign-out, the operator's name (recorded with their decisions), and toasts.
// No dependencies.
'use strict';

const Admin = (() => {
  const STORAGE = 'labeler.adminKey';
  const OPERATOR = 'labeler.operator';
  const $ = (id) => document.getElementById(id);

  class AuthError extends Error {}

  function key() {
    try { return localStorage.getItem(STORAGE) || ''; } catch (_) { return ''; }
  }
  function storeKey(k) { localStorage.setItem(STORAGE, k); }
  function forgetKey() { try { localStorage.removeItem(STORAGE); } catch (_) { /* storage blocked */ } }

  // The operator's name, kept with the key (it is not a secret, and survives a sign-out).
  function operator() {
    try { return (localStorage.getItem(OPERATOR) || '').trim(); } catch (_) { return ''; }
  }
  function storeOperator(name) {
    try { if (name) localStorage.setItem(OPERATOR, name); else localStorage.removeItem(OPERATOR); } catch (_) { /* storage blocked */ }
  }
  // Why the labeler would refuse `name` (its rule for names: 1–256 bytes of UTF-8, no control,
  // format or line-separator characters), or '' when it would take it.
  function nameProblem(name) {
    if (new TextEncoder().encode(name).length > 256) return 'Your name is too long (at most 256 bytes).';
    if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(name)) return 'Your name must not contain control or invisible formatting characters.';
    return '';
  }
  // Adds the operator's name to a command body under `field`, when one was given.
  function by(body, field) {
    const name = operator();
    if (name) body[field] = name;
    return body;
  }
  function showOperator(signedIn) {
    const el = $('operator');
    const name = operator();
    el.textContent = name ? `as ${name}` : '';
    el.hidden = !signedIn || !name;
  }

  // One call to the labeler. Returns parsed JSON or the HTML text; throws AuthError on 401 and
  // Error(message from the XRPC error body) on any other failure.
  async function call(path, { method = 'GET', body, withKey } = {}) {
    const headers = { 'X-Moderation-Key': withKey ?? key(), Accept: 'text/html, application/json' };
    const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (_) {
      throw new Error('Could not reach the labeler. Is it running?');
    }
    const type = res.headers.get('Content-Type') || '';
    if (res.status === 401) throw new AuthError('The labeler did not accept this admin key.');
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      if (type.includes('json')) {
        try { const j = await res.json(); if (j && j.message) message = j.message; } catch (_) { /* keep status */ }
      }
      throw new Error(message);
    }
    return type.includes('json') ? res.json() : res.text();
  }

  // Replaces an element's content with a partial rendered (and escaped) by the labeler.
  // innerHTML never runs scripts, and the page's CSP would refuse inline ones anyway.
  async function swap(el, path) {
    const html = await call(path);
    el.innerHTML = html;
    return el;
  }

  let toastTimer = 0;
  function toast(message, kind = 'ok') {
    const el = $('toast');
    el.textContent = message;
    el.classList.toggle('error', kind === 'error');
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, kind === 'error' ? 6000 : 3500);
  }

  function showError(el, message) {
    el.textContent = message;
    el.hidden = !message;
  }

  // Sign-in: `probe()` must make a real admin call with the key it is given; the key is kept
  // only when the labeler accepts it. `onReady` starts the page; `onSignOut` clears it.
  function setupAuth({ probe, onReady, onSignOut }) {
    const form = $('signin-form');
    const input = $('admin-key');
    const error = $('signin-error');
    const signOut = $('sign-out');

    function showSignIn(message) {
      $('app').hidden = true;
      signOut.hidden = true;
      showOperator(false);
      $('signin').hidden = false;
      showError(error, message || '');
      input.value = '';
      $('operator-name').value = operator();
      input.focus();
    }

    async function start(k, fromStorage) {
      try {
        await probe(k);
      } catch (e) {
        if (e instanceof AuthError) {
          forgetKey();
          showSignIn(fromStorage
            ? 'The saved admin key is no longer accepted. Sign in again.'
            : 'Wrong admin key: the labeler did not accept it.');
        } else {
          showSignIn(e.message);
        }
        return;
      }
      storeKey(k);
      $('signin').hidden = true;
      $('app').hidden = false;
      signOut.hidden = false;
      showOperator(true);
      onReady();
    }

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const k = input.value.trim();
      if (!k) { showError(error, 'Enter the admin key.'); return; }
      showError(error, '');
      const name = $('operator-name').value.trim();
      const problem = nameProblem(name);
      if (problem) { showError(error, problem); return; }
      storeOperator(name);
      start(k, false);
    });

    signOut.addEventListener('click', () => {
      forgetKey();
      onSignOut();
      showSignIn('');
    });

    const saved = key();
    if (saved) start(saved, true); else showSignIn('');

    // Any later 401 (key rotated, signed out in another tab) returns to the sign-in form.
    return (e) => {
      if (e instanceof AuthError) {
        forgetKey();
        onSignOut();
        showSignIn('The labeler no longer accepts this admin key. Sign in again.');
        return true;
      }
      return false;
    };
  }

  return { $, call, swap, toast, showError, setupAuth, AuthError, key, by, operator };
})();
