// The uncompressed kernel inside a bzImage (/boot/vmlinuz-*): an ELF that qemu boots through its
// PVH entry point. The guest then skips the real-mode setup and the decompressor, which for
// Debian's xz-compressed kernel is the largest part of a microVM's boot (and under nested KVM the
// setup is where a guest hangs).
#pragma once

#include <string>

#include "common/error.hpp"

namespace tiffin::vm {

// Writes the ELF inside `bzimage` (its payload: xz, gzip, zstd… as libarchive reads them) to
// `out`, atomically. Errc::unsupported when `bzimage` is not a bzImage or holds no ELF.
Result<void> extract_vmlinux(const std::string& bzimage, const std::string& out);

}  // namespace tiffin::vm
