#!/usr/bin/env bash
# Runs .ci/run as CI would on a brand-new Debian 12 machine, on this one: a debootstrap'd bookworm
# (minbase + git + ca-certificates: none of the packages scripts/setup.sh installs) with this host's
# node and npm copied in, a fresh clone of HEAD and a copy of ../shared beside it, then
# `CI=true bash .ci/run` with that tree as the root (pivot_root in a private mount namespace with
# /proc, /sys and /dev bound; every mount goes away with the namespace). It proves that setup.sh
# installs everything the tests need from nothing. Slow (apt downloads, a few minutes); for people, not for CI.
#
#   sudo bash scripts/ci-fresh.sh [WORKDIR]     # default /var/tmp/rootc-ci-fresh
#
# The debootstrap base is kept in WORKDIR/base.tar and reused; each run starts from a copy of it.
set -euo pipefail
[[ $(id -u) == 0 ]] || { echo "ci-fresh: must run as root" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/rootc-ci-fresh}
mkdir -p "$work"
say() { printf '[ci-fresh] %s\n' "$*"; }

if [[ ! -f $work/base.tar ]]; then
  command -v debootstrap >/dev/null || { echo "ci-fresh: needs debootstrap" >&2; exit 2; }
  say "debootstrap bookworm minbase (once)"
  rm -rf --one-file-system "$work/base"
  debootstrap --variant=minbase --include=git,ca-certificates bookworm "$work/base" http://deb.debian.org/debian \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/base" -cf "$work/base.tar.tmp" . && mv "$work/base.tar.tmp" "$work/base.tar"
  rm -rf --one-file-system "$work/base"
fi

root=$work/root
rm -rf --one-file-system "$root"
mkdir -p "$root"
say "fresh root from base.tar"
tar -C "$root" -xf "$work/base.tar"
# What a new machine of this kind has besides Debian: Node.js 20 and npm.
cp -a "$(readlink -f "$(command -v node)")" "$root/usr/bin/node"
mkdir -p "$root/usr/lib/node_modules"
cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$root/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
# The host's apt sources and name resolution.
rm -f "$root/etc/apt/sources.list"
cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/" 2>/dev/null ||
  cp /etc/apt/sources.list "$root/etc/apt/sources.list"
cat /etc/resolv.conf >"$root/etc/resolv.conf"
# This host reaches the npm registry through a TLS proxy whose CA is in its bundle (and CI's
# environment points Node at it): give the chroot the same bundle and variables.
ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
mkdir -p "$root/ci"
cp "$ca" "$root/ci/host-ca.crt"
# The clone and shared/, as CI lays them out.
mkdir -p "$root/ci"
git clone -q "$repo" "$root/ci/main"
if [[ -d $repo/../shared ]]; then cp -a "$repo/../shared" "$root/ci/shared" && chmod -R a-w "$root/ci/shared"; fi

mkdir -p "$work/debs/partial"
say "running CI=true bash .ci/run in the chroot (log: $work/ci.log)"
start=$SECONDS
status=0
unshare --mount --propagation private -- bash -c '
  set -e
  root=$1 debs=$2
  # A real root, not a chroot: the kernel refuses user namespaces (rootless tests) inside a chroot,
  # and unshare and dockerd remount "/" private, which needs it to be a mount point.
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  # Downloaded .debs kept between runs (installs still start from nothing).
  mount --bind "$debs" "$root/var/cache/apt/archives"
  cd "$root"
  mkdir -p .oldroot
  pivot_root . .oldroot
  exec /usr/bin/env -i HOME=/root CI=true LANG=C.UTF-8 \
    NODE_EXTRA_CA_CERTS=/ci/host-ca.crt npm_config_cafile=/ci/host-ca.crt \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "umount -l /.oldroot && rmdir /.oldroot && cd /ci/main && bash .ci/run" </dev/null
' _ "$root" "$work/debs" >"$work/ci.log" 2>&1 || status=$?
tail -n 5 "$work/ci.log"
say "exit $status after $((SECONDS - start)) s"
exit "$status"
