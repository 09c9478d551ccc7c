// One review batch (GET /admin/review/{id}), made for a phone: a card per open flag with
// clear / defer / confirm toggles, a fixed bar counting the decisions, and one submit through
// POST /admin/review/{id}/submit. The batch partial is rendered by the labeler.
'use strict';

(() => {
  const { $, call, swap, toast } = Admin;
  const batchId = document.body.dataset.batch;
  const decisions = new Map(); // uri -> clear | defer | confirm
  let handleAuth = () => false;

  function failed(e) {
    if (!handleAuth(e)) toast(e.message, 'error');
  }

  function autoClears() {
    return [...document.querySelectorAll('.review-card[data-auto-clear="true"]')].map((c) => c.dataset.uri);
  }

  function updateBar() {
    const section = document.querySelector('.batch');
    const completed = !section || section.dataset.status === 'completed';
    const open = section ? Number(section.dataset.open) : 0;
    const extra = autoClears().length;
    $('submit-bar').hidden = completed || (open === 0 && extra === 0);
    const n = decisions.size;
    $('decision-count').textContent = `${n} of ${open} decided` + (extra ? ` (+${extra} resolved)` : '');
    const total = n + extra;
    const button = $('submit-decisions');
    button.disabled = total === 0;
    button.textContent = total === 0 ? 'Submit' : `Submit ${total} decision${total === 1 ? '' : 's'}`;
  }

  async function load() {
    decisions.clear();
    await swap($('batch'), `/admin/partials/review/${encodeURIComponent(batchId)}`);
    updateBar();
  }

  $('batch').addEventListener('click', (ev) => {
    const button = ev.target.closest('button[data-decision]');
    if (!button) return;
    const card = button.closest('.review-card');
    const uri = card.dataset.uri;
    const choice = button.dataset.decision;
    const same = decisions.get(uri) === choice;
    if (same) decisions.delete(uri); else decisions.set(uri, choice);
    for (const b of card.querySelectorAll('button[data-decision]')) {
      b.setAttribute('aria-pressed', String(!same && b.dataset.decision === choice));
    }
    card.classList.remove('decided-clear', 'decided-defer', 'decided-confirm');
    if (!same) card.classList.add(`decided-${choice}`);
    updateBar();
  });

  $('submit-decisions').addEventListener('click', async () => {
    const list = [...decisions].map(([uri, decision]) => ({ uri, decision }));
    for (const uri of autoClears()) list.push({ uri, decision: 'clear' });
    if (list.length === 0) return;
    const button = $('submit-decisions');
    button.disabled = true;
    try {
      const r = await call(`/admin/review/${encodeURIComponent(batchId)}/submit`, { method: 'POST', body: Admin.by({ decisions: list }, 'decided_by') });
      toast(r.status === 'completed' ? `${r.message}. The batch is completed.` : `${r.message}.`);
      await load();
    } catch (e) {
      button.disabled = false;
      failed(e);
    }
  });

  handleAuth = Admin.setupAuth({
    // A real admin call that checks the key; the batch itself is loaded once signed in.
    probe: (k) => call('/admin/partials/stats', { withKey: k }),
    onReady: () => {
      load().catch((e) => {
        if (handleAuth(e)) return;
        const p = document.createElement('p');
        p.className = 'notice';
        p.textContent = e.message;
        $('batch').replaceChildren(p);
      });
    },
    onSignOut: () => {
      decisions.clear();
      $('batch').replaceChildren();
      $('submit-bar').hidden = true;
    },
  });
})();
