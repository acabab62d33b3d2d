#!/usr/bin/env bash
# `make docker-test`: build the gpuent image offline and check it gives the host's bits.
#
#  1. a Docker daemon: the running one, or dockerd started here (as root) and stopped at exit;
#  2. a base image with python3: DOCKER_BASE, or a Debian minbase made with debootstrap and
#     `docker import` (the root filesystem is cached in DOCKER_CACHE between runs);
#  3. the wheelhouse for the base's Python: gpuent's wheel built from this tree plus every
#     dependency of gpuent[EXTRAS] (CuPy for CUDA 13 included), by `pip download`;
#  4. `docker build --network none` of docker/Dockerfile;
#  5. in the container: `gpuent info`, `gpuent demo` into a mounted folder, `gpuent entropy`
#     of the demo's sample; the same entropy command on the host; the two maps compared
#     byte for byte. Prints the image size and the time of every step.
#
# Settings (environment): PYTHON (host Python with pip; default .venv/bin/python),
# HOST_GPUENT (default .venv/bin/gpuent), DOCKER_IMAGE (tag, default gpuent:test),
# DOCKER_BASE, DOCKER_EXTRAS (default cuda13,io,plot), DOCKER_CACHE, DEBIAN_SUITE
# (default bookworm), DEBIAN_MIRROR (default: debootstrap's).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-.venv/bin/python}
HOST_GPUENT=${HOST_GPUENT:-.venv/bin/gpuent}
IMAGE=${DOCKER_IMAGE:-gpuent:test}
BASE=${DOCKER_BASE:-}
EXTRAS=${DOCKER_EXTRAS:-cuda13,io,plot}
CACHE=${DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gpuent-docker}
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-}
WHEELHOUSE=docker/wheelhouse

say() { printf 'docker-test: %s\n' "$*"; }
die() { printf 'docker-test: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpuent-docker-test.XXXXXX")
STARTED_DOCKERD=
build_pid=
cleanup() {
    local rc=$?
    [ -z "$build_pid" ] || kill "$build_pid" 2> /dev/null || true
    if [ -n "$STARTED_DOCKERD" ]; then
        say "stopping the dockerd started here (pid $STARTED_DOCKERD)"
        kill "$STARTED_DOCKERD" 2> /dev/null || true
        for _ in $(seq 60); do kill -0 "$STARTED_DOCKERD" 2> /dev/null || break; sleep 0.5; done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'printf "docker-test: error: this step failed (line %s): %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM

[ -x "$PYTHON" ] || die "no host Python at $PYTHON: run 'make docker-test' (it makes .venv) or set PYTHON"
[ -x "$HOST_GPUENT" ] || die "no host gpuent at $HOST_GPUENT: run 'make docker-test' or set HOST_GPUENT"
HOST_GPUENT="$(cd "$(dirname "$HOST_GPUENT")" && pwd)/$(basename "$HOST_GPUENT")"

# ---- 1. the Docker daemon ------------------------------------------------------------------
command -v docker > /dev/null \
    || die "no docker command: install Docker (Debian/Ubuntu: apt-get install docker.io)"
if ! docker info > /dev/null 2>&1; then
    if [ -S /var/run/docker.sock ]; then
        die "a Docker daemon runs but this user cannot use it ($(docker info 2>&1 | tail -1)): join the docker group or run as root"
    fi
    command -v dockerd > /dev/null \
        || die "no Docker daemon runs and dockerd is not installed: install Docker (apt-get install docker.io)"
    [ "$(id -u)" = 0 ] \
        || die "no Docker daemon runs and only root can start one: start it (sudo dockerd &, or systemctl start docker) and rerun"
    say "no Docker daemon runs: starting dockerd (stopped again at the end)"
    dockerd > "$WORK/dockerd.log" 2>&1 &
    STARTED_DOCKERD=$!
    for _ in $(seq 120); do
        docker info > /dev/null 2>&1 && break
        kill -0 "$STARTED_DOCKERD" 2> /dev/null \
            || { STARTED_DOCKERD=; die "dockerd exited: $(tail -3 "$WORK/dockerd.log")"; }
        sleep 0.5
    done
    docker info > /dev/null 2>&1 || die "dockerd did not answer within 60 s: $(tail -3 "$WORK/dockerd.log")"
fi
say "Docker server $(docker version --format '{{.Server.Version}}')"

# ---- 2. the base image ---------------------------------------------------------------------
base_note=given
t_base0=$(now)
if [ -z "$BASE" ]; then
    BASE=gpuent-base:$SUITE
    if docker image inspect "$BASE" > /dev/null 2>&1; then
        base_note="local, imported before"
    else
        tarball=$CACHE/$SUITE-minbase.tar
        if [ -f "$tarball" ]; then
            base_note="local, imported from the cached root filesystem"
        else
            command -v debootstrap > /dev/null \
                || die "no base image and no debootstrap to make one: install debootstrap, or set DOCKER_BASE to an image with python3"
            [ "$(id -u)" = 0 ] || die "debootstrap needs root: run as root, or set DOCKER_BASE to an image with python3"
            say "making the $SUITE base with debootstrap (minutes; cached in $CACHE)"
            mkdir -p "$CACHE"
            root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
            # shellcheck disable=SC2086
            debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
                "$SUITE" "$root" $MIRROR > "$WORK/debootstrap.log" 2>&1 \
                || { rm -rf "$root"; die "debootstrap failed: $(tail -3 "$WORK/debootstrap.log")"; }
            rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
            tar --numeric-owner -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
            rm -rf "$root"
            base_note="local, made now with debootstrap"
        fi
        docker import --change 'CMD ["/bin/bash"]' "$tarball" "$BASE" > /dev/null
    fi
elif ! docker image inspect "$BASE" > /dev/null 2>&1; then
    docker pull "$BASE" || die "cannot pull $BASE (offline?): load it first (docker load) or leave DOCKER_BASE unset"
fi
read -r PYVER GLIBC ARCH < <(docker run --rm --network none --entrypoint python3 "$BASE" -c \
    'import platform, sys; print("%d.%d" % sys.version_info[:2], platform.libc_ver()[1], platform.machine())' \
    2> /dev/null) || die "the base $BASE has no python3: an offline build needs python3 and its venv module in the base"
t_base=$(since "$t_base0")
say "base $BASE ($base_note, $t_base s): Python $PYVER, glibc $GLIBC, $ARCH"

# ---- 3. the wheelhouse ---------------------------------------------------------------------
t=$(now)
PYTHON=$PYTHON bash docker/wheelhouse.sh "$PYVER" "$GLIBC" "$EXTRAS" "$ARCH" > "$WORK/wheelhouse.log" \
    || die "the wheelhouse could not be filled (above)"
sed 's/^/  | /' "$WORK/wheelhouse.log"
n_wheels=$(ls "$WHEELHOUSE"/*.whl | wc -l)
wheel_mb=$(du -sm "$WHEELHOUSE" | cut -f1)
t_wheels=$(since "$t")

# ---- 4. the offline build ------------------------------------------------------------------
old_id=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2> /dev/null || true)
say "docker build --network none (base $BASE, extras $EXTRAS)"
t=$(now)
: > "$WORK/build.log"
docker build --network none --force-rm --build-arg BASE="$BASE" --build-arg EXTRAS="$EXTRAS" \
    -f docker/Dockerfile -t "$IMAGE" . > "$WORK/build.log" 2>&1 &
build_pid=$!
# the steps as they start (the whole log only when the build fails)
tail -n +1 -f --pid "$build_pid" "$WORK/build.log" \
    | grep --line-buffered -E '^(Step [0-9]|Successfully (built|tagged)|installing|python3 )' \
    | sed -u 's/^/  | /' || true
if ! wait "$build_pid"; then
    build_pid=
    tail -n 40 "$WORK/build.log" | sed 's/^/  ! /'
    die "docker build failed (log above; 'docker image prune' removes the layers it left)"
fi
build_pid=
t_build=$(since "$t")
# the build stage (it holds the wheelhouse) and an image this tag had before are dangling now
docker image prune -f --filter label=org.gpuent.stage=build > /dev/null
new_id=$(docker image inspect -f '{{.Id}}' "$IMAGE")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    docker rmi "$old_id" > /dev/null 2>&1 || true
fi
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
base_size=$(docker image inspect -f '{{.Size}}' "$BASE")
size_h=$(awk -v s="$size" -v b="$base_size" \
    'BEGIN { printf "%.2f GB (%d bytes; base %.2f GB, gpuent and its venv %.2f GB)", s / 1e9, s, b / 1e9, (s - b) / 1e9 }')

# ---- 5. run it -----------------------------------------------------------------------------
data=$WORK/data
mkdir -p "$data"
chmod 0777 "$data"  # the image runs as its own non-root user
run() { docker run --rm --network none -v "$data:/data" "$@"; }

say "docker run $IMAGE info"
t=$(now); run "$IMAGE" info > "$WORK/info.log"; t_info=$(since "$t"); sed 's/^/  | /' "$WORK/info.log"
say "docker run $IMAGE demo --out /data/demo"
t=$(now); run "$IMAGE" demo --out /data/demo > "$WORK/demo.log"; t_demo=$(since "$t")
sed 's/^/  | /' "$WORK/demo.log"
[ -f "$data/demo/sample.png" ] || die "the container's demo wrote no sample.png into the mounted folder"
args=(entropy demo/sample.png -r 7 --quiet)
say "docker run $IMAGE ${args[*]} -o container.npy  (NUMBA_DEBUG_CACHE=1 counts compiles)"
t=$(now)
run -e NUMBA_DEBUG_CACHE=1 "$IMAGE" "${args[@]}" -o container.npy > "$WORK/cache.log"
t_entropy=$(since "$t")
compiled=$(grep -c 'data saved' "$WORK/cache.log" || true)
loaded=$(grep -c 'data loaded' "$WORK/cache.log" || true)
say "host: gpuent ${args[*]} -o host.npy"
t=$(now); (cd "$data" && "$HOST_GPUENT" "${args[@]}" -o host.npy); t_host=$(since "$t")
say "docker run --user 4242:4242 $IMAGE ${args[*]} -o other-user.npy  (any uid may run it)"
t=$(now); run --user 4242:4242 "$IMAGE" "${args[@]}" -o other-user.npy; t_uid=$(since "$t")

same=no
cmp -s "$data/container.npy" "$data/host.npy" && cmp -s "$data/container.npy" "$data/other-user.npy" \
    && same=yes
sha=$(sha256sum "$data/container.npy" | cut -c1-16)
host_sha=$(sha256sum "$data/host.npy" | cut -c1-16)

cat << EOF

docker-test summary
  base image      $BASE ($base_note, $t_base s; Python $PYVER, glibc $GLIBC)
  wheelhouse      $n_wheels wheels, $wheel_mb MB, downloaded in $t_wheels s
  build           $t_build s (docker build --network none)
  image           $IMAGE: $size_h
  container runs  info $t_info s, demo $t_demo s, entropy $t_entropy s, entropy as uid 4242 $t_uid s
  warm kernels    first container entropy: $loaded Numba kernels loaded from the cache, $compiled compiled
  host run        entropy $t_host s
  bit-identical   $same (container sha256 $sha..., host $host_sha...; $(stat -c %s "$data/host.npy") bytes)
EOF
[ "$same" = yes ] || die "the container's map differs from the host's"
