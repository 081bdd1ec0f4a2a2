#!/usr/bin/env bash
# Builds, once, a Debian sid chroot holding torch 2.x (the second oracle beside the host's torch 1.13) and reuses it.
# The root lives outside the clone (default /var/cache/lightningckpt/torch2-sid, or $LCKPT_TORCH2_ROOT) so a fresh clone
# on the same machine finds it ready. Needs root (mmdebstrap, chroot, mount). Prints the root's path on success.
set -euo pipefail
root="${LCKPT_TORCH2_ROOT:-/var/cache/lightningckpt/torch2-sid}"
packages=python3-torch,python3-numpy,python3-safetensors,python3-zstandard,python3-transformers

if [ -f "$root/.lightningckpt-ready" ]; then
  echo "$root"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if ! command -v mmdebstrap >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq mmdebstrap >/dev/null
fi

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9
if [ -f "$root/.lightningckpt-ready" ]; then echo "$root"; exit 0; fi
# python.sh mounts only in its own private namespace, but an older python.sh (or a hand-made mount) may have left
# mounts in the root: never delete through a live mount.
for d in "$root" "$root.partial"; do
  if [ -d "$d" ] && findmnt -rn -o TARGET | grep -q "^$d/"; then
    echo "$d has mounts under it (left by an older python.sh or by hand); unmount them first: umount -R $d/tmp $d/dev $d/proc ..." >&2
    exit 1
  fi
done
rm -rf "$root.partial"
# The sid mirror here is a frozen snapshot, so its Release file is past its Valid-Until date.
mmdebstrap --quiet --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
  --include="$packages" sid "$root.partial" >&2
chroot "$root.partial" python3 -c 'import torch, numpy, safetensors; print("torch", torch.__version__)' >&2
touch "$root.partial/.lightningckpt-ready"
rm -rf "$root"
mv "$root.partial" "$root"
echo "$root"
