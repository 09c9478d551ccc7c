# make run  — install missing system packages, build, start the labeler on ./data
# make test — install missing system packages, run every test
SHELL := /bin/bash
APT_PACKAGES := liblmdb-dev libsecp256k1-dev libssl-dev pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DATA_DIR ?= data
ARGS ?=

.PHONY: deps build run test bench soak clean

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

test: deps
	swift test

bench: deps
	cd Benchmarks && swift package --disable-sandbox benchmark

clean:
	rm -rf .build Benchmarks/.build
