#!/bin/sh
# Print fresh random values for every secret docker-compose.yml requires, as .env lines:
#   docker/gen-secrets.sh >> .env
# Run it once: a new DJANGO_SECRET_KEY logs every user out, and POSTGRES_PASSWORD
# only takes effect when the database volume is first created.
set -eu
rand() { head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }
echo "DJANGO_SECRET_KEY=$(rand 64)"
echo "POSTGRES_PASSWORD=$(rand 32)"
echo "FLOWER_USER=flower"
echo "FLOWER_PASSWORD=$(rand 32)"
