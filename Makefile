# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint format bench up install migrate superuser clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

install: $(BIN)/activate

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

## Whole system on embedded defaults: web (gunicorn), Celery workers, beat and Flower,
## kept up by scripts/supervisor.py (a crashed process is restarted). Ctrl-C stops all.
run: install
	@$(BIN)/python scripts/supervisor.py --check-port
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@$(BIN)/python scripts/supervisor.py

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
