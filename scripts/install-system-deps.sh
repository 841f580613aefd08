#!/bin/sh
# `make sysdeps`: installs the Debian packages the tests run (and Python's
# venv, which `make devenv` needs): nginx 1.22 (HTTP/2 push),
# Apache 2.4 (mod_http2) and h2o 2.2 (the deployment matrix), Chromium (driven
# by Playwright), Firefox ESR (driven over Marionette) with NSS's certutil, and
# redis-server with redis-tools (the shared hint store; redis-cli builds the
# tests' local Redis Cluster), openssl and curl (the deployment docs' Caddy
# recipe, run as written). Does nothing when all are there;
# uses sudo when not run as root. Package scripts are kept from starting
# daemons (Debian's policy-rc.d): the tests start their own servers on free
# ports, and nothing has to be stopped afterwards.
#
# When another install runs (apt, unattended-upgrades, a second `make test`),
# it waits for the package manager's locks instead of failing at once, saying
# which lock and which process it waits for, up to 600 s; then it gives up in
# one line. apt-get is also given `-o DPkg::Lock::Timeout`, so a lock taken
# between the check and the install is waited for too (apt-get update does not
# honour that option for its lists lock: the check covers it).
#
# SYSDEPS_LOCK_WAIT   seconds to wait for the locks (default 600)
# SYSDEPS_LOCKS       the lock files (default: apt's lists lock, dpkg's two
#                     locks and the archives lock)
# SYSDEPS_POLICY_RC   the policy-rc.d path (default /usr/sbin/policy-rc.d)
set -eu
lock_wait=${SYSDEPS_LOCK_WAIT:-600}
locks=${SYSDEPS_LOCKS:-/var/lib/apt/lists/lock /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/cache/apt/archives/lock}
case $lock_wait in
    '' | *[!0-9]*) echo "SYSDEPS_LOCK_WAIT must be a number of seconds, not '$lock_wait'" >&2; exit 2 ;;
esac
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
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
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
policy=${SYSDEPS_POLICY_RC:-/usr/sbin/policy-rc.d}
own_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    own_policy=1
fi
cleanup() { [ -z "$own_policy" ] || $sudo rm -f "$policy"; }
trap cleanup EXIT
# Wait until no other process holds a lock apt-get takes (as apt and dpkg take
# them: fcntl locks, seen without taking them); one line when waiting starts,
# one a minute after. Without python3 (being installed), apt-get's own wait.
wait_for_locks() {
    command -v python3 >/dev/null 2>&1 || return 0
    # shellcheck disable=SC2086
    $sudo python3 - "$lock_wait" $locks <<'PY'
import fcntl, os, struct, sys, time

def holder(path):
    """The PID holding a write-conflicting fcntl lock on *path*, or None."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        # struct flock: l_type, l_whence, l_start, l_len, l_pid (with padding).
        probe = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        kind, _, _, _, pid = struct.unpack("hhqqi4x", fcntl.fcntl(fd, fcntl.F_GETLK, probe))
    except OSError:
        return None
    finally:
        os.close(fd)
    return None if kind == fcntl.F_UNLCK else pid

def named(pid):
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return f"process {pid} ({comm.read().strip()})"
    except OSError:
        return f"process {pid}"

wait, locks = int(sys.argv[1]), sys.argv[2:]
deadline, said = time.monotonic() + wait, None
while True:
    held = [(path, pid) for path in locks if (pid := holder(path)) is not None]
    if not held:
        sys.exit(0)
    path, pid = held[0]
    left = deadline - time.monotonic()
    if left <= 0:
        print(f"gave up after {wait} s: {path} is still held by {named(pid)}; run make sysdeps again once it is done", file=sys.stderr, flush=True)
        sys.exit(1)
    if said is None:
        print(f"waiting for another package install to finish: {path} is held by {named(pid)} (up to {wait} s)", flush=True)
        said = time.monotonic()
    elif time.monotonic() - said >= 60:
        print(f"still waiting for {path} ({named(pid)}), {int(left)} s left", flush=True)
        said = time.monotonic()
    time.sleep(min(1.0, max(left, 0.01)))
PY
}
apt_get="apt-get -o DPkg::Lock::Timeout=$lock_wait"
wait_for_locks
$sudo $apt_get update -qq
wait_for_locks
DEBIAN_FRONTEND=noninteractive $sudo $apt_get install -y -qq --no-install-recommends $missing
