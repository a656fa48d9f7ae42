#!/usr/bin/env bash
# The project's lab: a few Docker engines on this one machine, for the several-hosts tests.
#
# Node I (1..9) is a network namespace sf-nI (eth0 10.98.0.1I/24) with a mount and UTS namespace of
# its own kept in files (hostname sf-nI, a private /etc/docker so its engine ID is its own, a sysfs of
# its netns), a dockerd with its own data-root, exec-root and pidfile, answering on
#   unix://$LAB/nI/docker.sock   tcp://10.98.0.1I:2375   ssh://root@10.98.0.1I:2222
# The bridge lives in a hub namespace sf-hub (10.98.0.2), so the host's firewall is never touched; the
# host gets one veth, sf-host 10.98.0.1/24, to reach the tcp and ssh endpoints. The hub also serves
# $LAB/hub/export over SFTP; every node mounts it with sshfs at $LAB/shared in its own mount namespace
# (this kernel has no NFS), for volumes shared between nodes. The main engine is only read from
# (`docker save` of the stateful-test/* images), never changed.
#
# Usage: lab.sh up [N]              make (or repair) a lab of N nodes, default 3; idempotent
#        lab.sh down                remove everything the lab made
#        lab.sh status              one line per node; exit 3 when the lab is down
#        lab.sh env                 KEY=VALUE lines: per-node endpoints, ssh HOME, shared path
#        lab.sh stop-node I [--kill]   SIGTERM (default) or SIGKILL node I's dockerd
#        lab.sh start-node I        start node I's dockerd again and wait until it answers
#        lab.sh partition I         cut node I's link to the hub (its unix socket still answers)
#        lab.sh heal I              restore it and wait until the tcp endpoint answers
# Environment: STATEFUL_LAB_DIR (default /tmp/stateful-lab). Needs root.
set -euo pipefail

LAB=${STATEFUL_LAB_DIR:-/tmp/stateful-lab}
NET=10.98.0                       # only inside our namespaces, plus the host's sf-host veth
MAIN=unix:///var/run/docker.sock  # the main engine: images are read from it, nothing else
IMAGES='stateful-test/*'
MARK=$LAB/.stateful-lab           # down deletes $LAB only when this file says we made it

log() { printf '[lab %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
addr() { echo "$NET.1$1"; }
node_dir() { echo "$LAB/n$1"; }
dk() { local i=$1; shift; docker -H "unix://$(node_dir "$i")/docker.sock" "$@"; }
count() { cat "$LAB/nodes" 2>/dev/null || echo 0; }
indexes() { local n; n=$(count); if ((n > 0)); then seq 1 "$n"; fi; }

# A pid from a pidfile that is running; a zombie counts as gone (pid 1 here reaps only now and then).
alive() {
    local f=$1 p state
    [[ -s $f ]] || return 1
    p=$(<"$f")
    state=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

# Run in node I's namespaces. `exec` keeps the pid: the caller's $! is then the daemon itself.
in_node() { local i=$1; shift; nsenter --net="/run/netns/sf-n$i" --mount="$(node_dir "$i")/ns/mnt" --uts="$(node_dir "$i")/ns/uts" -- "$@"; }
exec_in_node() { local i=$1; shift; exec nsenter --net="/run/netns/sf-n$i" --mount="$(node_dir "$i")/ns/mnt" --uts="$(node_dir "$i")/ns/uts" -- "$@"; }

check_node_arg() {
    [[ ${1:-} =~ ^[1-9]$ ]] || die "node index must be 1..9, got '${1:-}'"
    (($1 <= $(count))) || die "no node $1 (the lab has $(count))"
}

need_root() { [[ $(id -u) == 0 ]] || die "must run as root"; }

# Debian's packages, when missing; docker.io itself comes from scripts/engine.sh.
ensure_packages() {
    local c
    for c in ip nsenter unshare flock findmnt dockerd docker; do
        command -v "$c" >/dev/null || die "missing $c (docker.io: scripts/engine.sh; others: iproute2, util-linux)"
    done
    if [[ -x /usr/sbin/sshd ]] && command -v sshfs >/dev/null && command -v fusermount3 >/dev/null; then
        return 0
    fi
    log "installing openssh-server sshfs"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends openssh-server sshfs >/dev/null ||
        { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends openssh-server sshfs >/dev/null; }
}

have_netns() { [[ -e /run/netns/$1 ]]; }

net_up() {
    local n=$1 i
    [[ -d /run/netns ]] || touch "$LAB/.made-run-netns"
    if ! have_netns sf-hub; then
        ip netns add sf-hub
        ip -n sf-hub link set lo up
        ip -n sf-hub link add br0 type bridge
        ip -n sf-hub addr add "$NET.2/24" dev br0
        ip -n sf-hub link set br0 up
    fi
    for i in $(seq 1 "$n"); do
        if ! have_netns "sf-n$i"; then
            ip netns add "sf-n$i"
            ip -n "sf-n$i" link set lo up
        fi
        if ! ip -n sf-hub link show "sf-v$i" >/dev/null 2>&1; then
            ip link add "sf-v$i" type veth peer name eth0 netns "sf-n$i"
            ip link set "sf-v$i" netns sf-hub
            ip -n sf-hub link set "sf-v$i" master br0
            ip -n "sf-n$i" addr add "$(addr "$i")/24" dev eth0
            ip -n "sf-n$i" link set eth0 up
        fi
        ip -n sf-hub link set "sf-v$i" up   # `up` also heals a partition left behind
    done
    if ! ip link show sf-host >/dev/null 2>&1; then
        ip link add sf-host type veth peer name sf-vh netns sf-hub
        ip -n sf-hub link set sf-vh master br0 up
        ip addr add "$NET.1/24" dev sf-host
        ip link set sf-host up
    fi
}

# The mount+UTS namespace of node I, kept in files so that it outlives any dockerd (a restarted dockerd
# needs the netns mounts the killed one left there).
node_ns_up() {
    local i=$1 d
    d=$(node_dir "$i")
    mkdir -p "$d/ns" "$d/etc-docker" "$d/cgroup-move" "$LAB/shared"
    if findmnt -rn "$d/ns/mnt" >/dev/null; then return 0; fi
    touch "$d/ns/mnt" "$d/ns/uts"
    # `ip netns exec` can't be used: its own /sys remount drops the cgroup v1 mounts, and dockerd
    # then refuses to start. The set-up inside runs this script again (`_node-ns-init`).
    STATEFUL_LAB_DIR=$LAB nsenter --net="/run/netns/sf-n$i" -- \
        unshare --mount="$d/ns/mnt" --uts="$d/ns/uts" --propagation private -- "${BASH_SOURCE[0]}" _node-ns-init "$i"
}

# Inside node I's fresh namespaces. The copies of other mounts are dropped, so that this namespace
# pins nothing of the main engine's (container root filesystems, netns files) nor of other nodes'.
node_ns_init() {
    local i=$1 d m
    d=$(node_dir "$i")
    hostname "sf-n$i"
    findmnt -rn -o TARGET,FSTYPE | awk -v lab="$LAB/" '
        $2 == "nsfs" || $2 ~ /^fuse/ || index($1, lab) == 1 ||
        $1 ~ "^(/var/lib/docker|/run/docker|/var/run/docker|/run/netns)(/|$)" {print $1}' |
        sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    mount --bind "$d/etc-docker" /etc/docker   # its own key.json, so its own engine ID
    mount --rbind /sys/fs/cgroup "$d/cgroup-move"
    umount -l /sys
    mount -t sysfs sysfs /sys                  # the sysfs of this netns, the cgroups kept under it
    mount --move "$d/cgroup-move" /sys/fs/cgroup
}

dockerd_start() {
    local i=$1 d f
    d=$(node_dir "$i")
    alive "$d/dockerd.launch.pid" && return 0
    # A SIGKILLed dockerd leaves its pidfile and its containerd's; while such a pid exists (a zombie
    # until pid 1 reaps it, seconds later) a new dockerd refuses to start or waits for that containerd.
    for f in "$d/docker.pid" "$d/exec/containerd/containerd.pid"; do
        alive "$f" || rm -f "$f"
    done
    [[ -f $d/daemon.json ]] || echo '{}' >"$d/daemon.json"
    # --tls=false: an unencrypted tcp listener otherwise costs dockerd 20.10 a 15 s start-up pause.
    (exec_in_node "$i" dockerd --config-file "$d/daemon.json" \
        --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
        -H "unix://$d/docker.sock" -H "tcp://$(addr "$i"):2375" --tls=false \
        --bip "172.29.$i.1/24" --default-address-pool base=172.28.0.0/16,size=24 \
        --cgroup-parent "/sf-n$i" --storage-driver overlay2) >>"$d/dockerd.log" 2>&1 9<&- &
    echo $! >"$d/dockerd.launch.pid"
}

dockerd_wait() {
    local i=$1 d
    d=$(node_dir "$i")
    for _ in $(seq 1 600); do
        dk "$i" version --format '{{.Server.Version}}' >/dev/null 2>&1 && return 0
        alive "$d/dockerd.launch.pid" || { tail -20 "$d/dockerd.log" >&2; die "node $i: dockerd exited"; }
        sleep 0.1
    done
    die "node $i: dockerd not answering after 60 s"
}

ssh_setup() {
    local s=$LAB/ssh n hosts i
    n=$(count)
    mkdir -p "$s" "$LAB/bin" "$LAB/ssh-home/.ssh"
    [[ -f $s/client_key ]] || ssh-keygen -q -t ed25519 -N '' -C stateful-lab -f "$s/client_key"
    [[ -f $s/host_key ]] || ssh-keygen -q -t ed25519 -N '' -C stateful-lab-host -f "$s/host_key"
    cp "$s/client_key.pub" "$s/authorized_keys"
    hosts="[$NET.2]:2222"
    for i in $(seq 1 "$n"); do hosts+=",[$(addr "$i")]:2222"; done
    echo "$hosts $(cut -d' ' -f1,2 "$s/host_key.pub")" >"$s/known_hosts"
    cat >"$s/config" <<EOF
Host $NET.*
  User root
  IdentityFile $s/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $s/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
  LogLevel ERROR
EOF
    # docker-py over ssh (paramiko) reads ~/.ssh/config and ~/.ssh/known_hosts: point HOME here.
    cp "$s/config" "$LAB/ssh-home/.ssh/config"
    cp "$s/known_hosts" "$LAB/ssh-home/.ssh/known_hosts"
    chmod 700 "$LAB/ssh-home/.ssh"
    # The docker CLI runs `ssh` from PATH for ssh:// hosts: this one knows the lab.
    printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$s/config" >"$LAB/bin/ssh"
    chmod +x "$LAB/bin/ssh"
    if [[ ! -d /run/sshd ]]; then
        mkdir -m 755 /run/sshd
        touch "$LAB/.made-run-sshd"
    fi
}

sshd_config() { # LISTEN_ADDRESS PIDFILE [DOCKER_HOST]
    cat <<EOF
Port 2222
ListenAddress $1
HostKey $LAB/ssh/host_key
PidFile $2
AuthorizedKeysFile $LAB/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
ClientAliveInterval 5
ClientAliveCountMax 3
Subsystem sftp internal-sftp
# docker-py's ssh transport opens a session per HTTP connection and does not close the ones its
# pool drops at once: the default of 10 is used up within one apply (README: Several hosts).
MaxSessions 100
EOF
    # Without it `docker system dial-stdio` on the far side would reach the main engine.
    if [[ -n ${3:-} ]]; then echo "SetEnv DOCKER_HOST=$3"; fi
}

hub_sshd_start() {
    local h=$LAB/hub
    mkdir -p "$h/export"
    alive "$h/sshd.launch.pid" && return 0
    sshd_config "$NET.2" "$h/sshd.pid" >"$h/sshd_config"
    (exec nsenter --net=/run/netns/sf-hub -- /usr/sbin/sshd -D -e -f "$h/sshd_config") >>"$h/sshd.log" 2>&1 9<&- &
    echo $! >"$h/sshd.launch.pid"
}

node_sshd_start() {
    local i=$1 d
    d=$(node_dir "$i")
    alive "$d/sshd.launch.pid" && return 0
    sshd_config "$(addr "$i")" "$d/sshd.pid" "unix://$d/docker.sock" >"$d/sshd_config"
    (exec_in_node "$i" /usr/sbin/sshd -D -e -f "$d/sshd_config") >>"$d/sshd.log" 2>&1 9<&- &
    echo $! >"$d/sshd.launch.pid"
}

wait_listen() { # NETNS ADDRESS PORT
    for _ in $(seq 1 100); do
        nsenter --net="/run/netns/$1" -- ss -Hltn "src $2:$3" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    die "nothing listens on $2:$3 in $1"
}

node_sshfs_up() {
    local i=$1 d
    d=$(node_dir "$i")
    if in_node "$i" mountpoint -q "$LAB/shared"; then return 0; fi
    (exec_in_node "$i" sshfs -f -F "$LAB/ssh/config" "root@$NET.2:$LAB/hub/export" "$LAB/shared" \
        -o port=2222,allow_other,reconnect,ServerAliveInterval=5,ServerAliveCountMax=3) >>"$d/sshfs.log" 2>&1 9<&- &
    echo $! >"$d/sshfs.launch.pid"
    for _ in $(seq 1 100); do
        if in_node "$i" mountpoint -q "$LAB/shared"; then return 0; fi
        sleep 0.1
    done
    die "node $i: sshfs mount did not appear"
}

# The main engine's stateful-test/* images, saved once and loaded into each node that lacks one of them.
images_up() {
    local refs=() ref i lacking=() tar=$LAB/images.tar want have pids=()
    mapfile -t refs < <(docker -H "$MAIN" images "$IMAGES" --format '{{.Repository}}:{{.Tag}}' | sort)
    ((${#refs[@]} > 0)) || die "no $IMAGES images on the main engine (source scripts/setup.sh)"
    for i in $(indexes); do
        for ref in "${refs[@]}"; do
            want=$(docker -H "$MAIN" image inspect -f '{{.Id}}' "$ref")
            have=$(dk "$i" image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true)
            if [[ $want != "$have" ]]; then lacking+=("$i"); break; fi
        done
    done
    ((${#lacking[@]} > 0)) || return 0
    log "images: saving ${#refs[@]} from the main engine, loading into node(s) ${lacking[*]}"
    docker -H "$MAIN" save -o "$tar" "${refs[@]}"
    for i in "${lacking[@]}"; do
        dk "$i" load -q -i "$tar" >/dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || die "docker load failed"; done
    rm -f "$tar"
}

cmd_up() {
    local n=${1:-3} had i t0=$SECONDS
    [[ $n =~ ^[1-9]$ ]] || die "N must be 1..9"
    need_root
    had=$(count)
    if ((had != 0 && had != n)); then die "the lab has $had nodes; run down first"; fi
    ensure_packages
    mkdir -p "$LAB"
    touch "$MARK"
    echo "$n" >"$LAB/nodes"
    net_up "$n"
    for i in $(indexes); do node_ns_up "$i"; done
    for i in $(indexes); do dockerd_start "$i"; done
    ssh_setup
    hub_sshd_start
    for i in $(indexes); do node_sshd_start "$i"; done
    for i in $(indexes); do dockerd_wait "$i"; done
    log "engines answer ($((SECONDS - t0)) s)"
    wait_listen sf-hub "$NET.2" 2222
    for i in $(indexes); do node_sshfs_up "$i"; done
    images_up
    for i in $(indexes); do wait_listen "sf-n$i" "$(addr "$i")" 2222; done
    log "lab up: $n nodes in $((SECONDS - t0)) s"
    cmd_status
}

cmd_status() {
    local i d state link
    if (($(count) == 0)); then
        echo "lab is down ($LAB)"
        return 3
    fi
    for i in $(indexes); do
        d=$(node_dir "$i")
        state=down
        if alive "$d/dockerd.launch.pid"; then state="dockerd $(<"$d/dockerd.launch.pid")"; fi
        link=$(ip -n sf-hub -br link show "sf-v$i" 2>/dev/null | awk '{print $2}') || true
        printf 'n%s %-16s link=%-5s sshfs=%-3s %s\n' "$i" "$state" "${link:-none}" \
            "$(in_node "$i" mountpoint -q "$LAB/shared" 2>/dev/null && echo yes || echo no)" \
            "$(dk "$i" info --format 'id={{.ID}} name={{.Name}} containers={{.Containers}} images={{.Images}}' 2>/dev/null || echo 'not answering')"
    done
}

cmd_env() {
    local i
    (($(count) > 0)) || die "lab is down"
    echo "# ssh:// endpoints: docker-py (paramiko) needs HOME=$LAB/ssh-home, the docker CLI PATH=$LAB/bin:\$PATH"
    echo "STATEFUL_LAB_DIR=$LAB"
    echo "STATEFUL_LAB_NODES=$(count)"
    echo "STATEFUL_LAB_SSH_HOME=$LAB/ssh-home"
    echo "STATEFUL_LAB_BIN=$LAB/bin"
    echo "STATEFUL_LAB_SHARED=$LAB/shared"       # the sshfs mount, inside every node
    echo "STATEFUL_LAB_EXPORT=$LAB/hub/export"   # the same files, seen from the host
    for i in $(indexes); do
        echo "STATEFUL_LAB_N${i}_UNIX=unix://$(node_dir "$i")/docker.sock"
        echo "STATEFUL_LAB_N${i}_TCP=tcp://$(addr "$i"):2375"
        echo "STATEFUL_LAB_N${i}_SSH=ssh://root@$(addr "$i"):2222"
    done
}

# stop_pids SECONDS SIGNAL PIDFILE...: signal every live one, wait, SIGKILL what is left.
stop_pids() {
    local wait=$1 sig=$2 f p pids=() left=()
    shift 2
    for f in "$@"; do
        if alive "$f"; then
            p=$(<"$f")
            kill -s "$sig" "$p" 2>/dev/null || true
            pids+=("$p")
        fi
    done
    for _ in $(seq 1 $((wait * 10))); do
        left=()
        for p in "${pids[@]}"; do
            [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null || echo Z) == Z ]] || left+=("$p")
        done
        ((${#left[@]} > 0)) || break
        sleep 0.1
    done
    for p in "${left[@]}"; do
        log "pid $p still running: SIGKILL"
        kill -9 "$p" 2>/dev/null || true
    done
    rm -f "$@"
}

cmd_stop_node() {
    local i=$1 sig=TERM
    check_node_arg "$i"
    if [[ ${2:-} == --kill ]]; then sig=KILL; fi
    stop_pids 30 "$sig" "$(node_dir "$i")/dockerd.launch.pid"
}

cmd_start_node() {
    local i=$1
    check_node_arg "$i"
    dockerd_start "$i"
    node_sshd_start "$i"
    dockerd_wait "$i"
}

cmd_partition() { check_node_arg "$1"; ip -n sf-hub link set "sf-v$1" down; }

cmd_heal() {
    local i=$1
    check_node_arg "$i"
    ip -n sf-hub link set "sf-v$i" up
    alive "$(node_dir "$i")/dockerd.launch.pid" || return 0
    for _ in $(seq 1 100); do
        timeout 1 bash -c "exec 3<>/dev/tcp/$(addr "$i")/2375" 2>/dev/null && return 0
        sleep 0.1
    done
    die "node $i: tcp endpoint not back after heal"
}

# Containers a SIGKILLed dockerd left running: their shims name our exec-root, their processes sit
# in our cgroup parent.
kill_orphans() {
    local i=$1 d p c
    d=$(node_dir "$i")
    for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $d/exec/" || true); do
        for c in $(pgrep -P "$p" || true); do kill -9 "$c" 2>/dev/null || true; done
        kill -9 "$p" 2>/dev/null || true
    done
    for c in /sys/fs/cgroup/*/"sf-n$i"; do
        [[ -d $c ]] || continue
        find "$c" -name tasks -exec cat {} + 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null || true; done
    done
}

# Whatever still runs in a lab namespace: ssh sessions whose client vanished behind a partition
# (sshd leaves its sessions running when it stops), a stuck sshfs.
sweep_netns() {
    local p
    have_netns "$1" || return 0
    for p in $(ip netns pids "$1" 2>/dev/null || true); do
        log "$1: pid $p ($(cat "/proc/$p/comm" 2>/dev/null || true)) still running: SIGKILL"
        kill -9 "$p" 2>/dev/null || true
    done
}

remove_cgroups() {
    local i=$1 c
    for c in /sys/fs/cgroup/*/"sf-n$i"; do
        [[ -d $c ]] || continue
        for _ in $(seq 1 20); do
            find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [[ -d $c ]] || break
            sleep 0.1
        done
    done
}

cmd_down() {
    local i d f pidfiles=() pids=() found=()
    need_root
    # Nodes are found from what exists, not only from $LAB/nodes: a half-made lab goes too.
    for d in "$LAB"/n[1-9] /run/netns/sf-n[1-9]; do
        [[ -e $d ]] && found+=("${d##*n}")
    done
    mapfile -t found < <(printf '%s\n' "${found[@]}" | sort -u | grep . || true)
    # Containers first, while each dockerd can still remove them (and in parallel: their stop grace adds up).
    for i in "${found[@]}"; do
        if alive "$(node_dir "$i")/dockerd.launch.pid"; then
            (dk "$i" ps -aq | xargs -r docker -H "unix://$(node_dir "$i")/docker.sock" rm -f >/dev/null 2>&1 || true) &
            pids+=($!)
        fi
    done
    for i in "${pids[@]}"; do wait "$i" || true; done
    for i in "${found[@]}"; do
        d=$(node_dir "$i")
        pidfiles+=("$d/dockerd.launch.pid" "$d/sshd.launch.pid")
    done
    stop_pids 30 TERM "${pidfiles[@]}" "$LAB/hub/sshd.launch.pid"
    log "daemons stopped"
    for i in "${found[@]}"; do
        d=$(node_dir "$i")
        kill_orphans "$i"
        if findmnt -rn "$d/ns/mnt" >/dev/null; then
            nsenter --mount="$d/ns/mnt" -- fusermount3 -u -z "$LAB/shared" 2>/dev/null || true
        fi
        stop_pids 5 TERM "$d/sshfs.launch.pid"
        for f in "$d/ns/mnt" "$d/ns/uts"; do
            if findmnt -rn "$f" >/dev/null; then umount "$f"; fi
        done
        sweep_netns "sf-n$i"
        remove_cgroups "$i"
        if have_netns "sf-n$i"; then ip netns del "sf-n$i"; fi
    done
    sweep_netns sf-hub
    if ip link show sf-host >/dev/null 2>&1; then ip link del sf-host; fi
    if have_netns sf-hub; then ip netns del sf-hub; fi
    if [[ -f $LAB/.made-run-netns ]] && [[ -z $(ls -A /run/netns 2>/dev/null) ]]; then
        umount /run/netns 2>/dev/null || true
        rmdir /run/netns 2>/dev/null || true
    fi
    if [[ -f $LAB/.made-run-sshd ]]; then rmdir /run/sshd 2>/dev/null || true; fi
    if [[ -d $LAB ]]; then
        [[ -f $MARK ]] || die "$LAB was not made by lab.sh: left in place"
        if findmnt -rn -o TARGET | grep -q "^$LAB/"; then die "something is still mounted under $LAB"; fi
        log "namespaces gone; removing $LAB"
        # The nodes' data-roots (about 350 MB of image layers each) go side by side: it is most of down's time.
        pids=()
        for d in "$LAB"/n[1-9]; do
            if [[ -d $d ]]; then rm -rf --one-file-system "$d" & pids+=($!); fi
        done
        for i in "${pids[@]}"; do wait "$i"; done
        rm -rf --one-file-system "$LAB"
    fi
    log "lab down"
}

# One change at a time: two `up`s (or an up and a down) must not interleave.
lock() { exec 9<"${BASH_SOURCE[0]}"; flock -w 900 9 || die "another lab.sh holds the lock"; }

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    up) lock; cmd_up "${1:-3}" ;;
    down) lock; cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    stop-node) lock; cmd_stop_node "${1:-}" "${2:-}" ;;
    start-node) lock; cmd_start_node "${1:-}" ;;
    partition) lock; cmd_partition "${1:-}" ;;
    heal) lock; cmd_heal "${1:-}" ;;
    _node-ns-init) node_ns_init "$1" ;;
    *) sed -n '2,24p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
    esac
}

main "$@"
