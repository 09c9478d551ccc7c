"""The admin dashboard and the batch review page, in headless Chromium against the real binary.

Run: `make ui-test` (or LABELER_BIN=.build/debug/labeler .venv/bin/python -m pytest -q tests/ui).
"""

import urllib.parse

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import (DESKTOP, PHONE, Labeler, console_errors, dom_id, gone, save_png, sign_in,
                      sign_out_if_needed, tap, viewport, visible, wait)

XSS_TITLE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">Track & "Co"'


def track(did: str, rkey: str, collection: str = 'fm.plyr.track') -> str:
    return f'at://{did}/{collection}/{rkey}'


def flags_json(labeler: Labeler, state: str):
    return labeler.call('GET', f'/admin/flags?filter={state}')['tracks']


def test_pages_send_a_strict_csp(labeler):
    for path in ('/admin', '/admin/review/abcdefghijklmnopqrstuvwxyz'):
        status, headers, body = labeler.request('GET', path, admin=False)
        assert status == 200
        csp = headers['Content-Security-Policy']
        for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
            assert directive in csp, csp
        assert 'unsafe-inline' not in csp
        assert headers['X-Content-Type-Options'] == 'nosniff'
        assert headers['Referrer-Policy'] == 'no-referrer'
        assert b'<script>' not in body, 'no inline script'


def test_sign_in_rejects_a_wrong_key_then_accepts_the_right_one(browser, labeler):
    viewport(browser, DESKTOP)
    sign_out_if_needed(browser, labeler)
    browser.get(labeler.base + '/admin')
    field = visible(browser, '#admin-key')
    assert field.get_attribute('type') == 'password'
    assert not browser.find_element(By.ID, 'signin-error').is_displayed(), 'no error before any attempt'

    field.send_keys('this-is-not-the-admin-key')
    browser.find_element(By.ID, 'signin-submit').click()
    error = visible(browser, '#signin-error')
    assert 'Wrong admin key' in error.text
    assert not browser.find_element(By.ID, 'app').is_displayed()
    assert browser.execute_script("return localStorage.getItem('labeler.adminKey')") is None

    # A name the labeler would refuse is caught here, not at the first decision.
    field = browser.find_element(By.ID, 'admin-key')
    field.clear()
    field.send_keys(labeler.token)
    name = browser.find_element(By.ID, 'operator-name')
    name.send_keys('é' * 130)                      # 130 characters, 260 bytes
    browser.find_element(By.ID, 'signin-submit').click()
    assert 'too long' in visible(browser, '#signin-error').text
    assert not browser.find_element(By.ID, 'app').is_displayed()
    name.clear()

    browser.find_element(By.ID, 'signin-submit').click()
    visible(browser, '#app')
    head = labeler.call('GET', '/health', admin=False)['head']
    stat = visible(browser, '[data-stat="head"]')
    assert int(stat.text) >= head
    assert browser.execute_script("return localStorage.getItem('labeler.adminKey')") == labeler.token
    assert labeler.token not in browser.current_url

    # A reload signs in from storage, without asking again.
    browser.refresh()
    visible(browser, '#app')
    assert not browser.find_element(By.ID, 'signin').is_displayed()

    # Sign out forgets the key.
    browser.find_element(By.ID, 'sign-out').click()
    visible(browser, '#signin')
    assert browser.execute_script("return localStorage.getItem('labeler.adminKey')") is None
    assert not browser.find_element(By.ID, 'app').is_displayed()


def test_resolve_a_pending_flag_as_a_false_positive(browser, labeler):
    uri = labeler.flag(track('did:plc:fpartist', 'fp1'), track_id=101, track_title='Sunday Loop',
                       artist_handle='loops.example.com', highest_score=0.82,
                       matches=[{'title': 'Sunday Morning', 'artist': 'Old Band', 'score': 0.82}])
    viewport(browser, DESKTOP)
    sign_in(browser, labeler, operator='Ana Lima')
    assert visible(browser, '#operator').text == 'as Ana Lima'
    card = visible(browser, f'#{dom_id(uri)}')
    assert 'Sunday Loop' in card.text and '@loops.example.com' in card.text and '82%' in card.text
    link = card.find_element(By.CSS_SELECTOR, '.track-title a')
    assert link.get_attribute('href') == 'https://plyr.fm/track/101'
    browser.execute_script('window.__samePage = true')

    card.find_element(By.CSS_SELECTOR, '[data-action="resolve"]').click()
    dialog = visible(browser, '#resolve-dialog')
    assert 'Sunday Loop' in dialog.find_element(By.ID, 'resolve-subject').text
    browser.find_element(By.ID, 'resolve-submit').click()
    assert 'Choose a reason' in visible(browser, '#resolve-error').text, 'a reason is required'

    dialog.find_element(By.CSS_SELECTOR, 'input[name="reason"][value="original_artist"]').click()
    browser.find_element(By.ID, 'resolve-notes').send_keys('the uploader is the band')
    browser.find_element(By.ID, 'resolve-submit').click()
    gone(browser, f'#flags #{dom_id(uri)}')          # leaves the pending list
    assert 'Resolved as original artist' in visible(browser, '#toast').text

    browser.find_element(By.CSS_SELECTOR, '[data-flag-filter="resolved"]').click()
    card = visible(browser, f'#{dom_id(uri)}')
    assert card.get_attribute('data-state') == 'resolved'
    assert 'original artist' in card.text and 'the uploader is the band' in card.text
    assert not card.find_elements(By.CSS_SELECTOR, '[data-action="resolve"]')
    assert browser.execute_script('return window.__samePage') is True, 'no full page reload'

    # The negation is real: the flag is resolved and the label negated.
    resolved = [f for f in flags_json(labeler, 'resolved') if f['uri'] == uri]
    assert resolved and resolved[0]['resolution']['reason'] == 'original_artist'
    q = urllib.parse.quote(uri, safe='')
    labels = labeler.call('GET', f'/xrpc/com.atproto.label.queryLabels?uriPatterns={q}', admin=False)['labels']
    assert any(label.get('neg') for label in labels)

    # Its whole story, from the log.
    card.find_element(By.CSS_SELECTOR, '[data-action="history"]').click()
    visible(browser, '#history .timeline')
    story = browser.find_element(By.ID, 'history').text
    for line in ('label applied: copyright-violation', 'context attached', 'label negated: copyright-violation',
                 'flag resolved: original_artist'):
        assert line in story, story
    # Who decided: the name given at sign-in is the actor of the negation and the resolution.
    entries = browser.find_elements(By.CSS_SELECTOR, '#history .timeline li')
    decided = [e.text for e in entries if 'label negated' in e.text or 'flag resolved' in e.text]
    assert len(decided) == 2 and all('admin:Ana Lima' in e for e in decided), decided
    browser.find_element(By.CSS_SELECTOR, '#history-dialog [data-close-dialog]').click()


def test_review_a_batch_on_a_phone(browser, labeler, screenshots):
    uris = [labeler.flag(track('did:plc:reviewer', f'rv{i}'), track_title=f'Phone Track {i}', artist_handle=f'artist{i}.example.com',
                         highest_score=0.5 + i / 10, matches=[{'title': f'Hit {i}', 'artist': f'Star {i}', 'score': 0.5 + i / 10}])
            for i in range(3)]
    batch = labeler.call('POST', '/admin/batches', {'uris': uris, 'created_by': 'ui-test'})
    viewport(browser, PHONE, mobile=True)
    sign_in(browser, labeler, batch['url'], operator='Bo')
    visible(browser, '.batch')
    bar = visible(browser, '#submit-bar')
    button = browser.find_element(By.ID, 'submit-decisions')
    assert not button.is_enabled()

    for uri, decision in zip(uris, ('clear', 'defer', 'confirm')):
        card = visible(browser, f'#{dom_id(uri)}')
        tap(browser, card.find_element(By.CSS_SELECTOR, f'button[data-decision="{decision}"]'))
        assert card.find_element(By.CSS_SELECTOR, f'button[data-decision="{decision}"]').get_attribute('aria-pressed') == 'true'
    # Clicking a chosen toggle again takes the decision back.
    again = browser.find_element(By.CSS_SELECTOR, f'#{dom_id(uris[1])} button[data-decision="defer"]')
    tap(browser, again)
    assert browser.find_element(By.ID, 'decision-count').text == '2 of 3 decided'
    tap(browser, again)
    assert browser.find_element(By.ID, 'decision-count').text == '3 of 3 decided'
    assert button.text == 'Submit 3 decisions' and button.is_enabled()

    # Laid out for the phone: no sideways scrolling, the bar pinned to the bottom of the screen.
    layout = browser.execute_script(
        'const r = document.getElementById("submit-bar").getBoundingClientRect();'
        'return {scroll: document.documentElement.scrollWidth, inner: innerWidth, h: innerHeight,'
        ' bottom: r.bottom, top: r.top, pos: getComputedStyle(document.getElementById("submit-bar")).position};')
    assert layout['inner'] == PHONE[0] and layout['h'] == PHONE[1], layout
    assert layout['scroll'] <= PHONE[0], f'horizontal overflow: {layout}'
    assert layout['pos'] == 'fixed' and abs(layout['bottom'] - PHONE[1]) < 1, layout
    for b in browser.find_elements(By.CSS_SELECTOR, 'button[data-decision]'):
        assert b.size['height'] >= 44, 'thumb-sized toggles'
    browser.execute_script('window.scrollTo(0, 0)')
    save_png(browser, screenshots / 'review-phone.png', PHONE)

    button.click()
    visible(browser, '#batch-status')
    wait(browser, lambda d: d.find_element(By.ID, 'batch-status').text == 'completed', what='batch completed')
    assert not bar.is_displayed(), 'nothing left to submit'
    assert 'The batch is completed' in visible(browser, '#toast').text
    assert not browser.find_elements(By.CSS_SELECTOR, 'button[data-decision]')

    data = labeler.call('GET', f'/admin/review/{batch["id"]}/data')
    assert data['status'] == 'completed'
    status, _, raw = labeler.request('GET', '/admin/partials/history?uri=' + urllib.parse.quote(uris[0], safe=''), None, True)
    history = raw.decode()
    assert status == 200 and 'review decision in batch' in history and 'admin:Bo' in history, 'the decisions carry the reviewer\'s name'
    assert {f['uri']: f['decision'] for f in data['flags']} == dict(zip(uris, ('clear', 'defer', 'confirm')))
    by_uri = {f['uri']: f for f in flags_json(labeler, 'all')}
    assert by_uri[uris[0]]['state'] == 'resolved' and by_uri[uris[2]]['state'] == 'confirmed'

    # The folded section lists them, opened once the batch is done.
    folded = browser.find_element(By.CSS_SELECTOR, 'details.folded')
    assert folded.get_attribute('open') is not None and '3 decided or resolved' in folded.text


def test_a_script_in_a_title_is_only_text(browser, labeler):
    uri = labeler.flag(track('did:plc:xssartist', 'xss1'), track_title=XSS_TITLE,
                       artist_handle='"><script>window.__xss=3</script>', highest_score=0.9,
                       matches=[{'title': '<img src=x onerror="window.__xss=4">', 'artist': '<b>bold</b>', 'score': 0.9}])
    batch = labeler.call('POST', '/admin/batches', {'uris': [uri]})
    viewport(browser, DESKTOP)
    for path in ('/admin', batch['url']):
        sign_in(browser, labeler, path)
        card = visible(browser, f'#{dom_id(uri)}')
        assert card.find_element(By.CSS_SELECTOR, '.track-title').text == XSS_TITLE.replace('  ', ' ')
        assert card.find_element(By.CSS_SELECTOR, '.match-title').text == '<img src=x onerror="window.__xss=4">'
        assert '@"><script>window.__xss=3</script>' in card.text
        assert not card.find_elements(By.CSS_SELECTOR, 'script, img, b'), 'no element was made from the values'
        assert browser.execute_script('return window.__xss === undefined')
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text


def test_reports_and_sensitive_images(browser, labeler):
    report = labeler.call('POST', '/xrpc/com.atproto.moderation.createReport', {
        'reasonType': 'com.atproto.moderation.defs#reasonSpam', 'reason': 'posting the same track again and again',
        'subject': {'did': 'did:plc:spammer1'}}, admin=False)
    viewport(browser, DESKTOP)
    sign_in(browser, labeler)
    browser.find_element(By.ID, 'tab-reports').click()
    card = visible(browser, f'#report-{report["id"]}')
    assert 'posting the same track again and again' in card.text and 'did:plc:spammer1' in card.text
    Select(card.find_element(By.NAME, 'status')).select_by_value('dismissed')
    card.find_element(By.NAME, 'admin_notes').send_keys('not spam')
    card.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    gone(browser, f'#report-{report["id"]}')
    browser.find_element(By.CSS_SELECTOR, '[data-report-filter="dismissed"]').click()
    assert 'not spam' in visible(browser, f'#report-{report["id"]}').text

    browser.find_element(By.ID, 'tab-images').click()
    visible(browser, '#image-add')
    browser.find_element(By.ID, 'image-add-url').send_keys('javascript:alert(1)')
    browser.find_element(By.CSS_SELECTOR, '#image-add button[type="submit"]').click()
    assert 'http(s)' in visible(browser, '#image-add-error').text, 'refused by the labeler'
    browser.find_element(By.ID, 'image-add-url').clear()
    browser.find_element(By.ID, 'image-add-url').send_keys('https://cdn.example.com/cover.jpg')
    browser.find_element(By.ID, 'image-add-reason').send_keys('nudity')
    browser.find_element(By.CSS_SELECTOR, '#image-add button[type="submit"]').click()
    link = visible(browser, '#images a[href="https://cdn.example.com/cover.jpg"]')
    card = link.find_element(By.XPATH, './ancestor::article')
    card_id = card.get_attribute('id')
    assert labeler.call('GET', '/sensitive-images', admin=False)['urls'] == ['https://cdn.example.com/cover.jpg']
    card.find_element(By.CSS_SELECTOR, '[data-action="image-remove"]').click()
    gone(browser, f'#{card_id}')
    assert labeler.call('GET', '/sensitive-images', admin=False)['urls'] == []


def test_spend_numbers_and_the_known_content_tab(browser, labeler):
    viewport(browser, DESKTOP)
    sign_in(browser, labeler)
    costs = labeler.call('GET', '/admin/costs')
    assert int(visible(browser, '[data-stat="billed"]').text) == costs['billed_requests']
    assert visible(browser, '[data-stat="usd"]').text.startswith('$')
    browser.find_element(By.ID, 'tab-known').click()
    meta = visible(browser, '#known .list-meta')
    assert 'borderline known-content match' in meta.text
    assert not browser.find_element(By.ID, 'panel-flags').is_displayed()
    # A judgement button calls the labeler with the key and shows its answer: here a card for a
    # match the labeler never recorded (a real one needs audio and a scan: the Swift tests do that).
    browser.execute_script(
        "const a = document.createElement('article'); a.className = 'card known-card';"
        "const d = document.createElement('div'); d.className = 'card-actions';"
        "const b = document.createElement('button'); b.type = 'button'; b.dataset.knownAction = 'dismiss'; b.dataset.seq = '987654';"
        "b.textContent = 'Not this work: dismiss'; d.append(b); a.append(d); document.getElementById('known').append(a);")
    browser.find_element(By.CSS_SELECTOR, '#known button[data-seq="987654"]').click()
    toast = visible(browser, '#toast')
    wait(browser, lambda d: 'no known-content match was recorded at seq 987654' in toast.text, what='the labeler\'s answer')
    assert 'error' in toast.get_attribute('class')
    errors = [m for m in console_errors(browser) if 'favicon' not in m]
    assert not [m for m in errors if 'Content Security Policy' in m or 'Uncaught' in m], errors


def test_the_key_stays_out_of_urls_and_nothing_breaks_the_csp(browser, labeler):
    viewport(browser, DESKTOP)
    sign_in(browser, labeler)
    visible(browser, '#flags .list-meta')
    urls = browser.execute_script('return performance.getEntriesByType("resource").map(e => e.name).concat([location.href])')
    assert urls and not [u for u in urls if labeler.token in u or urllib.parse.quote(labeler.token) in u]
    errors = [m for m in console_errors(browser) if 'favicon' not in m]
    assert not [m for m in errors if 'Content Security Policy' in m or 'Refused' in m], errors
    assert not [m for m in errors if 'Uncaught' in m], errors


def test_screenshots(browser, screenshots):
    """The dashboard and the review page at desktop and phone sizes, on a labeler with a
    realistic handful of flags (written to docs/screenshots by `make ui-screenshots`)."""
    showcase = Labeler()
    try:
        seed = [
            ('midnight', 'Midnight Drive (edit)', 'nightshift.example.com', 0.91,
             [('Midnight City', 'M83', 0.91), ('Drive', 'Incubus', 0.12)]),
            ('summer', 'summer tape #4', 'beachhouse.example.com', 0.64,
             [('Space Song', 'Beach House', 0.64), ('Myth', 'Beach House', 0.31), ('Lazuli', 'Beach House', 0.18),
              ('Silver Soul', 'Beach House', 0.09)]),
            ('setlive', 'Live set @ warehouse', 'djkoi.example.com', 0.47,
             [('Windowlicker', 'Aphex Twin', 0.47), ('Xtal', 'Aphex Twin', 0.22)]),
            ('cover', 'Hallelujah (cover)', 'quietvoice.example.com', 0.55, [('Hallelujah', 'Leonard Cohen', 0.55)]),
        ]
        uris = []
        for i, (rkey, title, handle, score, matches) in enumerate(seed):
            uris.append(showcase.flag(track('did:plc:showcase' + str(i), rkey), track_id=1000 + i, track_title=title,
                                      artist_handle=handle, highest_score=score,
                                      matches=[{'title': t, 'artist': a, 'score': s} for t, a, s in matches]))
        showcase.call('POST', '/admin/resolve', {'uri': uris[3], 'reason': 'cover_version', 'notes': 'credited cover'})
        batch = showcase.call('POST', '/admin/batches', {'uris': uris[:3], 'created_by': 'moderation-loop'})

        for size, mobile, suffix in ((DESKTOP, False, 'desktop'), (PHONE, True, 'phone')):
            viewport(browser, size, mobile)
            sign_in(browser, showcase, operator='Ana Lima')
            visible(browser, f'#{dom_id(uris[0])}')
            visible(browser, '[data-stat="head"]')
            save_png(browser, screenshots / f'dashboard-{suffix}.png', size)

        viewport(browser, DESKTOP)
        sign_in(browser, showcase, batch['url'])
        card = visible(browser, f'#{dom_id(uris[0])}')
        tap(browser, card.find_element(By.CSS_SELECTOR, 'button[data-decision="clear"]'))
        tap(browser, browser.find_element(By.CSS_SELECTOR, f'#{dom_id(uris[1])} button[data-decision="confirm"]'))
        browser.execute_script('window.scrollTo(0, 0)')
        save_png(browser, screenshots / 'review-desktop.png', DESKTOP)
        assert not [m for m in console_errors(browser) if 'Content Security Policy' in m]
    finally:
        viewport(browser, DESKTOP)
        showcase.close()
    for name in ('dashboard-desktop', 'dashboard-phone', 'review-desktop', 'review-phone'):
        if name == 'review-phone' and not (screenshots / f'{name}.png').exists():
            continue  # written by test_review_a_batch_on_a_phone when it runs
        assert (screenshots / f'{name}.png').stat().st_size > 5000, name
