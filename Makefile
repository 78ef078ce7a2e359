# Two commands on a fresh machine: `make run` and `make test`. Everything else is for contributors.
# The interpreter the venv is made from: the system's when it is 3.11 or newer and can make a venv, else python3.
# Distributions build theirs with PGO and LTO and link it statically; a default pyenv build (shared, neither) cost
# the services 10-16 % more CPU per saga, side by side on one machine (README, Performance).
PYTHON ?= $(shell /usr/bin/python3 -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  && echo /usr/bin/python3 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
# A venv made by another interpreter, or for another pyproject.toml, is made afresh.
STAMP := $(VENV)/.installed-$(shell { cat pyproject.toml; command -v $(PYTHON); } | cksum | cut -d' ' -f1)
export no_proxy := 127.0.0.1,localhost,$(no_proxy)
export NO_PROXY := 127.0.0.1,localhost,$(NO_PROXY)

.PHONY: venv run drill test protos lint format rebuild-view clean token revision dashboard browser promtool observe

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(if $(wildcard $(VENV)/.installed-*),--clear) $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

# checkov lives in a venv of its own: its pins would downgrade the project's packages.
CHECKOV := .venv-checkov/bin/checkov
$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install -q checkov==3.3.30

venv: $(STAMP)

# The production shape on one machine; the options combine: make run DB=postgres NATS_NODES=3 REPLICAS=2
SCALE := $(if $(DB),BNB_DB=$(DB)) $(if $(NATS_NODES),BNB_NATS_NODES=$(NATS_NODES)) $(if $(REPLICAS),BNB_REPLICAS=$(REPLICAS))

run: $(STAMP)  ## start NATS, Envoy and the five services on localhost; Ctrl-C stops them. DB=postgres NATS_NODES=3 REPLICAS=2
	$(SCALE) $(BIN)/python -m tools.launcher.local run

drill: $(STAMP)  ## the fault drill on the mesh `make run` started: load, kill -9 of each kind, invariants, availability
	$(BIN)/python -m tools.demos.drill $(if $(SECONDS_PER_KILL),--seconds-per-kill $(SECONDS_PER_KILL))

token: $(STAMP)  ## print a development token for the walkthrough: make -s token GUEST=g1 (or HOST=h1)
	@$(BIN)/python -m tools.launcher.tokens $(if $(GUEST),--guest $(GUEST)) $(if $(HOST),--host $(HOST))

test: $(STAMP) $(CHECKOV) browser promtool  ## types (mypy), then every test: unit, integration (real NATS, Envoy, grpcurl), PostgreSQL when configured
	$(BIN)/mypy
	$(BIN)/pytest

# Debian's package $(1) when we may install it (root), quietly; fails otherwise.
apt_install = { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
  && { apt-get install -y -q $(1) >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $(1) >/dev/null; }; }; }

browser:  ## Debian's chromium for the dashboard's browser tests, when missing and we may install it (root)
	@command -v chromium >/dev/null || $(call apt_install,chromium) || echo "chromium missing and not root: the browser tests will skip"

promtool:  ## Debian's prometheus (promtool) for the Prometheus tests, likewise
	@command -v promtool >/dev/null || $(call apt_install,prometheus) || echo "promtool missing and not root: the Prometheus tests will skip"

dashboard: $(STAMP)  ## after changing envoy/dashboard/: regenerate istio/dashboard.yaml (the local edge reads the files at start)
	$(BIN)/python -m tools.render.istio_dashboard

protos: $(STAMP)  ## regenerate the committed protobuf code, envoy/bnb.pb and istio/descriptors.yaml
	$(BIN)/python -m tools.render.protos
	$(BIN)/python -m tools.render.istio_descriptors

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

revision: $(STAMP)  ## the next migration of SERVICE from its models: make revision SERVICE=room MSG="rooms have floors"
	@test -n "$(SERVICE)" || { echo 'usage: make revision SERVICE=room MSG="..."'; exit 2; }
	$(BIN)/python -m svckit.migrate revision $(SERVICE) "$(MSG)"

observe: $(STAMP)  ## Prometheus on localhost:9090 (BNB_PROMETHEUS_PORT) scraping the mesh `make run` started
	$(BIN)/python -m tools.launcher.observe

rebuild-view: $(STAMP)  ## rebuild the room view from the streams (stop view_svc first)
	$(BIN)/python -m view_svc.rebuild

clean:
	rm -rf .data

# --- resilience (issue 4) ---
.PHONY: rollout demo-circuit-breaker demo-rollout demo-self-healing bench

rollout: $(STAMP)  ## restart SERVICE's replicas one by one in the mesh `make run` started: make rollout SERVICE=room
	@test -n "$(SERVICE)" || { echo "usage: make rollout SERVICE=room"; exit 2; }
	$(BIN)/python -m tools.launcher.rollout $(SERVICE)

demo-circuit-breaker: $(STAMP)  ## the original's breaker experiment: c=1, 2, 8 against one pending request
	$(BIN)/python -m tools.demos.circuit_breaker

demo-rollout: $(STAMP)  ## availability under load during a rollout, with and without the graceful drain
	$(BIN)/python -m tools.demos.rollout

demo-self-healing: $(STAMP)  ## kill -9 a replica under load: availability and time to recover
	$(BIN)/python -m tools.demos.self_healing

bench: $(STAMP)  ## the ceiling, then the mesh against issue 8's targets (fails on a miss); DB=postgres: figures only
	$(BIN)/python -m bench $(if $(DB),--db $(DB))
# --- end resilience ---
