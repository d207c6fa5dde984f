#!/bin/bash
# The checks of the manual systemd check, run inside the booted container by test/systemd/run.sh
# (systemd is PID 1 here; the binaries of test/systemd/build-bins.ts are under $BINS). Installs a
# cloud and an edge with `levee install` on two loopback addresses, then checks: both units reach
# active through READY=1 and show their STATUS= line; an exec worker keeps its pid through
# `systemctl restart levee-edge` and is adopted; an upgrade from the cloud reaches the new version
# with the worker's pid unchanged; an upgrade to a binary that exits at start is rolled back by the
# guard, first a binary that exits 3 (systemd restarts it until the guard acts), then one that exits
# 2, which the units do not restart (RestartPreventExitStatus=2): the guard's rollback has to get
# the old agent started all the same. Exits non-zero at the first failed check. SKIP_EXIT2=1 skips
# the last check.
set -u -o pipefail
BINS=${BINS:-/opt/levee-bins}
CLOUD_DATA=/var/lib/levee
EDGE_DATA=/var/lib/levee-edge
EDGE_AGENT=http://127.0.0.2:7401
CLOUD_API=http://127.0.0.1:7400
WORKER_MATCH="busybox httpd -f -h /tmp -p 127.0.0.1:"

step() { printf '\n=== %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*"
  journalctl -u levee-edge -u levee-cloud --no-pager -n 60 -o cat || true
  exit 1
}
# wait_until SECONDS COMMAND...: polls COMMAND every second until it succeeds (0) or time is up (1).
wait_until() {
  local limit=$1 i
  shift
  for ((i = 0; i < limit; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: wait_until, or fail.
wait_for() {
  local limit=$1 what=$2 started=$SECONDS
  shift 2
  wait_until "$limit" "$@" || fail "$what: not within ${limit}s"
  echo "ok: $what (after $((SECONDS - started))s)"
}
ctl() { /usr/local/bin/levee ctl --data-dir "$CLOUD_DATA" "$@"; }
admin() { curl -fsS -H "Authorization: Bearer $(cat "$CLOUD_DATA/admin.token")" "$CLOUD_API$1"; }
edge_version() { curl -fsS "$EDGE_AGENT/healthz" | jq -r .version; }
edge_version_is() { [ "$(edge_version)" = "$1" ]; }
worker_pid() { pgrep -f "$WORKER_MATCH" | head -1; }
agent_pid() { systemctl show -p MainPID --value "levee-$1"; }
is_active() { [ "$(systemctl is-active "levee-$1")" = active ]; }
rollout_state() { admin /api/v1/upgrades/current | jq -r .rollout.state; }
rollout_is() { [ "$(rollout_state)" = "$1" ]; }
show_status() {
  systemctl status "levee-$1" --no-pager -n 0 | sed -n '1,12p'
}

OLD=$("$BINS/levee-old" version | head -1 | cut -d' ' -f2)
NEW=$("$BINS/levee-new" version | head -1 | cut -d' ' -f2)
BAD=$("$BINS/levee-bad" version | head -1 | cut -d' ' -f2)
BAD2=$("$BINS/levee-bad2" version | head -1 | cut -d' ' -f2)
echo "systemd: $(systemctl --version | head -1); /sys/fs/cgroup: $(stat -fc %T /sys/fs/cgroup)"
echo "versions: old $OLD, new $NEW, bad $BAD, bad2 $BAD2"

step "1. levee install --mode cloud"
"$BINS/levee-old" install --mode cloud --bind-address 127.0.0.1 --node-name cloud || fail "install cloud"
wait_for 90 "levee-cloud active (READY=1)" is_active cloud
show_status cloud
systemctl show -p Type,NotifyAccess,WatchdogUSec,KillMode,StatusText levee-cloud

step "1. levee install --mode edge (join token from the cloud's data dir)"
TOKEN=$(ctl token create --uses 1 --ttl 1h | tail -1) || fail "token create"
"$BINS/levee-old" install --mode edge --cloud "$CLOUD_API" --token "$TOKEN" --bind-address 127.0.0.2 \
  --node-name edge1 --data-dir "$EDGE_DATA" || fail "install edge"
wait_for 90 "levee-edge active (READY=1)" is_active edge
show_status edge
systemctl show -p StatusText levee-edge
ctl get nodes

step "2. an exec worker on the edge"
cat >/tmp/web.yaml <<EOF
apiVersion: levee/v1
kind: Service
metadata: { name: web }
spec:
  template:
    command: ["/bin/sh", "-c", "exec $WORKER_MATCH\$PORT"]
    port: auto
    health: { tcp: true }
  workers:
    - node: edge1
EOF
ctl apply -f /tmp/web.yaml --wait || fail "apply"
wait_for 60 "the worker runs" worker_pid
W1=$(worker_pid)
A1=$(agent_pid edge)
echo "worker pid $W1, agent pid $A1; worker's cgroup: $(grep -E 'name=systemd|^0::' /proc/"$W1"/cgroup | tr '\n' ' ')"
SINCE=$(date '+%Y-%m-%d %H:%M:%S')
systemctl restart levee-edge || fail "restart"
wait_for 60 "levee-edge active again" is_active edge
A2=$(agent_pid edge)
W2=$(worker_pid)
echo "after systemctl restart levee-edge: agent pid $A1 -> $A2, worker pid $W1 -> $W2"
[ "$A1" != "$A2" ] || fail "the agent did not restart"
[ "$W1" = "$W2" ] || fail "the worker's pid changed"
adopted_logged() { journalctl -u levee-edge --since "$SINCE" --no-pager -o cat | grep -q "adopted running worker"; }
wait_for 10 "the new agent logged the adoption" adopted_logged
journalctl -u levee-edge --since "$SINCE" --no-pager -o cat | grep -E 'adopted running worker|left-over' | head -5
show_status edge

step "2. the watchdog: an agent that stops answering is killed and restarted, the worker stays"
mkdir -p /etc/systemd/system/levee-edge.service.d
printf '[Service]\nWatchdogSec=6s\n' >/etc/systemd/system/levee-edge.service.d/watchdog.conf
systemctl daemon-reload && systemctl restart levee-edge || fail "restart with WatchdogSec=6s"
wait_for 60 "levee-edge active" is_active edge
A3=$(agent_pid edge)
sleep 9
[ "$(agent_pid edge)" = "$A3" ] || fail "the agent was restarted although it sends WATCHDOG=1"
echo "agent $A3 alive after 9 s with WatchdogSec=6s; stopping it (SIGSTOP)"
SINCE=$(date '+%Y-%m-%d %H:%M:%S')
kill -STOP "$A3"
agent_replaced() { [ "$(agent_pid edge)" != "$A3" ] && is_active edge; }
wait_for 60 "systemd replaced the stalled agent" agent_replaced
journalctl -u levee-edge --since "$SINCE" --no-pager -o cat | grep -i -E 'watchdog|killing|abort' | head -4
echo "agent pid $A3 -> $(agent_pid edge), worker pid $W2 -> $(worker_pid)"
[ "$(worker_pid)" = "$W2" ] || fail "the worker's pid changed"
rm -r /etc/systemd/system/levee-edge.service.d
systemctl daemon-reload && systemctl restart levee-edge || fail "restart without the drop-in"
wait_for 60 "levee-edge active" is_active edge

# upgrade BINARY STATE VERSION: starts a rollout to BINARY (health gate 30 s), waits until it is
# STATE (done, failed), then checks that the edge is active at VERSION with the same worker pid.
upgrade() {
  local binary=$1 state=$2 version=$3 before_agent before_worker
  before_agent=$(agent_pid edge)
  before_worker=$(worker_pid)
  local started=$SECONDS
  ctl upgrade --binary "linux-x64=$BINS/$binary" --timeout 30s || fail "levee ctl upgrade"
  if ! wait_until 90 rollout_is "$state"; then
    echo "FAIL: the rollout is $(rollout_state), not $state, 90 s after it started (health gate: 30 s)"
    systemctl status levee-edge --no-pager -n 0 | sed -n '1,8p'
    echo "binary: $(/usr/local/bin/levee version | head -1); the guard's log:"
    tail -3 "$EDGE_DATA/upgrade/agent.log"
    echo "after systemctl start levee-edge:"
    systemctl start --no-block levee-edge
    wait_until 60 rollout_is "$state" && ctl upgrade status
    systemctl status levee-edge --no-pager -n 0 | sed -n '1,6p'
    echo "worker pid $before_worker -> $(worker_pid)"
    exit 1
  fi
  local took=$((SECONDS - started))
  echo "the rollout was $state $took s after the order"
  # The guard reads the unit's state: a binary that cannot start is rolled back before the 30 s gate.
  if [ "$state" = failed ] && [ "$took" -ge 30 ]; then fail "rolled back only at the deadline ($took s)"; fi
  ctl upgrade status
  wait_for 60 "levee-edge active" is_active edge
  wait_for 30 "the edge runs $version" edge_version_is "$version"
  echo "agent pid $before_agent -> $(agent_pid edge), worker pid $before_worker -> $(worker_pid)," \
    "edge version $(edge_version), restarts of the unit so far: $(systemctl show -p NRestarts --value levee-edge)"
  [ "$before_worker" = "$(worker_pid)" ] || fail "the worker's pid changed"
  show_status edge
  echo "the guard's log:"
  tail -3 "$EDGE_DATA/upgrade/agent.log"
}

step "3. upgrade the edge to $NEW from the cloud"
upgrade levee-new done "$NEW"

step "3. upgrade the edge to $BAD, a binary that exits 3 at start: the guard rolls back"
upgrade levee-bad failed "$NEW"

if [ "${SKIP_EXIT2:-}" = 1 ]; then
  echo "step 4 skipped: SKIP_EXIT2=1"
else
  step "4. upgrade the edge to $BAD2, a binary that exits 2 at start (RestartPreventExitStatus=2)"
  # systemd does not restart a unit whose agent exited 2: the guard's rollback must start it again.
  upgrade levee-bad2 failed "$NEW"
fi

step "5. levee uninstall --mode edge: the unit and its worker go, the cloud stays"
/usr/local/bin/levee uninstall --mode edge || fail "uninstall"
worker_gone() { [ -z "$(worker_pid)" ]; }
wait_for 20 "the worker has stopped" worker_gone
[ ! -e /etc/systemd/system/levee-edge.service ] || fail "the unit file is still there"
is_active cloud || fail "the cloud is not active"
echo "levee-edge: $(systemctl is-active levee-edge); levee-cloud: $(systemctl is-active levee-cloud)"

step "ALL CHECKS PASSED"
