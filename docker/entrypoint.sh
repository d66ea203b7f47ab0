#!/bin/sh
# Migrate and collect static files once, in the web container; other roles just start.
set -e
if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
  python manage.py migrate --noinput
  python manage.py createcachetable
  python manage.py collectstatic --noinput --verbosity 0
fi
exec "$@"
