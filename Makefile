# make run  — install missing system packages, build, start the labeler on ./data
# make test — install missing system packages, run every test (Swift, then the Python interop tests)
# make interop — only the Python interop tests (tests/interop) against .build/debug/labeler
# make ui-test — only the admin UI's browser tests (tests/ui: headless Chromium + Selenium)
# make ui-screenshots — the browser tests, writing docs/screenshots/*.png
SHELL := /bin/bash
APT_PACKAGES := liblmdb-dev libsecp256k1-dev libssl-dev pkg-config
# Only the tests need a browser: `make run` does not install it.
UI_APT_PACKAGES := chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DATA_DIR ?= data
ARGS ?=
PY_VENV := .venv
PY_PACKAGES := atproto==0.0.73 pytest websockets selenium==4.51.0
LABELER_BIN ?= .build/debug/labeler
INTEROP = swift build --product labeler && LABELER_BIN=$(LABELER_BIN) $(PY_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/interop
UI_TESTS = swift build --product labeler && LABELER_BIN=$(LABELER_BIN) $(PY_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/ui

.PHONY: deps deps-ui build run test interop ui-test ui-screenshots bench soak clean

# Installs the Debian packages of $(1) that are missing.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES))

deps-ui:
	$(call apt_install,$(UI_APT_PACKAGES))

build: deps
	swift build -c release --product labeler

run: build
	.build/release/labeler serve --data-dir $(DATA_DIR) $(ARGS)

# The venv needs ensurepip; Debian ships it in python3-venv (and python3.X-venv).
$(PY_VENV)/.ready: Makefile
	@python3 -m venv $(PY_VENV) 2>/dev/null || { \
		rm -rf $(PY_VENV); v=$$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		echo "installing: python3-venv"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python$$v-venv 2>/dev/null || true; \
		python3 -m venv $(PY_VENV); }
	$(PY_VENV)/bin/python -m pip install -q --disable-pip-version-check $(PY_PACKAGES)
	touch $@

test: deps deps-ui $(PY_VENV)/.ready
	swift test
	$(INTEROP)
	$(UI_TESTS)

interop: deps $(PY_VENV)/.ready
	$(INTEROP)

ui-test: deps deps-ui $(PY_VENV)/.ready
	$(UI_TESTS)

ui-screenshots: deps deps-ui $(PY_VENV)/.ready
	UI_SCREENSHOTS=docs/screenshots $(UI_TESTS)

bench: deps
	cd Benchmarks && swift package --disable-sandbox benchmark

clean:
	rm -rf .build Benchmarks/.build
