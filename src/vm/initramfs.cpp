#include "vm/initramfs.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/fd.hpp"

namespace tiffin::vm {

Result<Initramfs> Initramfs::create(const std::string& path, bool gzip) {
  archive* a = archive_write_new();
  if (!a) return fail(Errc::internal, "archive_write_new");
  if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
      (gzip ? archive_write_add_filter_gzip(a) : archive_write_add_filter_none(a)) != ARCHIVE_OK ||
      archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) {
    std::string msg = archive_error_string(a) ? archive_error_string(a) : "cannot write";
    archive_write_free(a);
    return fail(Errc::io, path + ": " + msg);
  }
  return Initramfs(a, path);
}

Initramfs::~Initramfs() {
  if (a_) archive_write_free(a_);
}

Result<void> Initramfs::entry(const std::string& path, unsigned type, int mode, const std::string& data, const std::string& link) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, path.substr(1).c_str());  // relative: "usr/bin/x"
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, static_cast<mode_t>(mode));
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  if (type == AE_IFLNK) archive_entry_set_symlink(e, link.c_str());
  archive_entry_set_size(e, type == AE_IFREG ? static_cast<la_int64_t>(data.size()) : 0);
  int rc = archive_write_header(a_, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK)
    return fail(Errc::io, path_ + ": " + path + ": " + (archive_error_string(a_) ? archive_error_string(a_) : "header"));
  if (type == AE_IFREG && archive_write_data(a_, data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
    return fail(Errc::io, path_ + ": writing " + path);
  return {};
}

Result<void> Initramfs::parents(const std::string& path) {
  for (size_t i = path.find('/', 1); i != std::string::npos; i = path.find('/', i + 1)) TRY(add_dir(path.substr(0, i)));
  return {};
}

Result<void> Initramfs::add_dir(const std::string& path, int mode) {
  if (std::find(dirs_.begin(), dirs_.end(), path) != dirs_.end()) return {};
  dirs_.push_back(path);
  TRY(parents(path));
  return entry(path, AE_IFDIR, mode, {});
}

Result<void> Initramfs::add_file(const std::string& host_path, const std::string& path, int mode) {
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0) return fail_errno("VM image: " + host_path);
  Bytes content = TRY(read_file(host_path, size_t(512) << 20));
  TRY(parents(path));
  return entry(path, AE_IFREG, mode ? mode : static_cast<int>(st.st_mode & 07777), std::string(content.begin(), content.end()));
}

Result<void> Initramfs::add_text(const std::string& path, const std::string& content, int mode) {
  TRY(parents(path));
  return entry(path, AE_IFREG, mode, content);
}

Result<void> Initramfs::add_symlink(const std::string& path, const std::string& target) {
  TRY(parents(path));
  return entry(path, AE_IFLNK, 0777, {}, target);
}

Result<void> Initramfs::finish() {
  int rc = archive_write_close(a_);
  archive_write_free(a_);
  a_ = nullptr;
  if (rc != ARCHIVE_OK) return fail(Errc::io, path_ + ": closing");
  return {};
}

}  // namespace tiffin::vm
