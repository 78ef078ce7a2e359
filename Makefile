# Two commands on a fresh machine: `make run` and `make test`. Everything else is for contributors.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
export no_proxy := 127.0.0.1,localhost,$(no_proxy)
export NO_PROXY := 127.0.0.1,localhost,$(NO_PROXY)

.PHONY: venv run test protos lint format rebuild-view clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

run: $(STAMP)  ## start NATS, Envoy and the five services on localhost; Ctrl-C stops them
	$(BIN)/python -m tools.mesh run

test: $(STAMP)  ## every test: unit, integration (real NATS, Envoy, grpcurl), PostgreSQL when configured
	$(BIN)/pytest

protos: $(STAMP)  ## regenerate the committed protobuf code and envoy/bnb.pb
	$(BIN)/python -m tools.protos

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

rebuild-view: $(STAMP)  ## rebuild the room view from the streams (stop view_svc first)
	$(BIN)/python -m view_svc.rebuild

clean:
	rm -rf .data
