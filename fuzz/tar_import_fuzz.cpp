// Fuzz target (libFuzzer interface) for tar import: any bytes given as a (possibly compressed)
// tar must pack into a tree whose names are all valid, or fail with an error.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "common/fd.hpp"
#include "flist/pack.hpp"
#include "flist/path.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (tiffin::fuzz::expands_beyond(data, size, 8 << 20)) return 0;
  tiffin::UniqueFd fd(::memfd_create("tar", MFD_CLOEXEC));
  if (!fd || !tiffin::write_all(fd.get(), {data, size}) || ::lseek(fd.get(), 0, SEEK_SET) != 0) return 0;
  tiffin::fuzz::NullStore store;
  tiffin::Tree tree;
  auto r = tiffin::pack_tar(fd.get(), "fuzz", store, tree, {1, false, nullptr});
  if (!r) return 0;
  for (size_t i : tree.preorder()) {
    if (i == tiffin::Tree::kRoot) continue;
    if (!tiffin::valid_name(tree.nodes[i].name)) __builtin_trap();
  }
  return 0;
}
