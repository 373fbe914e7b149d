#include "store/dir_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <unistd.h>

#include "common/fd.hpp"

namespace tiffin {

Result<std::shared_ptr<DirStore>> DirStore::open(const std::string& root, bool create) {
  struct stat st;
  if (::stat(root.c_str(), &st) < 0) {
    if (errno != ENOENT) return fail_errno("dir store " + root);
    // A store that is not there (yet) for reading is one that has no blocks: a replica of it
    // may still have them, so this is not an error until a block is asked for.
    if (create) {
      std::error_code ec;
      std::filesystem::create_directories(root, ec);
      if (ec) return fail(Errc::io, "creating dir store " + root + ": " + ec.message());
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return fail(Errc::invalid_input, "dir store " + root + " is not a directory");
  }
  return std::shared_ptr<DirStore>(new DirStore(root));
}

std::string DirStore::block_path(const Hash& id) const {
  std::string hex = to_hex(id);
  return root_ + "/" + hex.substr(0, 2) + "/" + hex;
}

Result<Bytes> DirStore::get(const Hash& id) {
  std::string path = block_path(id);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return fail(Errc::not_found, "block " + to_hex(id) + " not in " + url());
    return fail_errno("open " + path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return fail_errno("stat " + path);
  Bytes data(static_cast<size_t>(st.st_size));
  size_t n = TRY_CTX(read_full(fd.get(), data), path);
  data.resize(n);
  return data;
}

Result<bool> DirStore::has(const Hash& id) {
  if (::access(block_path(id).c_str(), F_OK) == 0) return true;
  if (errno == ENOENT) return false;
  return fail_errno("access " + block_path(id));
}

Result<void> DirStore::put(const Hash& id, std::span<const uint8_t> sealed) {
  std::string path = block_path(id);
  if (::access(path.c_str(), F_OK) == 0) return {};  // content-addressed: same id, same bytes
  std::string dir = path.substr(0, path.rfind('/'));
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) return fail_errno("mkdir " + dir);
  TRY_CTX(write_file_atomic(path, sealed, 0644, /*durable=*/false), "writing block " + to_hex(id));
  return {};
}

Result<void> DirStore::flush() {
  UniqueFd fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + root_);
  if (::syncfs(fd.get()) < 0) return fail_errno("syncfs " + root_);
  return {};
}

}  // namespace tiffin
