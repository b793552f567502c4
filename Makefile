# Two commands do all the set-up on a fresh clone: `make run` and `make test`.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTHON  ?= python3
PYBABEL := $(BIN)/pybabel
LOCALES := translations

.PHONY: run test install compile-translations translations lint demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# .mo files are build products: compiled from the committed .po files on every run.
compile-translations: install
	$(PYBABEL) -q compile -d $(LOCALES) -D messages
	$(PYBABEL) -q compile -d $(LOCALES) -D child

# Extract, update and compile both catalogues (staff: messages, child: child).
translations: install
	$(PYBABEL) -q extract -F babel.cfg --ignore-dirs='.* ._ child' --no-location --sort-output \
	    -k lazy_gettext -k _l -o $(LOCALES)/messages.pot .
	$(PYBABEL) -q extract -F babel-child.cfg --no-location --sort-output \
	    -k lazy_gettext -k _l -k say -o $(LOCALES)/child.pot .
	$(PYBABEL) -q update --ignore-obsolete --no-fuzzy-matching -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages
	$(PYBABEL) -q update --ignore-obsolete --no-fuzzy-matching -i $(LOCALES)/child.pot -d $(LOCALES) -D child
	$(MAKE) compile-translations

run: compile-translations
	$(BIN)/kidrate db upgrade
	$(BIN)/kidrate demo
	$(BIN)/kidrate run --host 127.0.0.1 --port 5000

test: compile-translations
	$(BIN)/ruff check kidrate tests $(wildcard bench)
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check kidrate tests $(wildcard bench)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
