# Skiff's front door. `make help` lists the targets.
# Every target runs with the pinned Node.js that scripts/setup.sh installs in .toolchain/.

SHELL := /bin/bash
NODE_DIR := $(CURDIR)/.toolchain/node
export PATH := $(NODE_DIR)/bin:$(CURDIR)/node_modules/.bin:$(PATH):/usr/local/go/bin


.DEFAULT_GOAL := help
.PHONY: help setup setup-test build ts native proto check-proto lint typecheck test unit critest \
	root-tests tools run clean bench-runtime bench-pull bench-cri bench-operator \
	bench-stream crds

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

setup: ## install what `make run` needs (Debian packages, Node.js 24, npm deps); idempotent
	@scripts/setup.sh run

setup-test: ## install what `make test` needs as well (registry, busybox, peers for benchmarks)
	@scripts/setup.sh test

build: setup ts native ## build everything: TypeScript to dist/ and the native skiff-shim

ts:
	@tsc -b
	@scripts/prune-dist.sh

native: ## build the C program skiff-shim into cri/native/build/
	@$(MAKE) -s -C cri/native

proto: setup ## vendor the CRI api.proto from the Go module proxy and regenerate TS types
	@scripts/proto.sh fetch
	@scripts/proto.sh generate

check-proto: setup ## fail if the vendored CRI proto or the generated types drifted
	@scripts/proto.sh check

lint: setup ## eslint (import direction grpc → services → core, no cycles) and prettier
	@eslint --max-warnings 0 .
	@prettier --check --log-level warn .
	@tsc -b && node dist/operator/src/apis/v1alpha1/gen-crds.js --check

typecheck: setup ## tsc without emitting
	@tsc -p tsconfig.json --noEmit

tools: ## build and cache the pinned Go tools (crictl, critest, kube-*, etcd)
	@e2e/tools/build-tools.sh

test: setup-test build ## set-up for tests, then every test (lint, proto check, critest, unit, root, e2e)
	@e2e/tools/build-tools.sh crictl critest etcd kube-apiserver kube-controller-manager kubectl
	@$(MAKE) -s lint check-proto
	@node dist/e2e/critest/run.js
	@scripts/run-tests.sh

critest: build ## critest v1.37.0 against skiff-cri with offline images (~1 min)
	@e2e/tools/build-tools.sh critest
	@node dist/e2e/critest/run.js

unit: build ## only the unit tests (no root, no daemons)
	@scripts/run-tests.sh --testPathIgnorePatterns '\.root\.test\.js$$' 'dist/e2e/'

bench-pull: setup-test build ## cold CRI pulls (busybox, 140 MB/5 layers), skiff-cri vs containerd 1.6; RSS (RUNS=5)
	@node dist/e2e/bench/pull.js

bench-cri: setup-test build ## CRI lifecycle RPCs, 100 concurrent pods, ListContainers at 100/1,000, RSS: skiff-cri vs containerd 1.6 (RUNS=10 COUNT=100)
	@node dist/e2e/bench/cri.js

bench-runtime: setup-test build ## /bin/true through the core, skiff-oci, runc and crun; monitor PSS (RUNS=30)
	@node dist/e2e/bench/runtime.js

bench-stream: setup-test build ## crictl exec latency, 100 MB exec stdout, port-forward MB/s and connect latency (RUNS=30)
	@node dist/e2e/bench/stream.js

bench-operator: build ## 1,000 Registry + 1,000 BuildJob on a real control plane: time, RSS, CPU, API requests/object
	@e2e/tools/build-tools.sh etcd kube-apiserver kube-controller-manager kubectl
	@node dist/e2e/bench/operator.js

crds: ts ## regenerate manifests/crds/ from operator/src/apis/v1alpha1
	@node dist/operator/src/apis/v1alpha1/gen-crds.js

run: build ## set up, then skiff-cri in the foreground on /run/skiff/cri.sock
	@exec bin/skiff-cri

clean: ## remove build output (keeps node_modules, .toolchain and the tool cache)
	rm -rf dist
	@$(MAKE) -s -C cri/native clean
