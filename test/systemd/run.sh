#!/bin/bash
# Not part of `bun test` (CI runs it as a stage of its own): levee's systemd units and upgrades under a real systemd.
# Boots systemd (PID 1 of a container: systemd-nspawn --boot) on a Debian bookworm minbase root
# made by debootstrap, and runs test/systemd/inside.sh there: `levee install --mode cloud` and
# `--mode edge` (Type=notify, STATUS=), an exec worker adopted across `systemctl restart`, an agent
# upgrade from the cloud, and failing upgrades rolled back by the guard (one exiting 3, one exiting
# 2, which systemd does not restart: the guard starts the unit itself; SKIP_EXIT2=1 skips it).
#
# Root only. Needs systemd-nspawn (apt-get install systemd-container), debootstrap, a reachable
# Debian mirror the first time (the root is kept in $ROOT and reused), and a kernel with cgroups.
# Works without systemd as the host's init: the container is not registered with machined
# (--register=no --keep-unit) and is entered with nsenter. Changes to the root are discarded
# (--volatile=overlay), nothing on the host outside $ROOT and $BINS is touched, and the container
# has its own network (--private-network: loopback only), so no host port is used.
#   test/systemd/run.sh              → builds $BINS if missing (delete it after a code change),
#                                      boots, checks, powers off
#   ROOT=/path BINS=/path test/systemd/run.sh
#   SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 test/systemd/run.sh   → the container's systemd on cgroup v2
#                                                              only (default: as the host's)
# Takes about 2-4 minutes after the first run. CI runs it (.ci/run) and skips it on exit 3.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROOT=${ROOT:-/work/sysd-root}
BINS=${BINS:-/work/sysd-bins}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MACHINE=levee-sysd
LOG=${LOG:-/tmp/levee-systemd-console.log}

# Exit status: 0 every check passed, 1 a check failed, 2 usage (not root), 3 this machine cannot
# run the check (a tool missing, debootstrap cannot reach the mirror, the container does not boot):
# CI reports that as skipped, with the reason.
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
for tool in systemd-nspawn debootstrap nsenter; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool missing (apt-get install systemd-container debootstrap)" >&2; exit 3; }
done

if [ ! -x "$ROOT/lib/systemd/systemd" ]; then
  echo "=== debootstrap bookworm minbase into $ROOT"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,busybox,procps,iproute2,ca-certificates,curl,jq \
    bookworm "$ROOT" "$MIRROR" >/tmp/levee-systemd-debootstrap.log 2>&1 ||
    { echo "run.sh: debootstrap failed, see /tmp/levee-systemd-debootstrap.log" >&2; tail -5 /tmp/levee-systemd-debootstrap.log >&2; rm -rf "$ROOT"; exit 3; }
  echo "$MACHINE" >"$ROOT/etc/hostname"
fi
if [ ! -x "$BINS/levee-bad2" ]; then
  echo "=== building the binaries into $BINS"
  "$REPO/node_modules/.bin/bun" "$REPO/test/systemd/build-bins.ts" "$BINS" || exit 1
fi

echo "=== booting systemd in $ROOT (console: $LOG)"
setsid systemd-nspawn -D "$ROOT" --boot --register=no --keep-unit --private-network --volatile=overlay \
  --machine="$MACHINE" --console=read-only \
  --bind-ro="$BINS:/opt/levee-bins" --bind-ro="$HERE/inside.sh:/opt/levee-inside.sh" \
  </dev/null >"$LOG" 2>&1 &
NSPAWN=$!

stop() {
  if kill -0 "$NSPAWN" 2>/dev/null; then
    echo "=== powering off the container"
    # SIGTERM asks nspawn to shut the container's systemd down cleanly; SIGKILL if it hangs.
    kill -TERM "$NSPAWN"
    for _ in $(seq 30); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 1; done
    kill -0 "$NSPAWN" 2>/dev/null && kill -KILL "$NSPAWN"
  fi
  wait "$NSPAWN" 2>/dev/null
}
trap stop EXIT

LEADER=
for _ in $(seq 30); do
  LEADER=$(pgrep -P "$NSPAWN" | head -1)
  [ -n "$LEADER" ] && [ "$(cat "/proc/$LEADER/comm" 2>/dev/null)" = systemd ] && break
  LEADER=
  sleep 1
done
[ -n "$LEADER" ] || { echo "run.sh: the container did not start:" >&2; cat "$LOG" >&2; exit 3; }
inside() { nsenter --target "$LEADER" --all env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
echo "=== systemd is PID 1 of the container (host pid $LEADER)"
state=$(inside systemctl is-system-running --wait)
echo "system state: $state"
inside SKIP_EXIT2="${SKIP_EXIT2:-}" /bin/bash /opt/levee-inside.sh
rc=$?
echo "=== inside.sh exited $rc"
exit "$rc"
