# The two commands a newcomer needs: `make run` (the demo) and `make test` (the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# pytest-xdist workers of `make test` and `make check` (`make test WORKERS=4`; 0 runs in one process).
WORKERS ?= 2
# Python may keep compiled modules and pytest its rewritten test modules, even when the shell says
# otherwise (PYTHONDONTWRITEBYTECODE): collecting the suite from source takes three times as long.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(WORKERS)

.PHONY: install run test check lint translations compile-translations clean cluster-test bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,test]'
	touch $@

# Compiled catalogues (.mo) are build output, made from the .po files in translations/.
compile-translations: install
	$(BIN)/python -m samenleren.core.catalogues translations

run: install compile-translations
	SAMENLEREN_ENV=development SAMENLEREN_BASE_URL=$${SAMENLEREN_BASE_URL:-http://127.0.0.1:$(PORT)} \
		$(BIN)/flask --app samenleren demo run --port $(PORT)

lint: install
	$(BIN)/ruff check platform tests migrations deploy/cluster-test
	$(BIN)/ruff format --check platform tests deploy/cluster-test
	$(BIN)/lint-imports
	$(BIN)/hadolint deploy/Dockerfile
	# The deployment: every kustomize overlay rendered and validated against the Kubernetes
	# schemas, its invariants (one scheduler, non-root, probes, no plain secrets), the alert rules;
	# and publiccode.yml against the Standard for Public Code's required keys.
	# (A shared fixture's Redis client may be collected only at interpreter exit; that socket is
	# not the deployment's concern, so its ResourceWarning does not fail lint.)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -p no:cacheprovider -n 0 -W ignore::ResourceWarning \
		tests/deploy/test_kubernetes.py tests/deploy/test_monitoring.py tests/public/test_publiccode.py
	$(BIN)/djlint platform/samenleren --lint
	$(BIN)/mypy platform/samenleren

# Everything: browser tests (Chromium), fault injection (killed workers, Redis stopped), the walks.
test: install compile-translations lint
	$(PYTEST) --durations=20

# The loop while working: lint and every test that needs neither a browser nor fault injection.
check: install compile-translations lint
	$(PYTEST) -m "not browser and not faults"

# The loopback cluster (deploy/cluster-test/run.py): nginx, two web nodes, two workers and the
# scheduler on a private PostgreSQL and Redis lose nodes under load; about 10 minutes. Needs
# Debian's nginx and PostgreSQL server binaries. ARGS=--write records the results in
# docs/performance.md; ARGS=--short is the quick version.
cluster-test: install compile-translations
	$(BIN)/python deploy/cluster-test/run.py $(ARGS)

# Page speed at seed and national scale beside a bare page (benchmarks/pages.py; needs wrk and a
# PostgreSQL superuser), then the reminder sweep against raw smtplib (benchmarks/reminders.py).
# Both write their section of docs/performance.md. ARGS="--scales seed --duration 3" is quick.
bench: install compile-translations
	$(BIN)/python benchmarks/pages.py --write $(ARGS)
	$(BIN)/python benchmarks/reminders.py --write --senders 2

# Extract messages from code and templates, merge them into every catalogue, compile.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python -m samenleren.core.catalogues translations

clean:
	rm -rf $(VENV) var
