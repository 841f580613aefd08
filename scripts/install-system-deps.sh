#!/bin/sh
# `make sysdeps`: installs the Debian packages the tests run (and Python's
# venv, which `make devenv` needs): nginx 1.22 (HTTP/2 push),
# Apache 2.4 (mod_http2) and h2o 2.2 (the deployment matrix), Chromium (driven
# by Playwright), Firefox ESR (driven over Marionette) with NSS's certutil, and
# redis-server with redis-tools (the shared hint store; redis-cli builds the
# tests' local Redis Cluster). Does nothing when all are there;
# uses sudo when not run as root. Package scripts are kept from starting
# daemons (Debian's policy-rc.d): the tests start their own servers on free
# ports, and nothing has to be stopped afterwards.
set -eu
missing=""
# Python 3 with venv and ensurepip (`make devenv`); Debian splits them out.
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$missing python3-venv"
else
    missing="$missing python3 python3-venv"
fi
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
command -v apache2 >/dev/null 2>&1 || [ -x /usr/sbin/apache2 ] || missing="$missing apache2"
command -v h2o >/dev/null 2>&1 || [ -x /usr/sbin/h2o ] || missing="$missing h2o"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v firefox-esr >/dev/null 2>&1 || missing="$missing firefox-esr"
command -v certutil >/dev/null 2>&1 || missing="$missing libnss3-tools"
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing="$missing redis-server"
command -v redis-cli >/dev/null 2>&1 || [ -x /usr/bin/redis-cli ] || missing="$missing redis-tools"
command -v make >/dev/null 2>&1 || missing="$missing make"
# Node.js and npm: the end-to-end test builds a real Vite project (Vite itself from the npm registry).
# Vite 8 needs Node.js 20.19+ or 22.12+; Debian 12's own nodejs is 18 (the test names the version it
# found), so a bookworm machine takes nodejs from a newer archive (NodeSource's, or trixie's).
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing:$missing"
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    own_policy=1
fi
cleanup() { [ -z "$own_policy" ] || $sudo rm -f "$policy"; }
trap cleanup EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
