#include "vm/vmlinux.hpp"

#include <archive.h>

#include <memory>

#include "common/fd.hpp"

namespace tiffin::vm {

namespace {

uint32_t le32(const Bytes& b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 | uint32_t(b[at + 3]) << 24;
}

}  // namespace

Result<void> extract_vmlinux(const std::string& bzimage, const std::string& out) {
  Bytes image = TRY(read_file(bzimage, size_t(256) << 20));
  // The x86 boot protocol's setup header (Documentation/x86/boot.rst): "HdrS" at 0x202, the
  // setup's sectors at 0x1f1, and (2.08+) the compressed payload's offset and length from the
  // start of the protected-mode code at 0x248 and 0x24c.
  if (image.size() < 0x250 || le32(image, 0x202) != 0x53726448 || (image[0x206] | image[0x207] << 8) < 0x208)
    return fail(Errc::unsupported, bzimage + ": not a bzImage (boot protocol 2.08 or later)");
  size_t setup = (size_t(image[0x1f1] ? image[0x1f1] : 4) + 1) * 512;
  size_t offset = setup + le32(image, 0x248), length = le32(image, 0x24c);
  if (offset > image.size() || length > image.size() - offset) return fail(Errc::unsupported, bzimage + ": payload outside the file");

  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  if (!a) return fail(Errc::internal, "archive_read_new");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_memory(a.get(), image.data() + offset, length) != ARCHIVE_OK)
    return fail(
        Errc::unsupported, bzimage + ": payload: " + (archive_error_string(a.get()) ? archive_error_string(a.get()) : "unreadable"));
  archive_entry* e = nullptr;
  if (archive_read_next_header(a.get(), &e) != ARCHIVE_OK) return fail(Errc::unsupported, bzimage + ": payload: no data");
  Bytes elf;
  uint8_t buf[1 << 16];
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
    // The kernel's build appends the uncompressed size after some streams, which a decoder may
    // call trailing garbage: what came before it is the whole ELF.
    if (n <= 0) break;
    elf.insert(elf.end(), buf, buf + n);
    if (elf.size() > (size_t(1) << 30)) return fail(Errc::unsupported, bzimage + ": payload over 1 GiB");
  }
  if (elf.size() < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F')
    return fail(Errc::unsupported, bzimage + ": the payload is not an ELF kernel");
  // A decoder that stopped early leaves a short ELF: its section headers, at its end, are whole.
  uint64_t shoff = 0;
  for (int i = 7; i >= 0; --i) shoff = shoff << 8 | elf[0x28 + i];
  uint64_t shsize = uint64_t(elf[0x3a] | elf[0x3b] << 8) * uint64_t(elf[0x3c] | elf[0x3d] << 8);
  if (shoff > elf.size() || shsize > elf.size() - shoff) return fail(Errc::unsupported, bzimage + ": the payload ends inside its ELF");
  return write_file_atomic(out, std::span<const uint8_t>(elf.data(), elf.size()), 0644, false);
}

}  // namespace tiffin::vm
