#!/bin/sh
# Every role starts as its command says. docker-compose.yml migrates once, in its
# one-shot `migrate` service; a single container run alone may set RUN_MIGRATIONS=1.
set -e
# prometheus-client's multiprocess folder must start empty (a restarted container keeps
# its filesystem): every process of this container writes its samples there.
metrics_dir="${PROMETHEUS_MULTIPROC_DIR:-${VAR_DIR:-/app/var}/metrics}"
rm -rf "$metrics_dir" && mkdir -p "$metrics_dir"
if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
  python manage.py migrate --noinput
fi
exec "$@"
