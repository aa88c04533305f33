# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
# torch is installed first from the pinned CPU wheel (on these machines it lies on disk),
# so pip never resolves the multi-GB CUDA build.
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# The demo is the packaged study src/fakenews/configs/studies/demo.yaml over the shared data
# (WELFake sample, PolitiFact, Horne 2017); `make demo SHARED=/path/to/data` points it elsewhere.
SHARED  ?= $(abspath ../shared/data)
DEMO_OUT ?= demo

.PHONY: install demo test lint browser-deps clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/fakenews demo --out $(DEMO_OUT) --force --data $(SHARED)

# The browser test drives Debian's Chromium; install it when we can (root + apt), else that
# one test says why it cannot run.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1) || \
	  echo "note: chromium not installed; the browser test will report why it could not run"; }

test: $(STAMP) browser-deps
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src

clean:
	rm -rf $(VENV) demo .pytest_cache
