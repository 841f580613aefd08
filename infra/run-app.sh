#!/bin/sh
# The one way the demo app is started: by `make demo`, by the e2e suite and by
# docker-compose. Settings come from FIREHOSE_* variables read in gunicorn.conf.py.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "${FIREHOSE_PYTHON:-python3}" -m gunicorn --config "$here/gunicorn.conf.py" "demo:create_app()"
