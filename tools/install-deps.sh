#!/bin/sh
# Installs the Debian 12 packages jumpback's build, tests and demo need (make deps); with the
# argument `bench`, also what the benchmarks need (make bench-deps: the plot's matplotlib).
# Does nothing when all are present; otherwise runs apt-get update once, then installs.
set -eu

PACKAGES="make gcc gcc-multilib nasm binutils python3 qemu-system-x86 libcmocka-dev libxxhash-dev python3-xxhash grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools ovmf isolinux syslinux-common fdisk gdisk strace"
# The real-Linux round trip: kernels A and B built from Debian's source package, kernel B's
# busybox, Debian's kexec, kernel A's ext2 root disk.
PACKAGES="$PACKAGES linux-source-6.12 bc bison flex libelf-dev xz-utils cpio busybox-static kexec-tools e2fsprogs"
if [ "${1:-}" = bench ]; then
	PACKAGES="$PACKAGES python3-matplotlib"
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
