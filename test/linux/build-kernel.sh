#!/bin/sh
# Builds the Linux 6.12 bzImage used as kernel A and kernel B by the real-Linux round trip,
# from Debian's linux-source-6.12 and kernel.config, into a cache keyed on the recipe.
# Usage: build-kernel.sh CACHE_DIR   (prints the bzImage path on its last line)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: build-kernel.sh CACHE_DIR}
tarball=/usr/src/linux-source-6.12.tar.xz
[ -r "$tarball" ] || { echo "build-kernel: $tarball missing (apt-get install linux-source-6.12)" >&2; exit 1; }

version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
key=$( { echo "$version"; cat "$here/kernel.config" "$here/build-kernel.sh"; } | sha256sum | cut -c1-16)
out="$cache/kernel-$key"
if [ -s "$out/bzImage" ]; then
	echo "$out/bzImage"
	exit 0
fi

work="$cache/kernel-build-$key"
rm -rf "$work"
mkdir -p "$work"
echo "build-kernel: building Linux $version (about 10 minutes on 2 cores, once; cached in $out)" >&2
tar -C "$work" -xJf "$tarball"
src="$work/linux-source-6.12"
log="$work/build.log"
(
	cd "$src"
	make ARCH=x86_64 tinyconfig
	./scripts/kconfig/merge_config.sh -m .config "$here/kernel.config"
	make ARCH=x86_64 olddefconfig
) >"$log" 2>&1 || { tail -20 "$log" >&2; echo "build-kernel: configuration failed, see $log" >&2; exit 1; }

# Every line of the recipe must have taken: a dependency that olddefconfig dropped is an error.
missing=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) want=$line ;;
	"# CONFIG_"*" is not set") want=$line ;;
	*) continue ;;
	esac
	name=$(echo "$want" | sed -e 's/^# //' -e 's/[= ].*//')
	if ! grep -qx "$want" "$src/.config"; then
		have=$(grep -E "^(# )?$name[= ]" "$src/.config" || echo "$name absent")
		if [ "${want#\# }" != "$want" ] && [ "$have" = "$name absent" ]; then
			continue   # "is not set" and absent mean the same
		fi
		echo "build-kernel: kernel.config wants '$want', got '$have'" >&2
		missing=1
	fi
done <"$here/kernel.config"
[ "$missing" -eq 0 ] || exit 1

jobs=$(nproc 2>/dev/null || echo 2)
(cd "$src" && make ARCH=x86_64 -j"$jobs" bzImage) >>"$log" 2>&1 ||
	{ tail -30 "$log" >&2; echo "build-kernel: build failed, see $log" >&2; exit 1; }
mkdir -p "$out.tmp"
cp "$src/arch/x86/boot/bzImage" "$src/.config" "$src/System.map" "$out.tmp/"
rm -rf "$out"
mv "$out.tmp" "$out"
rm -rf "$work"
echo "$out/bzImage"
