# Two commands do all the set-up on a fresh clone: `make run` and `make test`.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTHON  ?= python3
PYBABEL := $(BIN)/pybabel
LOCALES := translations

.PHONY: run run-oidc test browser install lock upgrade check-lock compile-translations translations lint demo clean

# Everything is installed from the committed lock, hash-checked, never resolved anew: first uv itself
# (bootstrap-requirements.txt, exported from uv.lock), then the project with `uv sync --locked`, which
# also refuses to run when pyproject.toml has changed without `make lock`.
export UV_PYTHON_DOWNLOADS := never
UV := $(BIN)/uv

# uv alone, from its hash-checked pin: enough to lock, without installing the project.
$(UV): bootstrap-requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
	    -r bootstrap-requirements.txt
	touch $(UV)

$(STAMP): pyproject.toml uv.lock $(UV)
	$(UV) sync --quiet --locked --all-extras --python $(BIN)/python
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
	    --add-comments=NOTE: --strip-comment-tags -k lazy_gettext -k _l -k say -o $(LOCALES)/child.pot .
	$(PYBABEL) -q update --ignore-obsolete --no-fuzzy-matching -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages
	$(PYBABEL) -q update --ignore-obsolete --no-fuzzy-matching -i $(LOCALES)/child.pot -d $(LOCALES) -D child
	$(MAKE) compile-translations

PORT ?= 5000
run: export KIDRATE_BASE_URL ?= http://127.0.0.1:$(PORT)

run: compile-translations
	$(BIN)/kidrate db upgrade
	$(BIN)/kidrate demo
	$(BIN)/kidrate run --host 127.0.0.1 --port $(PORT)

# The demo with a local identity provider of its own (Node's oidc-provider, installed from its npm lock):
# staff sign in through "Demokommunen"'s provider by typing a demo username there.
run-oidc: export KIDRATE_BASE_URL ?= http://127.0.0.1:$(PORT)

run-oidc: compile-translations
	$(BIN)/kidrate db upgrade
	$(BIN)/kidrate demo
	PORT=$(PORT) $(BIN)/python tools/run_oidc_demo.py

# The browser tests drive Debian's Chromium: installed here when missing and this user may install
# system packages (root, or sudo without a password); otherwise those tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	    if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	    else echo "chromium is not installed and cannot be here: the browser tests will be skipped"; exit 0; fi; \
	    echo "installing Debian's chromium for the browser tests"; \
	    { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; } \
	        || echo "chromium could not be installed: the browser tests will be skipped"; }

test: compile-translations browser
	$(BIN)/ruff check kidrate tests $(wildcard bench) $(wildcard tools)
	$(BIN)/python -m pytest

# Re-resolve deliberately: `make lock` after editing pyproject.toml (keeps every other version),
# `make upgrade` to move every dependency to its newest release allowed by pyproject.toml.
EXPORT_UV_PIN = $(UV) export --quiet --frozen --no-header --only-group tools --no-emit-project --format requirements.txt

lock: $(UV)
	$(UV) lock
	$(EXPORT_UV_PIN) -o bootstrap-requirements.txt

upgrade: $(UV)
	$(UV) lock --upgrade
	$(EXPORT_UV_PIN) -o bootstrap-requirements.txt

# CI: the lock agrees with pyproject.toml, and uv's own pin with the lock.
check-lock: $(UV)
	$(UV) lock --check
	$(EXPORT_UV_PIN) -o /dev/stdout | diff -u bootstrap-requirements.txt - \
	    || { echo "bootstrap-requirements.txt is out of date: run make lock"; exit 1; }

lint: install
	$(BIN)/ruff check kidrate tests $(wildcard bench) $(wildcard tools)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
