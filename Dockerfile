# One image for web, worker, beat and flower; the command picks the role.
FROM python:3.11-slim-bookworm

# PROMETHEUS_MULTIPROC_DIR is in the environment before any process starts: the
# `celery` command loads Flower's plugin, which imports prometheus-client before
# Django's settings could name the folder (docs/operations.md, "Metrics").
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var \
    PROMETHEUS_MULTIPROC_DIR=/app/var/metrics

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl libmagic1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 app

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=app:app . .
# Static files are part of the image: every web replica serves the same set, and
# starting one writes nothing (whitenoise serves them from /app/var/static).
RUN python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/var/media \
    && chown -R app:app /app/var

USER app
EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application", "--bind", "0.0.0.0:8000"]
