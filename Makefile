# Sluice: `make up` runs the platform, `make test` proves it. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(abspath .)

.PHONY: help deps build lint up down test bench clean

help: ## List the targets.
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 10

deps: ## Install Debian packages, the embedded broker and librdkafka 2.16 when missing (idempotent).
	@bash scripts/deps.sh

build: deps ## Build; the CLI is then bin/sluice.
	swift build
	@mkdir -p bin && ln -sfn ../.build/debug/sluice bin/sluice

up: build ## Run the platform on the embedded broker (127.0.0.1:9092) until Ctrl-C.
	bin/sluice up

down: ## Stop whatever `make up` left running.
	@if [ -x bin/sluice ]; then bin/sluice down; \
	else for f in .run/*.pid; do [ -f "$$f" ] && kill "$$(cat "$$f")" 2>/dev/null; rm -f "$$f"; done; echo "stopped"; fi

lint: ## Formatting (swift format, .swift-format) and the module graph of docs/architecture.md.
	swift format lint --strict --recursive --parallel Package.swift Sources Tests
	python3 scripts/check-modules.py

test: build lint ## Build and run every test (bounded: a hang prints every thread's stack); the suite starts its own broker.
	swift build --build-tests
	SLUICE_BIN=$(ROOT)/.build/debug/sluice scripts/run-tests.sh

clean: ## Remove build output and fetched dependencies.
	rm -rf .build bin .deps .run

bench: ## Benchmarks (release build) in one table, saved to bench/results/ (compare runs: sluice bench compare A B).
	@SLUICE_EXTRA_APT="$${SLUICE_EXTRA_APT:-} kcat" bash scripts/deps.sh
	swift build -c release
	.build/release/sluice bench all --save
