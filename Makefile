# The two commands a newcomer needs: `make run` (the demo) and `make test` (the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: install run test lint translations compile-translations clean

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
	$(BIN)/ruff check platform tests migrations
	$(BIN)/ruff format --check platform tests
	$(BIN)/lint-imports
	$(BIN)/hadolint deploy/Dockerfile
	$(BIN)/djlint platform/samenleren --lint

test: install compile-translations lint
	$(BIN)/pytest

# Extract messages from code and templates, merge them into every catalogue, compile.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python -m samenleren.core.catalogues translations

clean:
	rm -rf $(VENV) var
