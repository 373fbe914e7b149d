// Fuzz target (libFuzzer interface) for docker cp's way in (flist/path_archive's
// extract_in_root): any bytes as a tar, unpacked into a root that holds symlinks to "/" and to
// "..", must never write beside the root — a directory next to it stays empty — and must end
// in success or an error, never a crash. The first byte picks the options.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/remove_tree.hpp"
#include "flist/path_archive.hpp"
#include "fuzz_support.hpp"

namespace {

struct Dirs {
  std::string base, root, outside;
};

const Dirs& dirs() {
  static const Dirs d = [] {
    std::string base = std::filesystem::temp_directory_path().string() + "/cp-fuzz-" + std::to_string(::getpid());
    Dirs out{base, base + "/root", base + "/outside"};
    std::filesystem::create_directories(out.outside);
    return out;
  }();
  return d;
}

void fresh_root(const Dirs& d) {
  (void)tiffin::remove_tree(d.root);
  std::filesystem::create_directories(d.root + "/dir");
  std::filesystem::create_symlink("/", d.root + "/escape");
  std::filesystem::create_symlink("..", d.root + "/up");
  std::filesystem::create_symlink(d.outside, d.root + "/dir/abs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || tiffin::fuzz::expands_beyond(data + 1, size - 1, 8 << 20)) return 0;
  const Dirs& d = dirs();
  fresh_root(d);
  tiffin::ExtractOptions opts;
  opts.no_overwrite_dir_non_dir = data[0] & 1;
  if (data[0] & 2) opts.rebase_from = "a", opts.rebase_to = "escape/b";
  std::string dest = (data[0] & 4) ? "/dir" : "/";
  (void)tiffin::extract_in_root(d.root, dest, {reinterpret_cast<const char*>(data + 1), size - 1}, opts);
  if (!std::filesystem::is_empty(d.outside)) std::abort();  // wrote out of the root
  return 0;
}
