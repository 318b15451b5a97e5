#!/usr/bin/env bash
# The real registries and the oracle the tests and the demo use: Debian's docker-registry and skopeo.
# Extra Debian packages may be named as arguments (e.g. `time` for the benchmark's /usr/bin/time);
# each is installed unless dpkg already has it.
set -euo pipefail
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "image-sync: missing ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "image-sync: installing ${need[*]} from Debian's packages" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
