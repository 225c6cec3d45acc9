# IV-platform. `make run` starts the suite with demo data; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin

export PYTHONPATH := $(CURDIR)
# Byte-compiled once, imported fast: uv compiles the environment at install (--compile-bytecode),
# and Python keeps the project's own pycs (and pytest its rewritten test modules) in __pycache__,
# even where the environment says PYTHONDONTWRITEBYTECODE. Without them every process the tests
# and `make run` start compiled some 4,000 modules from source again (about a second each).
unexport PYTHONDONTWRITEBYTECODE
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

GATEWAY_PORT ?= 8000
PORTFOLIO_PORT ?= 8001
PRINCIPLES_PORT ?= 8002
VALUECHAINS_PORT ?= 8003
ISSUER_PORT ?= 8004
IV_HOST ?= 127.0.0.1
export GATEWAY_PORT PORTFOLIO_PORT PRINCIPLES_PORT VALUECHAINS_PORT ISSUER_PORT IV_HOST
export IV_VALUECHAINS_URL ?= http://$(IV_HOST):$(VALUECHAINS_PORT)
export IV_PORTFOLIO_URL ?= http://$(IV_HOST):$(PORTFOLIO_PORT)
export IV_PRINCIPLES_URL ?= http://$(IV_HOST):$(PRINCIPLES_PORT)

POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
# The tests run on TEST_WORKERS xdist processes, each with databases and apps of its own. Each
# test file goes to one worker whole: the e2e module shares one platform and runs in order.
# (--dist loadgroup would group finer, but xdist 3.8 cannot tag items under pytest 9.2.)
# make run and make token: the development identity provider (deploy/devissuer, deploy/Procfile.development)
# is the issuer; the services and the gateway fetch its keys as they would the organisation's, the
# explorer signs in at it, and make token signs with the same key ring (var/), for the same issuer.
DEV_PROVIDER := http://$(IV_HOST):$(ISSUER_PORT)
DEV_AUTH = IV_JWT_ISSUER=$(DEV_PROVIDER)
RUN_AUTH = $(DEV_AUTH) IV_JWKS_URL=$(DEV_PROVIDER)/jwks.json \
	IV_EXPLORER_CLIENT_ID=iv-explorer \
	IV_EXPLORER_AUTHORIZATION_URL=$(DEV_PROVIDER)/authorize IV_EXPLORER_TOKEN_URL=$(DEV_PROVIDER)/token \
	IV_EXPLORER_REDIRECT_URIS=http://$(IV_HOST):$(GATEWAY_PORT)/docs/oauth2-redirect \
	IV_PORTAL_CLIENT_ID=iv-portal \
	IV_PORTAL_AUTHORIZATION_URL=$(DEV_PROVIDER)/authorize IV_PORTAL_TOKEN_URL=$(DEV_PROVIDER)/token \
	IV_PORTAL_REDIRECT_URIS=http://$(IV_HOST):$(GATEWAY_PORT)/portal/aanmelden/terug
# Three on two cores for SQLite: a test that waits (a browser, a process starting, a fault's delay)
# leaves its core to another (make test 151-155 s on two workers, 130-132 s on three, the same
# day). On PostgreSQL its server takes a share of the cores: two (161 s against 171 s on three).
TEST_WORKERS ?= 3
POSTGRES_TEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest --dist loadfile
SERVICES := valuechains portfolio principles

.PHONY: help install browser run prestart test test-postgres lint fmt token rotate-key compose-secrets compose-token bench clean

help:
	@echo "make run            start the whole suite on SQLite with demo data (explorer: http://$(IV_HOST):$(GATEWAY_PORT)/docs)"
	@echo "make test           run every test on SQLite"
	@echo "make test-postgres  run every test on PostgreSQL ($(POSTGRES_URL))"
	@echo "make lint           ruff, mypy and the import-linter contracts"
	@echo "make token ROLE=architect [SUB=.. UNIT=.. CLEARANCE=.. PARTNER=..]  print a development token"
	@echo "                    (roles: reader auditor contributor portfolio_manager chain_owner architect admin)"
	@echo "make rotate-key     a new signing key at the development identity provider; the old one retires (grace: 25 h)"
	@echo "make compose-secrets  the secrets of deploy/compose.yaml, into deploy/secrets/ (docs/operations.md)"
	@echo "make compose-token ROLE=..  a token from compose's development token issuer (same options as make token)"
	@echo "make bench          the benchmark's table of ratios (about 4 minutes; QUICK=1: a quick check that it works)"

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python 3.11 --compile-bytecode
	@touch $@

install: $(VENV)/.synced browser

# The explorer's sign-in test (tests/gateway/test_explorer_sign_in.py) drives Debian's chromium:
# installed here when it is missing and apt-get can (as root); a browser is never downloaded.
browser:
	@test -x /usr/bin/chromium || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }; \
	else echo "chromium is missing (apt-get install chromium): the explorer's browser test will skip"; fi; }

prestart: install
	@mkdir -p var
	@for s in $(SERVICES); do $(BIN)/python -m services.$$s prestart || exit 1; done
	@test -s var/oauth-client-secret || (umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(32))" > var/oauth-client-secret)

run: prestart
	@echo
	@echo "  IV-platform is starting. Explorer: http://$(IV_HOST):$(GATEWAY_PORT)/docs (Authorize: sign in)"
	@echo "  Portal:                            http://$(IV_HOST):$(GATEWAY_PORT)/portal/ (Aanmelden: pick who you are)"
	@echo "  Development identity provider:     $(DEV_PROVIDER)/.well-known/openid-configuration"
	@echo "  A token for scripts:               make token ROLE=admin"
	@echo "  Stop with Ctrl-C."
	@echo
	@IV_LOG_JSON=$${IV_LOG_JSON:-false} $(RUN_AUTH) exec $(BIN)/python deploy/supervise.py deploy/Procfile deploy/Procfile.development

test: install
	$(PYTEST) -n $(TEST_WORKERS)

test-postgres: install
	IV_TEST_POSTGRES_URL=$(POSTGRES_URL) $(PYTEST) -n $(POSTGRES_TEST_WORKERS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services gateway tests bench deploy clients/python/src
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

ROLE ?= reader
TOKEN_ARGS = --role "$(ROLE)" $(if $(SUB),--sub "$(SUB)") $(if $(UNIT),--unit "$(UNIT)") \
	$(if $(CLEARANCE),--clearance "$(CLEARANCE)") $(if $(NAME),--name "$(NAME)") \
	$(if $(PARTNER),--partner "$(PARTNER)")
token: install
	@$(DEV_AUTH) $(BIN)/python -m services.chassis.auth $(TOKEN_ARGS)

rotate-key: install
	@$(DEV_AUTH) $(BIN)/python -m deploy.devissuer rotate

# deploy/compose.yaml: its secrets (once), and a person's token from its development token issuer.
compose-secrets: install
	@$(BIN)/python deploy/compose_secrets.py

compose-token:
	@docker compose -f deploy/compose.yaml exec -T issuer python -m deploy.devissuer token $(TOKEN_ARGS)

bench: install
	$(BIN)/python bench/run.py $(if $(QUICK),--quick)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
