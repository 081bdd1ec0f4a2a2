#!/usr/bin/env bash
# Runs python3 of the torch 2.x chroot (built by provision.sh) with the same paths as the host: /tmp, the folder that
# holds this clone (so ../shared too), /dev and /proc are bind-mounted into the chroot once, at identical paths, so a
# test hands the oracle the same file names it uses itself. Arguments and stdin go to python3 unchanged.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${LCKPT_TORCH2_ROOT:-/var/cache/lightningckpt/torch2-sid}"
if [ ! -f "$root/.lightningckpt-ready" ]; then
  echo "torch 2.x oracle missing: run tools/torch2/provision.sh (expected at $root)" >&2
  exit 97
fi
workspace="$(cd "$here/../../.." && pwd)"

bind() { # bind SRC into the chroot at the same path, once
  local src="$1" dst="$root$1"
  mountpoint -q "$dst" 2>/dev/null && return 0
  mkdir -p "$dst"
  mount --rbind "$src" "$dst"
  mount --make-rslave "$dst" 2>/dev/null || true
}
{
  flock 9
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  bind /dev
  bind /tmp
  [ "$workspace" = "/tmp" ] || case "$workspace" in /tmp/*) ;; *) bind "$workspace" ;; esac
} 9>"$root.mount.lock"

cd_to="$PWD"
exec chroot "$root" /usr/bin/env -C "$cd_to" PYTHONHASHSEED="${PYTHONHASHSEED:-0}" HOME=/root python3 "$@"
