#!/usr/bin/env bash
# Make sure the local test images exist. Two sets, each on its own Debian minbase:
#   scripts/images.sh                  what scripts/setup.sh ensures (Debian 12, bookworm):
#     stateful-test/base:bookworm      minbase (mmdebstrap), shared by the others
#     stateful-test/mariadb:10.11      (+ :10.11-alt, the same image under a second tag)
#     stateful-test/redis:7.0          (+ :7.0-alt)
#     stateful-test/postgres:15        (+ :15-alt)
#     stateful-test/busybox:latest
#   scripts/images.sh --second-majors  a later major version of each database (Debian 13, trixie):
#     stateful-test/base:trixie
#     stateful-test/postgres:17, stateful-test/mariadb:11.8, stateful-test/redis:8.0
# Only tests of a change of major version need the second set, so it is built on demand: the
# usual run does not pay for it.
# No registry is reachable from these machines, so images are built from Debian packages
# (context in images/: one Dockerfile per database, the major given as a build argument). A
# set's first build takes a minute or two; it is saved to $CACHE/images.tar (the second set to
# $CACHE/images-trixie.tar), which later runs load in a few seconds, and a run that finds the
# set up to date does nothing. Each image carries a fingerprint of what it is built from
# (images/, the base recipe, the set's definition): an edit there rebuilds them, and a stale
# tar is never loaded.
# The -alt tags let tests change a container's image reference without a new image.
# Environment: STATEFUL_TEST_CACHE (default /var/cache/stateful-test),
#              STATEFUL_DEBIAN_MIRROR (mmdebstrap MIRROR arguments, space-separated, used for
#              both releases, so give URIs rather than whole sources lines; default:
#              mmdebstrap's own, which adds the -updates and -security suites),
#              STATEFUL_TEST_IMAGE_NS (default stateful-test: the repository part of every
#              tag). Another name, with another STATEFUL_TEST_CACHE, builds a separate copy: a
#              change to images/ can be tried on a shared engine without moving the tags that
#              other test runs are using.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
context=$root/images
cache=${STATEFUL_TEST_CACHE:-/var/cache/stateful-test}
NS=${STATEFUL_TEST_IMAGE_NS:-stateful-test}
LABEL=org.stateful-test.fingerprint

# The set this run ensures, filled in by choose_set: its Debian release, base, images and tar.
# A DATABASES line reads "TAG DIR PACKAGE MAJOR": images/DIR built with the release's PACKAGE,
# whose version must be MAJOR.something.
SUITE='' BASE='' base_tar='' images_tar='' ALT_TAGS=0 BUSYBOX=''
DATABASES=() BUILT=() ALL=()

choose_set() {
    local line
    case $1 in
        first)
            SUITE=bookworm images_tar=$cache/images.tar ALT_TAGS=1 BUSYBOX=$NS/busybox:latest
            DATABASES=(
                "$NS/mariadb:10.11 mariadb mariadb-server 10.11"
                "$NS/redis:7.0 redis redis-server 7.0"
                "$NS/postgres:15 postgres postgresql-15 15"
            ) ;;
        second)
            SUITE=trixie images_tar=$cache/images-trixie.tar ALT_TAGS=0 BUSYBOX=
            DATABASES=(
                "$NS/mariadb:11.8 mariadb mariadb-server 11.8"
                "$NS/redis:8.0 redis redis-server 8.0"
                "$NS/postgres:17 postgres postgresql-17 17"
            ) ;;
    esac
    BASE=$NS/base:$SUITE
    base_tar=$cache/base-$SUITE.tar
    BUILT=()
    for line in "${DATABASES[@]}"; do
        BUILT+=("${line%% *}")
        ((ALT_TAGS)) && BUILT+=("${line%% *}-alt")
    done
    [[ -z $BUSYBOX ]] || BUILT+=("$BUSYBOX")
    ALL=("$BASE" "${BUILT[@]}")
}

# The engine is 20.10 without buildx: only the legacy builder works.
export DOCKER_BUILDKIT=0

# Minbase with merged /usr from the start (otherwise usrmerge pulls in perl: 122 MB, not 74 MB).
# The apt and dpkg settings stay in the rootfs, so the images built on it keep no .debs,
# manuals, docs, translations or apt's 70 MB *.bin caches either (as the official debian
# image's docker-clean). These apt settings are written by a hook at the end, not given with
# --aptopt: mmdebstrap itself needs the .debs it downloads.
# shellcheck disable=SC2016 # "$1" is expanded by mmdebstrap's hooks (the rootfs path)
MMDEBSTRAP_OPTS=(
    --variant=minbase
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
    --aptopt='Acquire::Languages "none"'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --customize-hook='chroot "$1" apt-get clean && rm -f "$1"/var/cache/apt/*.bin'
    --customize-hook='printf "%s\n" "APT::Keep-Downloaded-Packages \"false\";" "Dir::Cache::pkgcache \"\";" "Dir::Cache::srcpkgcache \"\";" >"$1/etc/apt/apt.conf.d/90stateful-test-clean"'
)

log() { printf 'images.sh: %s\n' "$*" >&2; }

# Seconds since $1 (an $EPOCHREALTIME), for the timing lines.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Bump to rebuild the images after a change in this script that alters them.
IMAGES_REVISION=1

# What the base is made from; and what the images are made from: the base's recipe, the set's
# definition, images/ (contents and executable bits, relative paths: a clone elsewhere gets the
# same value) and IMAGES_REVISION. Edits elsewhere in this script do not force a rebuild. The
# package versions are not part of it (knowing them takes an apt-get update): a Debian point
# release reaches the images when something else rebuilds them.
base_fingerprint() {
    printf '%s\n' "$SUITE" "${MMDEBSTRAP_OPTS[@]}" "${STATEFUL_DEBIAN_MIRROR:-}" | sha256sum | cut -c1-16
}
fingerprint() {
    (
        printf '%s\n' "$IMAGES_REVISION" "$1" "${DATABASES[@]}" "$ALT_TAGS" "$BUSYBOX"
        cd "$context"
        find . -type f -print0 | sort -z | xargs -0 sha256sum
        find . -type f -executable | sort
    ) | sha256sum | cut -c1-16
}

# True when every tag exists and carries the expected fingerprint.
images_current() {
    local expected=$1 got tag
    for tag in "${BUILT[@]}"; do expected+=$'\n'$2; done
    got=$(docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "${ALL[@]}" 2>/dev/null) || return 1
    [[ $got == "$expected" ]]
}

image_label() { docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null; }

ensure_base() {
    local want=$1 t
    [[ $(image_label "$BASE" || true) == "$want" ]] && return 0
    if [[ ! -s $base_tar || $(cat "$base_tar.fingerprint" 2>/dev/null) != "$want" ]]; then
        if ! command -v mmdebstrap >/dev/null 2>&1; then
            log "installing mmdebstrap"
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends mmdebstrap; } >"$cache/apt.log" 2>&1 \
                || { cat "$cache/apt.log" >&2; return 1; }
        fi
        t=$EPOCHREALTIME
        # shellcheck disable=SC2086 # the mirror list is meant to split into arguments
        if ! mmdebstrap --format=tar "${MMDEBSTRAP_OPTS[@]}" "$SUITE" "$base_tar.tmp" \
                ${STATEFUL_DEBIAN_MIRROR:-} >"$cache/mmdebstrap-$SUITE.log" 2>&1; then
            tail -n 40 "$cache/mmdebstrap-$SUITE.log" >&2
            log "mmdebstrap failed (full log: $cache/mmdebstrap-$SUITE.log)"
            return 1
        fi
        mv "$base_tar.tmp" "$base_tar"
        printf '%s\n' "$want" >"$base_tar.fingerprint"
        log "mmdebstrap $SUITE minbase: $(since "$t") s ($(du -m "$base_tar" | cut -f1) MB)"
    fi
    t=$EPOCHREALTIME
    docker import --change "LABEL $LABEL=$want" --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$base_tar" "$BASE" >/dev/null
    log "imported $BASE: $(since "$t") s"
}

build_one() {
    local tag=$1 dir=$2 fp=$3 t buildlog=$cache/build-$SUITE-$2.log
    t=$EPOCHREALTIME
    # --network host: RUN steps use apt, and the default bridge is not needed for that.
    if ! docker build --network host --label "$LABEL=$fp" -t "$tag" --build-arg "BASE=$BASE" \
            "${@:4}" "$context/$dir" \
            >"$buildlog" 2>&1; then
        tail -n 40 "$buildlog" >&2
        log "building $tag failed (full log: $buildlog)"
        return 1
    fi
    log "built $tag: $(since "$t") s"
}

# True when images.tar holds the images of fingerprint $1.
cache_current() { [[ -s $images_tar && $(cat "$images_tar.fingerprint" 2>/dev/null) == "$1" ]]; }

save_images() {
    local fp=$1 t=$EPOCHREALTIME
    docker save -o "$images_tar.tmp" "${ALL[@]}"
    mv "$images_tar.tmp" "$images_tar"
    printf '%s\n' "$fp" >"$images_tar.fingerprint"
    log "saved $images_tar: $(since "$t") s ($(du -m "$images_tar" | cut -f1) MB)"
}

# "PACKAGE VERSION" lines: the version apt would install of each PACKAGE on $BASE today. The
# images pin it, so the version they report (PG_VERSION, ...) is the one they hold.
candidate_versions() {
    # shellcheck disable=SC2016 # expanded by the container's shell
    docker run --rm --network host "$BASE" sh -c '
        apt-get update -qq >/dev/null || exit 1
        for p; do printf "%s %s\n" "$p" "$(apt-cache show --no-all-versions "$p" | sed -n "s/^Version: //p")"; done' \
        sh "$@"
}

# Builds every database image of the set, and its -alt tag when the set has them.
build_databases() {
    local fp=$1 line tag dir package major version upstream versions packages=()
    for line in "${DATABASES[@]}"; do
        read -r _ _ package _ <<<"$line"
        packages+=("$package")
    done
    versions=$(candidate_versions "${packages[@]}") || { log "apt-get update failed on $BASE"; return 1; }
    for line in "${DATABASES[@]}"; do
        read -r tag dir package major <<<"$line"
        version=$(awk -v p="$package" '$1 == p { print $2 }' <<<"$versions")
        # 1:10.11.14-0+deb12u2 -> 10.11.14: no epoch, no Debian revision.
        upstream=${version#*:}
        upstream=${upstream%-*}
        if [[ $upstream != "$major".* ]]; then
            log "$SUITE has $package ${version:-(none)}, not the $major.x that $tag promises"
            return 1
        fi
        build_one "$tag" "$dir" "$fp" --build-arg "MAJOR=$major" \
            --build-arg "PACKAGE_VERSION=$version" --build-arg "UPSTREAM_VERSION=$upstream"
        ((ALT_TAGS)) && docker tag "$tag" "$tag-alt"
    done
    return 0
}

build_all() {
    local base_fp=$1 fp=$2 old_ids new_ids id
    old_ids=$(docker image inspect --format '{{.Id}}' "${ALL[@]}" 2>/dev/null || true)
    ensure_base "$base_fp"
    build_databases "$fp"
    if [[ -n $BUSYBOX ]]; then
        # The busybox download stage would stay behind as a dangling image: tag it, then drop it.
        build_one "$BUSYBOX-fetch" busybox "$fp" --target fetch
        build_one "$BUSYBOX" busybox "$fp"
        docker rmi "$BUSYBOX-fetch" >/dev/null
    fi
    save_images "$fp"

    # Images replaced by this build: remove them unless a container still uses them (rmi
    # without -f refuses then, and for an image that still has another tag).
    new_ids=$(docker image inspect --format '{{.Id}}' "${ALL[@]}")
    for id in $old_ids; do
        grep -qxF -- "$id" <<<"$new_ids" || docker rmi "$id" >/dev/null 2>&1 || true
    done
}

main() {
    local base_fp fp t
    case ${1:-} in
        "") choose_set first ;;
        --second-majors) choose_set second ;;
        *) log "usage: images.sh [--second-majors]"; return 2 ;;
    esac
    bash "$here/engine.sh"
    base_fp=$(base_fingerprint)
    fp=$(fingerprint "$base_fp")
    images_current "$base_fp" "$fp" && cache_current "$fp" && return 0

    mkdir -p "$cache"
    # One builder at a time (CI and a developer may run this together); the winner's images
    # are then current for the others.
    exec 9>"$cache/.lock"
    flock 9
    if images_current "$base_fp" "$fp"; then
        cache_current "$fp" || save_images "$fp"
        return 0
    fi

    if cache_current "$fp"; then
        t=$EPOCHREALTIME
        docker load -q -i "$images_tar" >/dev/null
        if images_current "$base_fp" "$fp"; then
            log "loaded the $SUITE test images from $images_tar: $(since "$t") s"
            return 0
        fi
        log "$images_tar did not hold the expected images; building them"
    fi

    t=$EPOCHREALTIME
    build_all "$base_fp" "$fp"
    log "$SUITE test images ready: $(since "$t") s"
}

main "$@"
