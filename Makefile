# One way to run everything. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SAM_VENV := .tools/sam
CHECKOV_VENV := .tools/checkov
MODEL_DIR := .artifacts/models/ae-classifier
DATA_DIR ?= ../shared/data/ade-corpus-v2
export AWS_DEFAULT_REGION ?= eu-west-1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv tools browser test lint demo model bench load build deploy validate clean

$(STAMP): requirements-dev.txt functions/requirements.txt model/requirements.txt pyproject.toml model/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e . -e model
	touch $@

venv: $(STAMP)

# aws-sam-cli and checkov pin their own boto3 and cfn-lint: each gets a tool venv of its own.
$(SAM_VENV)/.installed: requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q -r requirements-sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements-checkov.txt
	touch $@

tools: $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed

# The inbox's browser test drives Debian's chromium (playwright never downloads a browser here).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: venv tools browser lint
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check functions local model/src model/scripts tests model/tests
	$(VENV)/bin/ruff format --check functions local model/src model/scripts tests model/tests
	$(VENV)/bin/mypy functions local model/src model/scripts

$(MODEL_DIR)/training.json: | venv
	$(VENV)/bin/pv-model train --data $(DATA_DIR) --output $(MODEL_DIR)

model: $(MODEL_DIR)/training.json

demo: venv $(MODEL_DIR)/training.json
	$(VENV)/bin/pv demo --model $(MODEL_DIR) --inbox

bench: venv $(MODEL_DIR)/training.json
	$(VENV)/bin/pv-model bench --model $(MODEL_DIR) --data $(DATA_DIR) --json .artifacts/bench/model.json
	$(VENV)/bin/pv bench --model $(MODEL_DIR) --backend onnx-int8 --json .artifacts/bench/pipeline.json

load: venv $(MODEL_DIR)/training.json
	$(VENV)/bin/pv load --model $(MODEL_DIR) --documents 2000 --json .artifacts/bench/load.json

validate: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml

# sam build (no container) needs a python3.12 on PATH for the python3.12 runtime.
PYTHON312_BIN ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin))
# Only aws-sam-cli: building needs no checkov (that is `make tools`, for the template gates).
build: $(SAM_VENV)/.installed
	PATH="$(PYTHON312_BIN):$$PATH" $(SAM_VENV)/bin/sam build --template template.yaml

# pv ops preflight refuses a deploy whose endpoint is missing or not InService, or whose
# parameters break a template Rule (prod needs AlertEmail and OperationsEmail).
deploy: build venv
	$(VENV)/bin/pv ops preflight --config-env $${ENV:-dev}
	$(SAM_VENV)/bin/sam deploy --config-env $${ENV:-dev}

clean:
	rm -rf $(VENV) .tools .aws-sam .pytest_cache
