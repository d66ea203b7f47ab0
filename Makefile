# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT
# honcho renumbers PORT for each process (worker: PORT+100), so the worker is
# told where the web app serves the shipping API stand-in.
export ORDERS_SHIPPING_API_URL ?= http://127.0.0.1:$(PORT)/stand-in/shipping/

.PHONY: run test lint format bench up install migrate superuser clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

install: $(BIN)/activate

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

## Whole system on embedded defaults: web (gunicorn), Celery worker and beat. Ctrl-C stops all.
run: migrate
	@echo "Serving on http://127.0.0.1:$(PORT)/  (API docs: /api/docs/, health: /health/)"
	$(BIN)/honcho start -f Procfile

## Lint, then the whole test suite with coverage (services are used when their URLs are set).
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest --cov --cov-report=term

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Every benchmark under bench/; each prints figures and a JSON line last.
bench: install
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

up:
	docker compose up --build

superuser: install
	$(BIN)/python manage.py createsuperuser

clean:
	rm -rf var
