# Two commands for a fresh machine with Python 3.11+ and make:
#   make run   — set up, migrate, load the demo once, serve on http://127.0.0.1:5000
#   make test  — install the test extras and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app survey_app
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: install run test test-sqlite test-postgres lint bench clean translations lock audit stack-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The versions in requirements.lock are the tested ones (`make lock` after changing
# setup.cfg's dependencies).
$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml requirements.lock
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test,postgres]'
	touch $@

install: $(VENV)/.installed

run: install
	$(FLASK) init-db
	$(FLASK) seed-demo --if-empty
	@echo
	@echo "Khảo sát đang chạy tại / Serving on http://$(HOST):$(PORT)"
	@if [ -f instance/demo-accounts.txt ]; then \
	  echo "Đăng nhập / Log in at http://$(HOST):$(PORT)/auth/login with (demo accounts):"; \
	  awk -F'\t' 'NR==1{pw=$$2; next} {printf "  %-10s (%s%s)\n", $$1, $$2, ($$3?" "$$3:"")} END{print "  password: " pw}' instance/demo-accounts.txt; \
	fi
	@echo
	$(FLASK) run --host $(HOST) --port $(PORT)

# The suite on SQLite; then, when SURVEY_TEST_DATABASE_URL is set, every database test
# again on PostgreSQL.
test: install
	SURVEY_TEST_DATABASE_URL= $(BIN)/python -m pytest
	@if [ -n "$$SURVEY_TEST_DATABASE_URL" ]; then \
	  echo "== PostgreSQL: $$SURVEY_TEST_DATABASE_URL"; \
	  $(BIN)/python -m pytest -m db; \
	fi

# The production stack on this one machine — nginx (Debian's package) in front of two
# gunicorn instances sharing a PostgreSQL and a Redis of their own, all started and stopped
# by the script — under 200 citizens, and its failure drills (an instance killed,
# PostgreSQL restarted, the database read-only). Takes about 4 minutes: not part of `make
# test`. Needs nginx-light, redis-server, openssl and the PostgreSQL server binaries.
stack-check: install
	$(BIN)/python deploy/stack_check.py

# requirements.lock from a fresh environment: what `make install` gets from setup.cfg now.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --upgrade pip
	.venv-lock/bin/python -m pip install -q -e '.[test,postgres]'
	{ sed -n '1,3p' requirements.lock; .venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^#'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .venv-lock

# Known vulnerabilities of the locked dependencies (pip-audit in an environment of its own,
# so that its dependencies do not mix with the application's). AUDIT_FLAGS=--strict also
# fails when the vulnerability service cannot be reached.
audit:
	[ -x .venv-audit/bin/pip-audit ] || { $(PYTHON) -m venv .venv-audit && .venv-audit/bin/python -m pip install -q pip-audit; }
	.venv-audit/bin/python .ci/audit_deps.py --pip-audit .venv-audit/bin/pip-audit $(AUDIT_FLAGS)

lint: install
	$(BIN)/ruff check survey_app analysis tests benchmarks deploy

# Re-extract the texts wrapped in _()/_l() (babel.cfg), merge them into every catalogue
# (new ones arrive with an empty msgstr, near matches marked fuzzy) and compile the .mo
# files. Translate what is empty or fuzzy in $(TRANSLATIONS)/*/LC_MESSAGES/messages.po,
# then run it again; commit the .po and the .mo.
TRANSLATIONS := survey_app/translations

translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -c TRANSLATORS: \
	  --project survey-app -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS)
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
