"""Browser tests of the admin UI: the real labeler binary on a temporary data directory, driven
by Debian's Chromium (headless) through chromedriver and Selenium.

Data is seeded through the labeler's own HTTP API (/emit-label, /admin/context, /admin/batches,
createReport), never by touching its files.

Environment:
  LABELER_BIN      the labeler binary (default .build/debug/labeler)
  CHROMIUM         the browser (default: chromium on PATH, else /usr/bin/chromium)
  CHROMEDRIVER     the driver (default /usr/bin/chromedriver)
  UI_SCREENSHOTS   where to write the screenshots (default: a temporary directory; `make
                   ui-screenshots` sets docs/screenshots)
"""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import typing as t
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

REPO_ROOT = Path(__file__).resolve().parents[2]
LABELER_BIN = Path(os.environ.get('LABELER_BIN', REPO_ROOT / '.build' / 'debug' / 'labeler'))
if not LABELER_BIN.is_absolute():
    LABELER_BIN = REPO_ROOT / LABELER_BIN
CHROMIUM = os.environ.get('CHROMIUM') or shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = os.environ.get('CHROMEDRIVER') or '/usr/bin/chromedriver'

DESKTOP = (1280, 900)
PHONE = (390, 844)
WAIT = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def dom_id(uri: str) -> str:
    """The element id the labeler gives a flag's card (FlagView.domId)."""
    return 'flag-' + hashlib.sha256(uri.encode()).hexdigest()[:16]


class Labeler:
    """One `labeler serve` process on a temporary data directory and a free port."""

    def __init__(self) -> None:
        if not LABELER_BIN.exists():
            pytest.fail(f'labeler binary not found at {LABELER_BIN}: run `swift build --product labeler` or set LABELER_BIN')
        self.dir = Path(tempfile.mkdtemp(prefix='labeler-ui-'))
        self.port = free_port()
        self.base = f'http://127.0.0.1:{self.port}'
        env = {k: v for k, v in os.environ.items() if not k.startswith(('LABELER_', 'MODERATION_', 'AUDD_'))}
        self._log = open(self.dir / 'server.log', 'wb')
        self.proc = subprocess.Popen(
            [str(LABELER_BIN), 'serve', '--data-dir', str(self.dir / 'data'), '--host', '127.0.0.1', '--port', str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=self.dir)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f'labeler exited with {self.proc.returncode}:\n{self.log()}')
            try:
                with urllib.request.urlopen(self.base + '/health', timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.close()
                pytest.fail(f'labeler not healthy in 20 s:\n{self.log()}')
            time.sleep(0.1)
        self.token = (self.dir / 'data' / 'admin-token').read_text().strip()

    def log(self) -> str:
        self._log.flush()
        return (self.dir / 'server.log').read_text(errors='replace')

    def request(self, method: str, path: str, body: t.Any = None, admin: bool = True) -> t.Tuple[int, t.Dict[str, str], bytes]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        if admin:
            req.add_header('X-Moderation-Key', self.token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def call(self, method: str, path: str, body: t.Any = None, admin: bool = True) -> t.Dict[str, t.Any]:
        status, _, raw = self.request(method, path, body, admin)
        assert status == 200, f'{method} {path} {body} -> {status} {raw!r}'
        return json.loads(raw)

    def flag(self, uri: str, **context: t.Any) -> str:
        """A copyright flag (a signed label) with its display context."""
        self.call('POST', '/emit-label', {'uri': uri, 'val': 'copyright-violation'})
        if context:
            self.call('POST', '/admin/context', {'uri': uri, **context})
        return uri

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope='session')
def labeler() -> t.Iterator[Labeler]:
    server = Labeler()
    yield server
    server.close()


@pytest.fixture(scope='session')
def browser() -> t.Iterator[webdriver.Chrome]:
    if not Path(CHROMEDRIVER).exists():
        pytest.fail(f'chromedriver not found at {CHROMEDRIVER}: install Debian chromium-driver (make deps-ui)')
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--hide-scrollbars',
                f'--window-size={DESKTOP[0]},{DESKTOP[1]}', '--force-device-scale-factor=1', '--lang=en-US',
                '--disable-extensions', '--no-first-run', '--password-store=basic'):
        opts.add_argument(arg)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


@pytest.fixture(scope='session')
def screenshots() -> t.Iterator[Path]:
    target = os.environ.get('UI_SCREENSHOTS')
    if target:
        path = Path(target) if Path(target).is_absolute() else REPO_ROOT / target
        path.mkdir(parents=True, exist_ok=True)
        yield path
    else:
        tmp = Path(tempfile.mkdtemp(prefix='labeler-ui-shots-'))
        yield tmp
        shutil.rmtree(tmp, ignore_errors=True)


# --- helpers the tests share -----------------------------------------------------------------

def viewport(driver: webdriver.Chrome, size: t.Tuple[int, int], mobile: bool = False) -> None:
    """An exact CSS viewport (the window size alone would include the browser's frame)."""
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {
        'width': size[0], 'height': size[1], 'deviceScaleFactor': 1, 'mobile': mobile,
    })


def wait(driver: webdriver.Chrome, condition: t.Callable[[t.Any], t.Any], timeout: float = WAIT, what: str = '') -> t.Any:
    return WebDriverWait(driver, timeout).until(condition, what)


def visible(driver: webdriver.Chrome, css: str, timeout: float = WAIT):
    return wait(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f'{css} visible')


def gone(driver: webdriver.Chrome, css: str, timeout: float = WAIT) -> None:
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, css), timeout, f'{css} gone')


def sign_out_if_needed(driver: webdriver.Chrome, labeler: Labeler) -> None:
    """A clean browser state for this labeler: no stored key."""
    driver.get(labeler.base + '/admin')
    driver.execute_script('localStorage.clear()')


def sign_in(driver: webdriver.Chrome, labeler: Labeler, path: str = '/admin', operator: str | None = None) -> None:
    """Signs in (a stored key signs in by itself). With `operator`, signs in afresh under that name."""
    if operator is not None:
        sign_out_if_needed(driver, labeler)
    driver.get(labeler.base + path)
    # A stored key signs in by itself; until its check answers, neither part is shown.
    shown = wait(driver, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, '#app, #signin') if e.is_displayed()), False),
                 what='the app or the sign-in form')
    if shown.get_attribute('id') == 'app':
        return
    field = visible(driver, '#admin-key')
    field.clear()
    field.send_keys(labeler.token)
    if operator is not None:
        name = driver.find_element(By.ID, 'operator-name')
        name.clear()
        name.send_keys(operator)
    driver.find_element(By.ID, 'signin-submit').click()
    visible(driver, '#app')


def tap(driver: webdriver.Chrome, element) -> None:
    """Scrolls an element to the middle of the screen, as a person would, then clicks it (the
    driver's own scrolling would leave it under the review page's fixed submit bar)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def console_errors(driver: webdriver.Chrome) -> t.List[str]:
    """Browser console messages at SEVERE level (CSP refusals and script errors land here)."""
    return [e['message'] for e in driver.get_log('browser') if e.get('level') == 'SEVERE']


def save_png(driver: webdriver.Chrome, path: Path, size: t.Tuple[int, int]) -> None:
    assert driver.save_screenshot(str(path)), f'screenshot {path} failed'
    data = path.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', f'{path} is not a PNG'
    width, height = int.from_bytes(data[16:20], 'big'), int.from_bytes(data[20:24], 'big')
    assert (width, height) == size, f'{path} is {width}x{height}, expected {size}'
