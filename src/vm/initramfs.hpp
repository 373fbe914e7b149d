// The initial root filesystem a kernel unpacks at boot: a newc cpio (libarchive), gzip'ed or not,
// built from host files and generated text. For the VMs tiffin boots (tiffin node vm; flakes'
// microVMs).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

struct archive;

namespace tiffin::vm {

class Initramfs {
 public:
  // `gzip`: smaller, but the kernel inflates it at every boot; a small one boots faster plain.
  static Result<Initramfs> create(const std::string& path, bool gzip = true);
  Initramfs(Initramfs&& o) noexcept : a_(std::exchange(o.a_, nullptr)), path_(std::move(o.path_)) {}
  ~Initramfs();

  // `path` inside is absolute ("/usr/bin/x"); parent directories are added as needed.
  Result<void> add_file(const std::string& host_path, const std::string& path, int mode = 0);  // 0: the host file's
  Result<void> add_text(const std::string& path, const std::string& content, int mode = 0644);
  Result<void> add_symlink(const std::string& path, const std::string& target);
  Result<void> add_dir(const std::string& path, int mode = 0755);
  Result<void> finish();

 private:
  Initramfs(archive* a, std::string path) : a_(a), path_(std::move(path)) {}
  Result<void> parents(const std::string& path);
  Result<void> entry(const std::string& path, unsigned type, int mode, const std::string& data, const std::string& link = {});
  archive* a_ = nullptr;
  std::string path_;
  std::vector<std::string> dirs_;
};

}  // namespace tiffin::vm
