# make run  — install missing system packages, build, start the labeler on ./data
# make test — install missing system packages, run every test (Swift, then the Python interop tests)
# make interop — only the Python interop tests (tests/interop) against .build/debug/labeler
SHELL := /bin/bash
APT_PACKAGES := liblmdb-dev libsecp256k1-dev libssl-dev pkg-config sox ffmpeg libchromaprint-tools
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DATA_DIR ?= data
ARGS ?=
PY_VENV := .venv
PY_PACKAGES := atproto==0.0.73 pytest websockets
LABELER_BIN ?= .build/debug/labeler
INTEROP = swift build --product labeler && LABELER_BIN=$(LABELER_BIN) $(PY_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/interop

.PHONY: deps build run test interop bench soak clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

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

test: deps $(PY_VENV)/.ready
	swift test
	$(INTEROP)

interop: deps $(PY_VENV)/.ready
	$(INTEROP)

bench: deps
	cd Benchmarks && swift package --disable-sandbox benchmark

clean:
	rm -rf .build Benchmarks/.build
