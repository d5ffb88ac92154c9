# The two commands of the README: `make demo` and `make test`. Each sets up everything it
# needs on a fresh machine (a virtualenv with the project and its test extras) first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Discovery never leaves this machine in the demo and the tests.
export PEERCLASS_DISCOVERY_ADDR := 127.255.255.255

.PHONY: demo test lint smoke bench clean i18n

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/peerclass demo

# pytest exits 5 when it collected no tests: for the suite that is a broken set-up, not a pass.
# Two workers (pytest-xdist), each taking whole files: most multi-peer tests wait on real
# timers, so the suite runs in about 7.5 minutes on 2 cores instead of 11.
TEST_WORKERS ?= -n 2 --dist loadfile
test: $(STAMP)
	@status=0; $(BIN)/pytest $(TEST_WORKERS) $(PYTEST_ARGS) || status=$$?; \
	if [ $$status = 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit $$status

lint: $(STAMP)
	$(BIN)/ruff check peer storage migrations tests bench
	$(BIN)/ruff format --check peer storage migrations tests bench
	$(BIN)/mypy peer storage

# The web UI's words and the console's (peer/cli/_speech.py): extract them, merge them into
# each language's catalog (translate the new entries of peer/i18n/locale/ko/LC_MESSAGES/web.po
# and console.po), compile the .mo files the wheel ships.
i18n: $(STAMP)
	$(BIN)/pybabel extract --no-location --sort-output -F peer/i18n/babel.cfg -k _ -k N_ -k FormError -k NotFound -k Forbidden \
		-o peer/i18n/locale/web.pot peer/web
	$(BIN)/pybabel update --no-fuzzy-matching -D web -i peer/i18n/locale/web.pot \
		-d peer/i18n/locale
	$(BIN)/pybabel compile --statistics -D web -d peer/i18n/locale
	$(BIN)/pybabel extract --no-location --sort-output -F peer/i18n/babel.cfg -k _ \
		-o peer/i18n/locale/console.pot peer/cli
	$(BIN)/pybabel update --no-fuzzy-matching -D console -i peer/i18n/locale/console.pot \
		-d peer/i18n/locale
	$(BIN)/pybabel compile --statistics -D console -d peer/i18n/locale

# Build a wheel, install it into a new virtualenv and run a short real class with it.
smoke:
	PYTHON=$(PYTHON) ci/smoke.sh

# The figures of the README's benchmark section, in one run (pyzmq for the comparison).
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/catchup.py --runs 7
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/class.py
	$(BIN)/python bench/history.py

clean:
	rm -rf $(VENV)
