// The moderation dashboard (GET /admin): flags, a subject's history, reports, sensitive images,
// borderline known-content matches and live numbers. Lists are HTML partials rendered by the labeler; actions call its JSON
// command routes and then re-fetch what changed. No full page reloads.
'use strict';

(() => {
  const { $, call, swap, toast, showError, by } = Admin;
  const STATS_EVERY_MS = 5000;

  const state = { tab: 'flags', flagFilter: 'pending', reportFilter: 'open', loaded: new Set(), statsTimer: 0 };
  let handleAuth = () => false;

  // Errors: a 401 goes back to sign-in; anything else is a toast.
  function failed(e) {
    if (!handleAuth(e)) toast(e.message, 'error');
  }

  const loaders = {
    flags: () => swap($('flags'), `/admin/partials/flags?filter=${encodeURIComponent(state.flagFilter)}`),
    reports: () => swap($('reports'), `/admin/partials/reports?status=${encodeURIComponent(state.reportFilter)}`),
    images: () => swap($('images'), '/admin/partials/images'),
    known: () => swap($('known'), '/admin/partials/known-review'),
  };

  function load(what) {
    state.loaded.add(what);
    return loaders[what]().catch(failed);
  }

  function refreshStats() {
    return swap($('stats'), '/admin/partials/stats').then(() => { $('stats').hidden = false; }).catch(failed);
  }

  function startStats() {
    clearInterval(state.statsTimer);
    state.statsTimer = setInterval(() => {
      if (document.visibilityState === 'visible') refreshStats();
    }, STATS_EVERY_MS);
  }

  function selectTab(name) {
    state.tab = name;
    for (const b of document.querySelectorAll('[data-tab]')) {
      const on = b.dataset.tab === name;
      b.setAttribute('aria-selected', String(on));
      $(`panel-${b.dataset.tab}`).hidden = !on;
    }
    if (!state.loaded.has(name)) load(name);
  }

  function press(selector, attr, value) {
    for (const b of document.querySelectorAll(selector)) b.setAttribute('aria-pressed', String(b.dataset[attr] === value));
  }

  // --- resolving a flag as a false positive -------------------------------------------------
  const resolveDialog = $('resolve-dialog');
  const resolveForm = $('resolve-form');
  let resolving = null;

  function openResolve(uri, title) {
    resolving = uri;
    resolveForm.reset();
    $('resolve-subject').textContent = title ? `${title} — ${uri}` : uri;
    showError($('resolve-error'), '');
    $('resolve-submit').disabled = false;
    resolveDialog.showModal();
  }

  resolveForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const picked = resolveForm.querySelector('input[name="reason"]:checked');
    if (!picked) { showError($('resolve-error'), 'Choose a reason.'); return; }
    const notes = $('resolve-notes').value.trim();
    const body = by({ uri: resolving, reason: picked.value }, 'resolved_by');
    if (notes) body.notes = notes;
    $('resolve-submit').disabled = true;
    try {
      const r = await call('/admin/resolve', { method: 'POST', body });
      resolveDialog.close();
      const label = picked.parentElement.textContent.trim();
      toast(r.already_resolved ? 'Already resolved: nothing changed.' : `Resolved as ${label}; the label is negated (seq ${r.seq}).`);
      await Promise.all([load('flags'), refreshStats()]);
    } catch (e) {
      $('resolve-submit').disabled = false;
      if (!handleAuth(e)) showError($('resolve-error'), e.message);
    }
  });

  // --- a subject's history --------------------------------------------------------------------
  async function openHistory(uri) {
    const box = $('history');
    box.textContent = 'Loading…';
    $('history-dialog').showModal();
    try {
      await swap(box, `/admin/partials/history?uri=${encodeURIComponent(uri)}`);
    } catch (e) {
      if (!handleAuth(e)) box.textContent = e.message;
    }
  }

  for (const d of document.querySelectorAll('dialog')) {
    d.addEventListener('click', (ev) => {
      if (ev.target.closest('[data-close-dialog]') || ev.target === d) d.close();
    });
  }

  // --- clicks anywhere in the app -------------------------------------------------------------
  $('app').addEventListener('click', async (ev) => {
    const t = ev.target;
    const tab = t.closest('[data-tab]');
    if (tab) { selectTab(tab.dataset.tab); return; }

    const ff = t.closest('[data-flag-filter]');
    if (ff) {
      state.flagFilter = ff.dataset.flagFilter;
      press('[data-flag-filter]', 'flagFilter', state.flagFilter);
      load('flags');
      return;
    }
    const rf = t.closest('[data-report-filter]');
    if (rf) {
      state.reportFilter = rf.dataset.reportFilter;
      press('[data-report-filter]', 'reportFilter', state.reportFilter);
      load('reports');
      return;
    }
    const refresh = t.closest('[data-refresh]');
    if (refresh) { load(refresh.dataset.refresh); refreshStats(); return; }

    const action = t.closest('[data-action]');
    if (action) {
      const a = action.dataset.action;
      if (a === 'resolve') openResolve(action.dataset.uri, action.dataset.title);
      else if (a === 'history') openHistory(action.dataset.uri);
      else if (a === 'image-remove') removeImage(action);
      return;
    }
    // A click elsewhere on a flag card (not a link) opens its history.
    const card = t.closest('.flag-card');
    if (card && !t.closest('a, button, input, select, textarea')) openHistory(card.dataset.uri);
  });

  $('new-batch').addEventListener('click', async () => {
    const out = $('batch-link');
    try {
      const r = await call('/admin/batches', { method: 'POST', body: { created_by: Admin.operator() || 'dashboard' } });
      out.textContent = `Review batch of ${r.flag_count} flag(s): `;
      const a = document.createElement('a');
      a.href = r.url;                 // a path on this labeler, from the labeler
      a.textContent = new URL(r.url, location.href).href;
      out.append(a);
      out.hidden = false;
    } catch (e) {
      if (!handleAuth(e)) { out.textContent = e.message; out.hidden = false; }
    }
  });

  // --- reports --------------------------------------------------------------------------------
  $('reports').addEventListener('submit', async (ev) => {
    const form = ev.target.closest('.report-form');
    if (!form) return;
    ev.preventDefault();
    const status = form.elements.status.value;
    const notes = form.elements.admin_notes.value.trim();
    const body = by({ status }, 'resolved_by');
    if (notes) body.admin_notes = notes;
    try {
      await call(`/admin/reports/${encodeURIComponent(form.dataset.report)}/resolve`, { method: 'POST', body });
      toast(`Report #${form.dataset.report} is now ${status}.`);
      await Promise.all([load('reports'), refreshStats()]);
    } catch (e) { failed(e); }
  });

  // --- sensitive images -----------------------------------------------------------------------
  $('image-add').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = by({}, 'flagged_by');
    const id = $('image-add-id').value.trim();
    const url = $('image-add-url').value.trim();
    const reason = $('image-add-reason').value.trim();
    if (id) body.image_id = id;
    if (url) body.url = url;
    if (reason) body.reason = reason;
    try {
      await call('/admin/sensitive-images', { method: 'POST', body });
      ev.target.reset();
      showError($('image-add-error'), '');
      toast('Image flagged as sensitive.');
      await load('images');
    } catch (e) {
      if (!handleAuth(e)) showError($('image-add-error'), e.message);
    }
  });

  async function removeImage(button) {
    button.disabled = true;
    try {
      const r = await call('/admin/sensitive-images/remove', { method: 'POST', body: by({ id: Number(button.dataset.id) }, 'removed_by') });
      toast(r.message);
      await load('images');
    } catch (e) {
      button.disabled = false;
      failed(e);
    }
  }

  // --- borderline known-content matches: flag (it is the reference's work) or dismiss ----------
  $('known').addEventListener('click', async (ev) => {
    const button = ev.target.closest('button[data-known-action]');
    if (!button) return;
    const decision = button.dataset.knownAction;
    const seq = button.dataset.seq;
    for (const b of button.closest('.card-actions').querySelectorAll('button')) b.disabled = true;
    try {
      const r = await call(`/admin/known-content/matches/${encodeURIComponent(seq)}/review`,
        { method: 'POST', body: by({ decision }, 'decided_by') });
      toast(decision === 'flag'
        ? (r.labelled ? `Flagged: the subject is labelled copyright-violation (seq ${r.seq}).` : 'Judged its work; the subject was flagged already.')
        : 'Dismissed: not the reference\'s work.');
      const reloads = [load('known'), refreshStats()];
      if (r.labelled && state.loaded.has('flags')) reloads.push(load('flags'));
      await Promise.all(reloads);
    } catch (e) {
      failed(e);
      // Judged meanwhile by someone else (409), or refused: show the list as it is now.
      load('known');
    }
  });

  // --- start ----------------------------------------------------------------------------------
  handleAuth = Admin.setupAuth({
    // A real admin call: the numbers the page shows anyway.
    probe: async (k) => {
      $('stats').innerHTML = await call('/admin/partials/stats', { withKey: k });
      $('stats').hidden = false;
    },
    onReady: () => {
      state.loaded.clear();
      selectTab(state.tab);
      startStats();
    },
    onSignOut: () => {
      clearInterval(state.statsTimer);
      for (const id of ['stats', 'flags', 'reports', 'images', 'known', 'history']) $(id).replaceChildren();
      $('stats').hidden = true;
      $('batch-link').hidden = true;
      for (const d of document.querySelectorAll('dialog[open]')) d.close();
    },
  });
})();
