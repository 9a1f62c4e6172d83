# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo demo-sequence test test-slow lint bench clean chromium

$(STAMP): setup.py requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# The main job: synthetic KTH -> train MCnet + deep RBM -> test (per-step PSNR/SSIM) -> export.
demo: $(STAMP)
	$(BIN)/python examples/video_prediction/demo.py

# A one-minute tour of train/test/export/predict on a generated sequence task.
demo-sequence: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP) chromium
	$(BIN)/python -m pytest tests

# The annotation tool's browser test drives Debian's chromium (Playwright's own download does not work
# offline): installed here when missing and running as root; if that fails, the test skips with the reason.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && apt-get install -y -qq chromium) \
			|| echo "chromium not installed: the browser test of deep-rnn annotate will skip"; \
	fi

test-slow: $(STAMP)
	$(BIN)/python -m pytest tests -m slow

lint: $(STAMP)
	$(BIN)/ruff check deep_rnn_tf tests examples benchmarks setup.py
	$(BIN)/ruff format --check deep_rnn_tf tests examples benchmarks setup.py

bench: $(STAMP)
	$(BIN)/python benchmarks/cells.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
