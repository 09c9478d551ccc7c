# make run  — install missing system packages, build, start the labeler on ./data
# make test — install missing system packages, run every test (Swift; then the Python interop, browser and reliability tests)
# make interop — only the Python interop tests (tests/interop) against .build/debug/labeler
# make reliability — only the reliability tests (tests/reliability: SIGKILL, SIGTERM, hostile subscribers, full disk)
# make soak — the long versions of the reliability tests and of the fuzzers (SOAK=1; see RELIABILITY.md)
# make fuzz — libFuzzer over the DAG-CBOR, label and frame parsers for FUZZ_SECONDS (default 60)
# make ui-test — only the admin UI's browser tests (tests/ui: headless Chromium + Selenium)
# make ui-screenshots — the browser tests, writing docs/screenshots/*.png
SHELL := /bin/bash
APT_PACKAGES := liblmdb-dev libsecp256k1-dev libssl-dev pkg-config sox ffmpeg libchromaprint-tools
# Only the tests need a browser: `make run` does not install it.
UI_APT_PACKAGES := chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DATA_DIR ?= data
ARGS ?=
PY_VENV := .venv
PY_PACKAGES := atproto==0.0.73 pytest websockets selenium==4.51.0
LABELER_BIN ?= .build/debug/labeler
INTEROP = swift build --product labeler && LABELER_BIN=$(LABELER_BIN) $(PY_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/interop
RELIABILITY = swift build --product labeler && LABELER_BIN=$(LABELER_BIN) $(PY_VENV)/bin/python -m pytest -q -s -p no:cacheprovider tests/reliability
UI_TESTS = swift build --product labeler && LABELER_BIN=$(LABELER_BIN) $(PY_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/ui
FUZZ_SECONDS ?= 60

.PHONY: deps deps-ui build run test interop reliability ui-test ui-screenshots bench soak fuzz clean

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

# CI shows only the end of the output: a failing Swift test run ends with its failures repeated.
SWIFT_TEST = set -o pipefail; mkdir -p .build; swift test 2>&1 | tee .build/swift-test.log || { \
	echo; echo "==== Swift test failures (from .build/swift-test.log) ===="; \
	grep -E -A3 "recorded an issue|error:" .build/swift-test.log | head -80; grep -E "^✘ (Test|Suite)" .build/swift-test.log | tail -20; exit 1; }

test: deps deps-ui $(PY_VENV)/.ready
	$(SWIFT_TEST)
	$(INTEROP)
	$(UI_TESTS)
	$(RELIABILITY)

interop: deps $(PY_VENV)/.ready
	$(INTEROP)

reliability: deps $(PY_VENV)/.ready
	$(RELIABILITY)

soak: export SOAK := 1
soak: deps $(PY_VENV)/.ready
	FUZZ_ITERATIONS=1000000 HOSTILE_REQUESTS_PER_ROUTE=1500 swift test --filter 'FuzzTests|HostileInputTests'
	$(RELIABILITY)
	$(MAKE) fuzz FUZZ_SECONDS=600

fuzz: deps
	cd Fuzz && swift build -c release --sanitize=fuzzer --product LabelerFuzz
	mkdir -p Fuzz/.work/corpus
	Fuzz/.build/release/LabelerFuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=5 \
		-artifact_prefix=Fuzz/.work/ Fuzz/.work/corpus Fuzz/corpus

ui-test: deps deps-ui $(PY_VENV)/.ready
	$(UI_TESTS)

ui-screenshots: deps deps-ui $(PY_VENV)/.ready
	UI_SCREENSHOTS=docs/screenshots $(UI_TESTS)

bench: deps
	cd Benchmarks && swift package --disable-sandbox benchmark

clean:
	rm -rf .build Benchmarks/.build Fuzz/.build Fuzz/.work
