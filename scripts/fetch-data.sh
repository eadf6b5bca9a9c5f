#!/usr/bin/env bash
# Obtains the full Fashion-MNIST (60,000 training + 10,000 test images, IDX, gzipped) into DEST
# (default ./data/fashion-mnist, where `nasgpu --dataset fashion-mnist` looks) from the
# Debian/Ubuntu package dataset-fashion-mnist:
#   - files already in DEST and verified: nothing to do;
#   - the package already installed (/usr/share/datasets/fashion-mnist): copy from there;
#   - root: apt-get install the package, then copy;
#   - otherwise: apt-get download + dpkg-deb -x into a temp dir (no root needed), then copy.
# Every file is checked (gzip integrity, decompressed size, sha256 of the decompressed data).
# Safe to rerun. Usage: scripts/fetch-data.sh [DEST]
set -euo pipefail

PKG=dataset-fashion-mnist
SYSTEM_DIR=/usr/share/datasets/fashion-mnist
UPSTREAM=https://github.com/zalandoresearch/fashion-mnist
# file, decompressed bytes, sha256 of the decompressed bytes
FILES=(
  "train-images-idx3-ubyte.gz 47040016 c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
  "train-labels-idx1-ubyte.gz 60008 bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
  "t10k-images-idx3-ubyte.gz 7840016 5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
  "t10k-labels-idx1-ubyte.gz 10008 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
)

note() { echo "fetch-data: $*"; }
die() {
  echo "fetch-data: error: $*" >&2
  exit 1
}

case "${1:-}" in
  -h | --help)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
[[ $# -le 1 ]] || die "too many arguments; usage: scripts/fetch-data.sh [DEST]"
DEST=${1:-./data/fashion-mnist}

# Prints why FILE is not the expected Fashion-MNIST file; silent and 0 when it is.
check_file() {
  local path=$1 size=$2 sha=$3 got
  [[ -f $path ]] || { echo "missing"; return 1; }
  if ! got=$(gzip -dc -- "$path" 2>/dev/null | wc -c) || ! gzip -t -- "$path" 2>/dev/null; then
    echo "not a valid gzip file"
    return 1
  fi
  [[ $got == "$size" ]] || { echo "decompresses to $got bytes, expected $size"; return 1; }
  got=$(gzip -dc -- "$path" | sha256sum | cut -d' ' -f1)
  [[ $got == "$sha" ]] || { echo "content sha256 $got, expected $sha"; return 1; }
}

# 0 when DIR holds all four files intact; with "verbose", reports each problem.
check_dir() {
  local dir=$1 verbose=${2:-} ok=0 entry name size sha why
  for entry in "${FILES[@]}"; do
    read -r name size sha <<<"$entry"
    if ! why=$(check_file "$dir/$name" "$size" "$sha"); then
      ok=1
      [[ -z $verbose ]] || echo "  $dir/$name: $why" >&2
    fi
  done
  return $ok
}

command -v gzip >/dev/null && command -v sha256sum >/dev/null || die "needs gzip and sha256sum"
if check_dir "$DEST"; then
  note "$DEST already holds the four Fashion-MNIST files, verified; nothing to do"
  exit 0
fi
if [[ -d $DEST ]]; then
  note "$DEST is incomplete; these files will be (re)placed:"
  check_dir "$DEST" verbose 2>&1 | sed 's/^/fetch-data: /' || true
fi
# Fail before downloading anything if DEST cannot be written.
mkdir -p -- "$DEST" && [[ -w $DEST ]] || die "cannot create or write to $DEST"

manual="or download the four .gz files from $UPSTREAM (README, 'Get the Data') into $DEST"
tmp=""
cleanup() { [[ -z $tmp ]] || rm -rf -- "$tmp"; }
trap cleanup EXIT

if check_dir "$SYSTEM_DIR"; then
  note "using the installed package's files in $SYSTEM_DIR"
  src=$SYSTEM_DIR
  licence=/usr/share/doc/$PKG/copyright
elif [[ $(id -u) == 0 ]]; then
  command -v apt-get >/dev/null || die "apt-get not found (not Debian/Ubuntu?); $manual"
  note "running as root: apt-get install $PKG (about 31 MB)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$PKG"; then
    note "install failed; refreshing package lists and retrying"
    apt-get update -q || die "apt-get update failed; $manual"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$PKG" ||
      die "apt-get install $PKG failed; $manual"
  fi
  if ! check_dir "$SYSTEM_DIR"; then
    note "installed files do not verify; reinstalling"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "$PKG" ||
      die "apt-get install --reinstall $PKG failed"
  fi
  src=$SYSTEM_DIR
  licence=/usr/share/doc/$PKG/copyright
else
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    die "apt-get/dpkg-deb not found (not Debian/Ubuntu?); $manual"
  tmp=$(mktemp -d)
  note "not root: apt-get download $PKG (about 31 MB) and unpack it with dpkg-deb in $tmp"
  if ! (cd "$tmp" && apt-get download "$PKG"); then
    die "apt-get download $PKG failed. If apt reports 'Unable to locate package', the package \
lists are missing or stale: ask an administrator to run 'apt-get update' (the package is in \
Debian bookworm and later and Ubuntu 20.04 and later); $manual"
  fi
  dpkg-deb -x "$tmp"/"$PKG"_*.deb "$tmp/root" || die "dpkg-deb could not unpack the package"
  src=$tmp/root$SYSTEM_DIR
  licence=$tmp/root/usr/share/doc/$PKG/copyright
fi

if ! check_dir "$src" verbose; then
  die "the files from $PKG in $src do not verify (see above); $manual"
fi

for entry in "${FILES[@]}"; do
  read -r name _ _ <<<"$entry"
  # Copy under a temporary name, then rename: an interrupted run never leaves a half file.
  cp -- "$src/$name" "$DEST/.$name.part" && mv -f -- "$DEST/.$name.part" "$DEST/$name" ||
    die "cannot write $DEST/$name"
done
[[ ! -f $licence ]] || cp -- "$licence" "$DEST/LICENSE" || die "cannot write $DEST/LICENSE"

check_dir "$DEST" verbose || die "the copies in $DEST do not verify (see above)"
note "Fashion-MNIST is in $DEST (MIT licence, (c) Zalando SE: $DEST/LICENSE):"
for entry in "${FILES[@]}"; do
  read -r name size _ <<<"$entry"
  note "  $name  $(stat -c %s "$DEST/$name") bytes, $size decompressed, sha256 verified"
done
