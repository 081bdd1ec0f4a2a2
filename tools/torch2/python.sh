#!/usr/bin/env bash
# Runs python3 of the torch 2.x chroot (built by provision.sh) with the same paths as the host: /tmp, the folder that
# holds this clone (so ../shared too), /dev and /proc are bind-mounted at identical paths, so a test hands the oracle the
# same file names it uses itself. Arguments and stdin go to python3 unchanged.
# The mounts live in a private mount namespace of this one run (unshare), never in the shared root: a mount left in the
# root outlives the folder it shows, and a later clone at the same path would find the deleted one (CI did, exit 125).
set -euo pipefail
root="${LCKPT_TORCH2_ROOT:-/var/cache/lightningckpt/torch2-sid}"
if [ ! -f "$root/.lightningckpt-ready" ]; then
  echo "torch 2.x oracle missing: run tools/torch2/provision.sh (expected at $root)" >&2
  exit 97
fi
if [ -z "${LCKPT_TORCH2_IN_NS:-}" ]; then
  LCKPT_TORCH2_IN_NS=1 exec unshare --mount --propagation private /bin/bash "$0" "$@"
fi
unset LCKPT_TORCH2_IN_NS
here="$(cd "$(dirname "$0")" && pwd)"
workspace="$(cd "$here/../../.." && pwd)"
bind() { # SRC at the same path inside; a stale mount an older python.sh left there is dropped (in this namespace only)
  if mountpoint -q "$root$1" 2>/dev/null; then umount -l "$root$1"; fi
  mkdir -p "$root$1"
  mount --rbind "$1" "$root$1"
}
if mountpoint -q "$root/proc"; then umount -l "$root/proc"; fi
mount -t proc proc "$root/proc"
bind /dev
bind /tmp
case "$workspace" in /tmp | /tmp/*) ;; *) bind "$workspace" ;; esac
exec chroot "$root" /usr/bin/env -C "$PWD" PYTHONHASHSEED="${PYTHONHASHSEED:-0}" HOME=/root python3 "$@"
