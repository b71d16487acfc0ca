# One way to run everything. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The function tests again on Python 3.12, the Lambda runtime (pyenv's, or PYTHON312=...).
PYTHON312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python))
VENV312 := .venv312
STAMP312 := $(VENV312)/.installed
# The tests of functions/ and its handlers: channel parsers, sentences, the endpoint client, case
# intelligence, regulatory and review domain, case store, and the handlers end to end on the
# template's stack in moto (pipeline, faults, hostile input, privacy, cold start, batch isolation,
# big reports, versions, reconciliation, the stack's shape). Left to 3.11 only: the local stack, CLI,
# ops commands, browser, model, template linters and benchmarks (local tools, not Lambda code).
FUNCTION_TESTS := tests/test_channels_*.py tests/test_sentences.py tests/test_endpoint_client.py \
	tests/test_intelligence_*.py tests/test_sample_documents.py tests/test_review_domain.py \
	tests/test_regulatory_due_dates.py tests/test_regulatory_e2b.py tests/test_regulatory_linking.py \
	tests/test_regulatory_meddra.py tests/test_regulatory_service.py tests/test_pipeline.py \
	tests/test_regulatory_phrase_coding.py tests/test_case_store.py tests/test_faults.py \
	tests/test_hostile.py tests/test_privacy.py tests/test_cold_start.py tests/test_batch_isolation.py \
	tests/test_big_reports.py tests/test_versions.py tests/test_reconciliation.py tests/test_fixture_shape.py \
	tests/test_lexicon_kept.py
SAM_VENV := .tools/sam
CHECKOV_VENV := .tools/checkov
MODEL_DIR := .artifacts/models/ae-classifier
DATA_DIR ?= ../shared/data/ade-corpus-v2
export AWS_DEFAULT_REGION ?= eu-west-1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv venv312 tools browser test test312 lint demo model bench load build deploy validate clean

$(STAMP): requirements-dev.txt functions/requirements.txt model/requirements.txt pyproject.toml model/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e . -e model
	touch $@

venv: $(STAMP)

$(STAMP312): requirements-functions-test.txt functions/requirements.txt constraints.txt pyproject.toml
	@test -n "$(PYTHON312)" || { echo "no Python 3.12: install it with pyenv or pass PYTHON312=/path/to/python3.12"; exit 1; }
	test -x $(VENV312)/bin/python || $(PYTHON312) -m venv $(VENV312)
	$(VENV312)/bin/python -m pip install -q --upgrade pip
	$(VENV312)/bin/python -m pip install -q -r requirements-functions-test.txt
	$(VENV312)/bin/python -m pip install -q --no-deps -e .
	touch $@

venv312: $(STAMP312)

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

test: venv tools browser lint test312
	$(PY) -m pytest -q

test312: $(STAMP312)
	$(VENV312)/bin/python -m pytest -q -p no:cacheprovider $(FUNCTION_TESTS)

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
	$(VENV)/bin/pv bench --model $(MODEL_DIR) --backend onnx-int8 --compare-threads --json .artifacts/bench/pipeline.json

load: venv $(MODEL_DIR)/training.json
	$(VENV)/bin/pv load --model $(MODEL_DIR) --documents 2000 --json .artifacts/bench/load.json

validate: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml

# sam build (no container) needs a python3.12 on PATH for the python3.12 runtime.
PYTHON312_BIN ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin))
# Only aws-sam-cli: building needs no checkov (that is `make tools`, for the template gates).
# Then that python3.12 byte-compiles the built functions into hash-checked .pyc files: the zip SAM
# deploys dates every file 1980-01-01 (aws/aws-lambda-builders#924), so no timestamp .pyc validates
# in Lambda, and its code is read-only, so without these every cold start compiles from source
# (-f: the timestamp .pyc files pip wrote for the dependencies are rewritten too).
build: $(SAM_VENV)/.installed
	PATH="$(PYTHON312_BIN):$$PATH" $(SAM_VENV)/bin/sam build --template template.yaml
	PATH="$(PYTHON312_BIN):$$PATH" python3.12 -m compileall -q -f -j 0 --invalidation-mode checked-hash .aws-sam/build
	# Each function that reads documents ships its English lexicon built (read in a quarter of the build's CPU).
	for fn in .aws-sam/build/*/pv/intelligence; do root=$${fn%/pv/intelligence}; \
	  PV_LEXICON_CACHE=$$root/pv/resources PYTHONPATH=$$root PATH="$(PYTHON312_BIN):$$PATH" \
	  python3.12 -c "from pv.intelligence.lexicon import lexicon; lexicon()" || exit 1; done

# pv ops preflight refuses a deploy whose endpoint is missing or not InService, or whose
# parameters break a template Rule (prod needs AlertEmail and OperationsEmail).
deploy: build venv
	$(VENV)/bin/pv ops preflight --config-env $${ENV:-dev}
	$(SAM_VENV)/bin/sam deploy --config-env $${ENV:-dev}

clean:
	rm -rf $(VENV) $(VENV312) .tools .aws-sam .pytest_cache
