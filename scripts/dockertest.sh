#!/usr/bin/env bash
# make dockertest: the stack of infra/docker-compose.yml built and tested in containers.
#
#   scripts/dockertest.sh [test]   build, start the stack, run the stack tests (e2e/stack)
#                                  from the tests container, then (in CI, or with
#                                  FIREHOSE_DOCKER_SUITE=all) the whole suite inside the
#                                  tests image; stop everything (make dockertest)
#   scripts/dockertest.sh build    build the images only
#   scripts/dockertest.sh up       build, then serve the stack in the foreground (Ctrl-C stops it)
#
# 1. The engine: the one `docker info` reaches (DOCKER_HOST or the system's), with
#    `docker compose` (v2) or `docker-compose` (v1). When none answers, a private one
#    for this run (root only): Debian's docker.io and docker-compose are installed if
#    missing, without letting their packages start a daemon, and dockerd runs with its
#    state under var/docker/, stopped by its PID at the end. Its storage driver is the
#    first that works here (an overlay mounted in var/docker, then `docker info`):
#    overlay2, fuse-overlayfs (Debian's, installed if missing), else vfs, said in a line.
# 2. The base image: debian:bookworm-slim (FIREHOSE_BASE_IMAGE) from the registry, or,
#    when it cannot be pulled, the same release built from the Debian archive
#    (mmdebstrap --variant=minbase bookworm, then docker import), kept for later runs.
# 3. Wheels: pip on this host downloads every Python dependency into var/docker/wheels
#    and builds the project's two packages there (while mmdebstrap runs); the images
#    install them with --no-index (containers may not reach the package index).
# 4. Images: flask-firehose/{app,front,nginx,redis,tests}:dev from infra/Dockerfile,
#    built side by side with BuildKit (the stages they share are built once).
#
# Every failure ends with one line saying what is missing and how to get it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-test}
case "$MODE" in test | build | up) ;; *)
    echo "usage: scripts/dockertest.sh [test|build|up]" >&2
    exit 2
    ;;
esac

STATE=$ROOT/var/docker
PROJECT=${FIREHOSE_COMPOSE_PROJECT:-flask-firehose}
[ "$MODE" = test ] && PROJECT=${FIREHOSE_COMPOSE_PROJECT:-flask-firehose-test}
COMPOSE_FILE=$ROOT/infra/docker-compose.yml
BASE_IMAGE=${FIREHOSE_BASE_IMAGE:-debian:bookworm-slim}
LOCAL_BASE=flask-firehose/debian:bookworm-minbase
TARGETS=(app front nginx redis tests)
started_at=$(date +%s)

say() { printf 'dockertest: %s\n' "$*" >&2; }
die() {
    printf 'dockertest: FAILED: %s\n' "$*" >&2
    exit 1
}
elapsed() { echo "$(($(date +%s) - started_at)) s"; }

# -- cleanup: the stack, then the private engine (by its PID) ------------------------
DOCKER=(docker)
COMPOSE=()
private_pid=""
stack_up=""
base_job=""
build_jobs=()
compose() { "${COMPOSE[@]}" -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }

stop_private_engine() {
    [ -n "$private_pid" ] || return 0
    say "stopping the private dockerd (pid $private_pid)"
    kill -TERM "$private_pid" 2>/dev/null || true
    for _ in $(seq 60); do
        kill -0 "$private_pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$private_pid" 2>/dev/null; then
        say "dockerd (pid $private_pid) still running after 30 s: killing it"
        kill -KILL "$private_pid" 2>/dev/null || true
        # Its own containerd, which a killed dockerd cannot stop.
        containerd_pid=$(cat "$EXEC_ROOT/containerd/containerd.pid" 2>/dev/null || true)
        [ -z "$containerd_pid" ] || kill -TERM "$containerd_pid" 2>/dev/null || true
    fi
    wait "$private_pid" 2>/dev/null || true
    private_pid=""
}

cleanup() {
    status=$?
    trap - EXIT INT TERM
    # mmdebstrap (its process group) and image builds still running when the run ends early.
    [ -z "$base_job" ] || kill -TERM -- "-$base_job" 2>/dev/null || true
    for job in "${build_jobs[@]}"; do kill -TERM "$job" 2>/dev/null || true; done
    if [ -n "$stack_up" ]; then
        # The test stack goes with its volumes; `up` keeps the certificate users may trust.
        volumes=()
        [ "$MODE" != test ] || volumes=(-v)
        compose --profile test down "${volumes[@]}" --remove-orphans >/dev/null 2>&1 || say "could not take the stack down"
    fi
    stop_private_engine
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- 1. the engine -------------------------------------------------------------------------
engine_answers() { timeout 20 "${DOCKER[@]}" info >/dev/null 2>&1; }

pick_compose() {
    if "${DOCKER[@]}" compose version >/dev/null 2>&1; then
        COMPOSE=("${DOCKER[@]}" compose)
    elif command -v docker-compose >/dev/null 2>&1; then
        COMPOSE=(docker-compose)
    else
        die "no Docker Compose: install the compose plugin (docker-compose-plugin) or Debian's docker-compose (apt-get install docker-compose)"
    fi
}

# Install Debian packages (only those missing), keeping their scripts from starting daemons.
# apt_try returns non-zero on failure; apt_install ends the run.
apt_try() {
    [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    say "installing from the Debian archive: $*"
    local policy=/usr/sbin/policy-rc.d own_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        own_policy=1
    fi
    local ok=1
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || ok=""
    [ -z "$own_policy" ] || rm -f "$policy"
    [ -n "$ok" ]
}
apt_install() {
    [ "$(id -u)" -eq 0 ] || die "$* missing and not root: sudo apt-get install $*"
    command -v apt-get >/dev/null 2>&1 || die "$* missing and no apt-get here: install them with your system's package manager"
    apt_try "$@" || die "apt-get install $* failed: check that the Debian archive is reachable (apt-get update)"
}

# -- the private engine's storage driver ------------------------------------------------------
# Best first: overlay2 (the kernel's overlayfs: layers shared, nothing copied), fuse-overlayfs
# (the same in user space, where the kernel's overlayfs cannot mount on var/docker's
# filesystem), vfs (every layer a whole copy: 12 GB kept, 22 GB at the peak, measured).
# FIREHOSE_DOCKER_STORAGE names the one to use.
STORAGE_DRIVERS=(overlay2 fuse-overlayfs vfs)
if [ -n "${FIREHOSE_DOCKER_STORAGE:-}" ]; then
    case "$FIREHOSE_DOCKER_STORAGE" in overlay2 | fuse-overlayfs | vfs) ;; *)
        die "FIREHOSE_DOCKER_STORAGE=$FIREHOSE_DOCKER_STORAGE: not a storage driver make dockertest knows (overlay2, fuse-overlayfs, vfs)"
        ;;
    esac
    STORAGE_DRIVERS=("$FIREHOSE_DOCKER_STORAGE")
fi
why_not=()

# Unmounts $1 and what is mounted under it: a dockerd that failed or was killed leaves
# its overlays, and its bind mount of the data-root on itself.
unmount_under() {
    local target
    findmnt -rn -o TARGET 2>/dev/null | awk -v p="$1" '$0 == p || index($0, p "/") == 1' | sort -r | while read -r target; do
        umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true
    done
}

# Mounts an overlay in var/docker as the driver $1 would, writes through it, unmounts it.
overlay_works() {
    local driver=$1 dir err ok=""
    dir=$(mktemp -d "$STATE/probe.XXXXXX")
    mkdir "$dir/lower" "$dir/upper" "$dir/work" "$dir/merged"
    echo lower >"$dir/lower/file"
    local options="lowerdir=$dir/lower,upperdir=$dir/upper,workdir=$dir/work"
    if [ "$driver" = overlay2 ]; then
        err=$(mount -t overlay overlay -o "$options" "$dir/merged" 2>&1) && ok=1
    else
        err=$(fuse-overlayfs -o "$options" "$dir/merged" 2>&1) && ok=1
    fi
    if [ -n "$ok" ]; then
        { [ "$(cat "$dir/merged/file" 2>/dev/null)" = lower ] && echo upper >"$dir/merged/new" &&
            [ -f "$dir/upper/new" ]; } 2>/dev/null || { ok="" && err="files written through it did not land"; }
        umount "$dir/merged" 2>/dev/null || umount -l "$dir/merged" 2>/dev/null || true
    fi
    rm -rf "$dir"
    [ -n "$ok" ] && return 0
    why_not+=("$driver: no overlay mounts in var/docker ($(printf '%s' "${err:-mount failed}" | head -n 1 | cut -c1-120))")
    return 1
}

# Whether the driver $1 can be tried here; installs fuse-overlayfs when it is the one missing.
driver_usable() {
    case "$1" in
        overlay2)
            grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null || true
            overlay_works overlay2
            ;;
        fuse-overlayfs)
            if [ ! -c /dev/fuse ]; then
                why_not+=("fuse-overlayfs: no /dev/fuse")
                return 1
            fi
            if ! command -v fuse-overlayfs >/dev/null 2>&1 && ! apt_try fuse-overlayfs; then
                why_not+=("fuse-overlayfs: not installed and apt-get install fuse-overlayfs failed")
                return 1
            fi
            overlay_works fuse-overlayfs
            ;;
        vfs) return 0 ;;
    esac
}

# The drivers the images in var/docker/root were made with: another one cannot read them.
data_root_drivers() {
    if [ ! -d "$STATE/root" ]; then
        return 0
    elif [ -s "$STATE/root.driver" ]; then
        cat "$STATE/root.driver"
    elif [ -d "$STATE/root/image" ]; then
        ls "$STATE/root/image" | tr '\n' ' ' | sed 's/ $//'
    fi
}

# Starts dockerd with the storage driver $1; succeeds when `docker info` reports that driver.
launch_dockerd() {
    local driver=$1 made_with
    made_with=$(data_root_drivers)
    if [ -n "$made_with" ] && [ "$made_with" != "$driver" ]; then
        say "var/docker/root holds images made with the $made_with storage driver ($(du -sh "$STATE/root" 2>/dev/null | cut -f1)): removed, $driver cannot use them"
        unmount_under "$STATE/root"
        rm -rf "$STATE/root" "$STATE/root.driver"
    fi
    rm -f "$STATE/dockerd.pid" "$SOCKET"
    local log_from
    log_from=$(($(wc -l <"$STATE/dockerd.log") + 1))
    # Its own session: a Ctrl-C meant for compose must not stop it before the stack is down.
    setsid /usr/sbin/dockerd --data-root "$STATE/root" --exec-root "$EXEC_ROOT" -H "unix://$SOCKET" \
        --pidfile "$STATE/dockerd.pid" --storage-driver "$driver" >>"$STATE/dockerd.log" 2>&1 &
    private_pid=$!
    for _ in $(seq 120); do
        engine_answers && break
        kill -0 "$private_pid" 2>/dev/null || break
        sleep 0.5
    done
    local running=""
    if engine_answers; then running=$("${DOCKER[@]}" info --format '{{.Driver}}' 2>/dev/null) || true; fi
    if [ "$running" = "$driver" ]; then
        echo "$driver" >"$STATE/root.driver"
        return 0
    fi
    if [ -n "$running" ]; then
        why_not+=("$driver: dockerd started with $running instead")
    else
        local error
        # Its error about the driver, else its last one.
        error=$(tail -n "+$log_from" "$STATE/dockerd.log" | grep -iE 'level=(error|fatal)' |
            { grep -i driver || true; } | tail -n 1) || true
        [ -n "$error" ] || error=$(tail -n "+$log_from" "$STATE/dockerd.log" | grep -iE 'level=(error|fatal)' | tail -n 1) || true
        error=$(printf '%s' "$error" | sed 's/.*msg="\([^"]*\)"\(.* error="\([^"]*\)"\)\{0,1\}.*/\1: \3/; s/: $//' | cut -c1-160)
        why_not+=("$driver: dockerd did not start with it (${error:-see var/docker/dockerd.log})")
    fi
    stop_private_engine
    # What the failed start left mounted (its bind mount of the data-root on itself).
    unmount_under "$STATE/root"
    return 1
}

start_private_engine() {
    [ "$(id -u)" -eq 0 ] || die "no Docker engine answers and a private one needs root: start Docker (systemctl start docker) or run as root"
    local missing=()
    [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] || missing+=(docker.io)
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

    mkdir -p "$STATE"
    SOCKET=$STATE/docker.sock
    EXEC_ROOT=$STATE/exec
    # containerd's sockets live under the exec root: unix socket paths are short.
    if [ ${#EXEC_ROOT} -gt 60 ]; then
        EXEC_ROOT=/run/flask-firehose-docker-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)
    fi
    # The Debian client, the same version as the engine (a newer client may lack BuildKit's buildx).
    DOCKER=(/usr/bin/docker -H "unix://$SOCKET")
    export DOCKER_HOST="unix://$SOCKET"
    if [ -e "$STATE/dockerd.pid" ] && kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; then
        die "a private dockerd of another make dockertest run is still running: stop it with kill $(cat "$STATE/dockerd.pid")"
    fi
    say "no Docker engine answers: starting a private dockerd (state in var/docker/, log var/docker/dockerd.log)"
    : >"$STATE/dockerd.log"
    STORAGE_DRIVER=""
    for driver in "${STORAGE_DRIVERS[@]}"; do
        driver_usable "$driver" || continue
        if launch_dockerd "$driver"; then
            STORAGE_DRIVER=$driver
            break
        fi
    done
    if [ -z "$STORAGE_DRIVER" ]; then
        printf '  %s\n' "${why_not[@]}" >&2
        tail -n 20 "$STATE/dockerd.log" >&2 || true
        die "the private dockerd did not start (var/docker/dockerd.log above): it needs root, iptables and a kernel with overlay networking"
    fi
    if [ "$STORAGE_DRIVER" = vfs ] && [ -z "${FIREHOSE_DOCKER_STORAGE:-}" ]; then
        printf '  %s\n' "${why_not[@]}" >&2
        say "storage driver vfs: no overlay works here (above); every layer is stored whole: expect about 12 GB kept under var/docker/root, 22 GB at the peak, and a run half as long again (docs/docker.rst)"
    else
        say "storage driver $STORAGE_DRIVER${why_not[*]:+ (${why_not[*]})}"
    fi
    COMPOSE=(docker-compose)
    # Compose v1 gives up on an engine call after 60 s; with vfs, creating the tests
    # container (a whole copy of its 2 GB image) takes longer than that.
    export COMPOSE_HTTP_TIMEOUT=${COMPOSE_HTTP_TIMEOUT:-600}
}

if command -v docker >/dev/null 2>&1 && engine_answers; then
    pick_compose
    say "using the Docker engine at ${DOCKER_HOST:-the default socket} with ${COMPOSE[*]}"
else
    start_private_engine
fi
# BuildKit (stages not needed are skipped) where the client has it: buildx, or
# Debian's 20.10 client, which has it built in. A newer client without buildx
# only builds with the classic builder.
if "${DOCKER[@]}" buildx version >/dev/null 2>&1 || [ "${DOCKER[0]}" = /usr/bin/docker ]; then
    export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-1}
else
    export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}
fi

# -- 2. the base image ------------------------------------------------------------------------
have_image() { "${DOCKER[@]}" image inspect "$1" >/dev/null 2>&1; }
if have_image "$BASE_IMAGE"; then
    base=$BASE_IMAGE
elif have_image "$LOCAL_BASE"; then
    base=$LOCAL_BASE
elif timeout 60 "${DOCKER[@]}" pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
    base=$BASE_IMAGE
else
    say "$BASE_IMAGE cannot be pulled: building $LOCAL_BASE from the Debian archive (mmdebstrap, log var/docker/mmdebstrap.log), meanwhile the wheels"
    command -v mmdebstrap >/dev/null 2>&1 || apt_install mmdebstrap
    mkdir -p "$STATE"
    rootfs=$STATE/bookworm-minbase.tar
    # Like the official slim image: merged /usr without the usrmerge package (and the
    # perl it pulls in), no manuals, documentation or translations. And dpkg without an
    # fsync per unpacked file (force-unsafe-io, kept in the image): the images' apt-get
    # installs write layers that are kept whole or not at all.
    hooks=()
    [ ! -d /usr/share/mmdebstrap/hooks/merged-usr ] || hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
    # In its own process group, stopped by it if this run ends first.
    setsid mmdebstrap --quiet --variant=minbase "${hooks[@]}" \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt=force-unsafe-io \
        --aptopt='Acquire::Languages "none"' \
        bookworm "$rootfs" \
        "deb http://deb.debian.org/debian bookworm main" \
        "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main" >"$STATE/mmdebstrap.log" 2>&1 &
    base_job=$!
    base=$LOCAL_BASE
fi

# -- 3. wheels, downloaded and built on this host (while mmdebstrap runs) --------------------
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
"$PY" -m pip --version >/dev/null 2>&1 || die "pip is missing on this host: make devenv (or apt-get install python3-pip)"
WHEELS=$STATE/wheels
mkdir -p "$WHEELS"
# The project's wheels, rebuilt when its sources change (a rebuilt wheel differs in
# its timestamps, which would make every image rebuild its Python layer).
sources=$(find packages/flask-firehose apps/demo -type f -not -path '*/__pycache__/*' -not -path '*.egg-info/*' \
    -not -path '*/tests/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [ "$(cat "$WHEELS/local.stamp" 2>/dev/null)" != "$sources" ] || ! ls "$WHEELS"/local/*.whl >/dev/null 2>&1; then
    rm -rf "$WHEELS/local"
    "$PY" -m pip wheel -q --no-deps -w "$WHEELS/local" ./packages/flask-firehose ./apps/demo >"$STATE/pip-wheel.log" 2>&1 || {
        grep -v '^WARNING: Location' "$STATE/pip-wheel.log" | tail -n 20 >&2
        die "pip could not build the project's wheels: is PyPI reachable from this host (pip needs setuptools)?"
    }
    echo "$sources" >"$WHEELS/local.stamp"
fi
arch=$("${DOCKER[@]}" info --format '{{.Architecture}}' 2>/dev/null || uname -m)
case "$arch" in amd64 | x86_64) arch=x86_64 ;; arm64 | aarch64) arch=aarch64 ;; esac
requirements=$(grep -v '^-e ' requirements-dev.txt | sed 's/#.*//' | grep -v '^ *$')
extra=('setuptools>=77' 'async-timeout>=4.0.3')
stamp=$( (echo "$arch" "${extra[*]}" && echo "$requirements" && cat packages/flask-firehose/pyproject.toml apps/demo/pyproject.toml) | sha256sum | cut -c1-16)
if [ "$(cat "$WHEELS/deps.stamp" 2>/dev/null)" != "$stamp" ]; then
    say "downloading wheels for CPython 3.11 on linux/$arch into var/docker/wheels"
    rm -rf "$WHEELS/deps"
    platforms=(--platform "manylinux2014_$arch")
    for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_$arch"); done
    printf '%s\n' "$requirements" >"$WHEELS/requirements.txt"
    # pip evaluates environment markers for the Python running it, not the target's:
    # redis needs async-timeout on Debian's Python 3.11.2 (< 3.11.3), so it is named.
    "$PY" -m pip download -q -d "$WHEELS/deps" --only-binary=:all: \
        --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none "${platforms[@]}" \
        "$(ls "$WHEELS"/local/flask_firehose-*.whl)[redis,test]" "$(ls "$WHEELS"/local/firehose_demo-*.whl)" \
        -r "$WHEELS/requirements.txt" "${extra[@]}" >"$STATE/pip-download.log" 2>&1 || {
        grep -v '^WARNING: Location' "$STATE/pip-download.log" | tail -n 20 >&2
        die "pip could not download the wheels into var/docker/wheels: is PyPI reachable from this host?"
    }
    rm -f "$WHEELS"/deps/flask_firehose-*.whl "$WHEELS"/deps/firehose_demo-*.whl
    echo "$stamp" >"$WHEELS/deps.stamp"
fi
say "wheels ready ($(elapsed))"

if [ -n "$base_job" ]; then
    if ! wait "$base_job"; then
        base_job=""
        grep -v '^\(Selecting\|Preparing\|Unpacking\|Setting up\|(Reading\)' "$STATE/mmdebstrap.log" | tail -n 20 >&2
        die "mmdebstrap could not build a bookworm base (var/docker/mmdebstrap.log): check that deb.debian.org is reachable (apt-get update)"
    fi
    base_job=""
    "${DOCKER[@]}" import --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$rootfs" "$LOCAL_BASE" >/dev/null || die "docker import of $rootfs failed (see the engine's log)"
    rm -f "$rootfs"
fi
export FIREHOSE_BASE_IMAGE=$base
say "base image: $base ($(elapsed))"

# -- 4. images ---------------------------------------------------------------------------------------
# One build per image; with BuildKit side by side, the stages they share built once.
build_image() {
    "${DOCKER[@]}" build --network host --build-arg "BASE=$base" -f infra/Dockerfile \
        --target "$1" -t "flask-firehose/$1:dev" . >"$STATE/build-$1.log" 2>&1
}
build_failed() {
    local log=$STATE/build-$1.log
    tail -n 30 "$log" >&2
    if grep -q 'No matching distribution' "$log"; then
        die "a wheel is missing from var/docker/wheels for the $1 image (log above): rm -rf var/docker/wheels and run again"
    fi
    die "the $1 image did not build (log above, var/docker/build-$1.log): apt-get in the build needs deb.debian.org"
}
if [ "$DOCKER_BUILDKIT" = 1 ]; then
    say "building flask-firehose/{$(IFS=,; echo "${TARGETS[*]}")}:dev side by side (logs var/docker/build-*.log)"
    build_jobs=()
    for target in "${TARGETS[@]}"; do
        (build_image "$target" && say "built flask-firehose/$target:dev ($(elapsed))") &
        build_jobs+=($!)
    done
    failed_target=""
    for i in "${!TARGETS[@]}"; do
        wait "${build_jobs[$i]}" || failed_target=${failed_target:-${TARGETS[$i]}}
    done
    build_jobs=()
    [ -z "$failed_target" ] || build_failed "$failed_target"
else
    # The classic builder builds every stage for every image: one at a time.
    for target in "${TARGETS[@]}"; do
        say "building flask-firehose/$target:dev"
        build_image "$target" || build_failed "$target"
    done
fi
if [ -n "$private_pid" ]; then
    # Keep the private engine's disk bounded: superseded images, and build cache
    # this build did not use.
    "${DOCKER[@]}" image prune -f >/dev/null 2>&1 || true
    "${DOCKER[@]}" builder prune -f --filter "until=$(($(date +%s) - started_at + 60))s" >/dev/null 2>&1 || true
fi
"${DOCKER[@]}" image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' 'flask-firehose/*' >&2
say "images built ($(elapsed))"
[ "$MODE" = build ] && exit 0

if [ "$MODE" = up ]; then
    stack_up=1
    say "serving: nginx push https://localhost:${FIREHOSE_NGINX_PORT:-8443}/, Caddy https://localhost:${FIREHOSE_FRONT_PORT:-8444}/, gunicorn https://localhost:${FIREHOSE_GUNICORN_PORT:-8445}/ (Ctrl-C stops)"
    compose up --no-build
    exit 0
fi

# -- 5. the stack, its tests, the whole suite --------------------------------------------------
# Published ports are not needed by the tests: let the engine pick free ones.
export FIREHOSE_NGINX_PORT=0 FIREHOSE_FRONT_PORT=0 FIREHOSE_GUNICORN_PORT=0
compose --profile test down -v --remove-orphans >/dev/null 2>&1 || true
stack_up=1
compose up -d --no-build redis certs app app-hints app-h2 nginx front >"$STATE/compose-up.log" 2>&1 || {
    cat "$STATE/compose-up.log" >&2
    compose logs --no-color >&2 || true
    die "the stack did not start (output above)"
}
say "stack up ($(elapsed)); the stack tests, from the tests container"
failed=""
if ! compose --profile test run --rm tests python -m pytest -p no:cacheprovider e2e/stack; then
    compose logs --no-color --tail 100 >&2 || true
    failed="the stack tests (e2e/stack)"
fi
# The whole suite inside the tests image proves the image runs everything `make test`
# runs on the host; it takes 6-12 minutes on 2 cores, longer than all the rest together.
# CI runs it; on a laptop it is asked for (FIREHOSE_DOCKER_SUITE=all).
suite=${FIREHOSE_DOCKER_SUITE:-$([ -n "${CI:-}" ] && echo all || echo stack)}
case $suite in
    all | stack) ;;
    *) die "FIREHOSE_DOCKER_SUITE=$suite: expected 'all' (the whole suite inside the tests image too) or 'stack'" ;;
esac
if [ "$suite" = all ]; then
    say "the whole suite inside the tests image ($(elapsed))"
    # All of it but the real Vite build (e2e/test_vite_manifest.py): Vite 8 needs Node.js
    # 20.19+, and the image's Debian bookworm ships 18; `make test` runs it on the host.
    if ! compose --profile test run --rm --no-deps -e FIREHOSE_STACK= tests \
            python -m pytest -p no:cacheprovider --ignore=e2e/test_vite_manifest.py; then
        failed="${failed:+$failed and }the suite inside the tests image"
    fi
else
    say "the whole suite inside the tests image is left out (CI runs it; FIREHOSE_DOCKER_SUITE=all asks for it)"
fi
[ -z "$failed" ] || die "$failed failed (output above)"
say "passed ($(elapsed))"
