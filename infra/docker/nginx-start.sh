#!/bin/sh
# The nginx service of infra/docker-compose.yml: Debian's nginx 1.22 in the
# foreground with the e2e suite's two files, infra/nginx/nginx.conf.template and
# the site FIREHOSE_SITE (default push.conf.template), their ${FIREHOSE_*}
# placeholders filled in from the environment (nginx's own $vars untouched).
set -eu
run=${FIREHOSE_RUN_DIR:-/run/firehose-nginx}
site=${FIREHOSE_SITE:-push.conf.template}
mkdir -p "$run"
export FIREHOSE_RUN_DIR="$run" FIREHOSE_SITE_CONF="$run/site.conf"

fill() {
    script=""
    for name in $(env | sed -n 's/^\(FIREHOSE_[A-Z0-9_]*\)=.*/\1/p'); do
        value=$(printenv "$name" | sed 's/[|&\\]/\\&/g')
        script="$script s|\${$name}|$value|g;"
    done
    sed "$script" "$1" >"$2"
    if grep -q '\${FIREHOSE_' "$2"; then
        echo "nginx-start: unfilled placeholder in $1: $(grep -o '\${FIREHOSE_[A-Z0-9_]*}' "$2" | sort -u | tr '\n' ' ')" >&2
        exit 1
    fi
}

fill "/srv/nginx/$site" "$run/site.conf"
fill /srv/nginx/nginx.conf.template "$run/nginx.conf"
# Requests to stdout: `docker compose logs nginx` shows them.
ln -sf /dev/stdout "$run/access.log"
exec nginx -p "$run" -c "$run/nginx.conf" -e stderr
