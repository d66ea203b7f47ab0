#!/bin/sh
# Every role starts as its command says. docker-compose.yml migrates once, in its
# one-shot `migrate` service; a single container run alone may set RUN_MIGRATIONS=1.
set -e
if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
  python manage.py migrate --noinput
fi
exec "$@"
