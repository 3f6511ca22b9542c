#!/usr/bin/env bash
# Builds a Valkey image with no registry: Debian's valkey binaries, the libraries ldd
# lists and a static busybox (sh, sed, ...) in one layer, imported with `docker import`.
# The last line printed is the image tag, for VALKEY_IMAGE.
set -euo pipefail
server=$(command -v valkey-server) || { echo "valkey-server missing: run 'make deps' (scripts/install-system.sh)" >&2; exit 2; }
cli=$(command -v valkey-cli)
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "busybox missing: apt-get install busybox-static" >&2; exit 2; }
version=$("$server" --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
tag="${VALKEY_LAB_IMAGE_NAME:-valkey-lab}:${version}-debian"

if docker image inspect "$tag" >/dev/null 2>&1 && [ "${REBUILD:-0}" != 1 ]; then
  echo "image $tag already built (REBUILD=1 to rebuild)"
  echo "$tag"; exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/local/bin,data,tmp,etc}
chmod 1777 "$root/tmp"
# valkey-server is a symlink to a multi-call binary that picks its role from argv[0].
cp "$(readlink -f "$server")" "$root/usr/local/bin/valkey-server"
ln -s valkey-server "$root/usr/local/bin/valkey-sentinel"
cp "$cli" "$root/usr/local/bin/valkey-cli"
for lib in $(ldd "$(readlink -f "$server")" "$cli" | awk '/=> \//{print $3} /^\t\//{print $1}' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/data:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/bin' \
  --change 'WORKDIR /data' \
  --change 'CMD ["valkey-server"]' \
  --message "Valkey $version from Debian packages (valkey lab, offline build)" \
  - "$tag" >/dev/null
echo "built $tag"
echo "$tag"
