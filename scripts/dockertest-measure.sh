#!/usr/bin/env bash
# Time and disk of a cold `make dockertest` with the private engine (docs/docker.rst).
#
#   scripts/dockertest-measure.sh [--fresh | --keep]
#
# Cold (the default): the private engine's data-root (var/docker/root: images,
# layers, build cache) is removed first, so the base image, every image and
# every layer are made again; the wheels in var/docker/wheels (pip's download
# on the host) are kept. --fresh removes them too: a first run on a new
# machine, but for the Debian packages already installed. --keep removes
# nothing (a warm run).
#
# While `make dockertest` runs, the data-root's size is sampled every 10 s
# (du -x: each layer once, not the containers' mounts); at the end one line
# gives the wall clock, the data-root's size at the end, the largest sample and
# the mean load average over the run.
# Measures only the private engine: refuses when another engine answers (its
# disk is not under var/docker) or a private one is still running.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=var/docker
DATA_ROOT=$STATE/root
RUN=cold
case "${1:-}" in
    "") ;;
    --fresh) RUN=fresh ;;
    --keep) RUN=warm ;;
    *)
        echo "usage: scripts/dockertest-measure.sh [--fresh | --keep]" >&2
        exit 2
        ;;
esac

say() { printf 'dockertest-measure: %s\n' "$*" >&2; }
if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
    say "a Docker engine answers (${DOCKER_HOST:-the default socket}): make dockertest would use it, not a private one; nothing measured"
    exit 1
fi
if [ -e "$STATE/dockerd.pid" ] && kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; then
    say "a private dockerd (pid $(cat "$STATE/dockerd.pid")) still runs: stop it first"
    exit 1
fi
if [ "$RUN" != warm ]; then
    say "removing the private engine's data-root ($DATA_ROOT)"
    # What a dockerd killed mid-run left mounted there, first.
    findmnt -rn -o TARGET | awk -v p="$PWD/$DATA_ROOT" '$0 == p || index($0, p "/") == 1' | sort -r |
        xargs -r -n 1 umount -l 2>/dev/null || true
    rm -rf "$DATA_ROOT" "$STATE/root.driver"
fi
if [ "$RUN" = fresh ]; then
    say "removing the wheels (var/docker/wheels)"
    rm -rf "$STATE/wheels"
fi
mkdir -p "$STATE"

# du complains (and fails) when files vanish while it counts: its total still stands.
size_mb() {
    local mb
    mb=$(du -sx --block-size=1M "$DATA_ROOT" 2>/dev/null | tail -n 1 | cut -f1) || true
    echo "${mb:-0}"
}
# One line per sample: the data-root's MB and the 1-minute load average (the
# machine may be shared: the load says how much else ran).
samples=$STATE/measure-samples
: >"$samples"
(
    while sleep 10; do
        echo "$(size_mb) $(cut -d' ' -f1 /proc/loadavg)" >>"$samples"
    done
) &
sampler=$!

start=$(date +%s)
status=0
make dockertest || status=$?
wall=$(($(date +%s) - start))
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true

end_mb=$(size_mb)
read -r peak_mb load < <(awk -v end="$end_mb" '
    { if ($1 > peak) peak = $1; load += $2; n++ }
    END { if (end > peak) peak = end; printf "%d %.1f\n", peak, n ? load / n : 0 }' "$samples")
rm -f "$samples"
driver=$(grep -o 'graphdriver(s)=[a-z0-9-]*' "$STATE/dockerd.log" 2>/dev/null | tail -n 1 | cut -d= -f2) || true
gb() { awk -v mb="$1" 'BEGIN { printf "%.1f GB", mb / 1024 }'; }
say "$RUN make dockertest: exit $status, $((wall / 60)) min $((wall % 60)) s;" \
    "data-root at the end $(gb "$end_mb"), peak sampled $(gb "$peak_mb"); storage driver ${driver:-unknown};" \
    "$(nproc) cores, mean load $load; $(date -u +%Y-%m-%d)"
exit "$status"
