// Fuzz target (libFuzzer interface) for OCI layer conversion: any bytes, applied as a layer
// (whiteouts, opaque markers, hard links) over a base tree with files, links and a hard link
// group, must give a tree whose names are valid, that holds no whiteout, whose hard links all
// point at reachable files once settled, and that saves and loads back; or an error.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "common/fd.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "flist/path.hpp"
#include "fuzz_support.hpp"

namespace {
tiffin::Tree base_tree() {
  using tiffin::Node;
  tiffin::Tree t;
  Node d;
  d.name = "a";
  size_t a = t.put(tiffin::Tree::kRoot, d);
  Node f;
  f.name = "f";
  f.mode = S_IFREG | 0644;
  size_t first = t.put(a, f);
  f.name = "g";
  f.hardlink = first;
  t.put(a, f);
  f.name = "h";
  t.put(tiffin::Tree::kRoot, f);
  Node l;
  l.name = "l";
  l.mode = S_IFLNK | 0777;
  l.link = "a";
  t.put(tiffin::Tree::kRoot, l);
  return t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (tiffin::fuzz::expands_beyond(data, size, 8 << 20)) return 0;
  tiffin::UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
  if (!fd || !tiffin::write_all(fd.get(), {data, size}) || ::lseek(fd.get(), 0, SEEK_SET) != 0) return 0;
  tiffin::fuzz::NullStore store;
  tiffin::Tree tree = base_tree();
  tiffin::PackOptions o{1, false, nullptr};
  o.oci_layer = true;
  if (!tiffin::pack_tar(fd.get(), "fuzz", store, tree, o)) return 0;
  tiffin::settle_hardlinks(tree);
  std::vector<bool> reachable(tree.nodes.size(), false);
  for (size_t i : tree.preorder()) reachable[i] = true;
  for (size_t i : tree.preorder()) {
    if (i == tiffin::Tree::kRoot) continue;
    const auto& n = tree.nodes[i];
    if (!tiffin::valid_name(n.name) || n.name.starts_with(".wh.")) __builtin_trap();
    if (n.hardlink && (!reachable[*n.hardlink] || tree.nodes[*n.hardlink].hardlink)) __builtin_trap();
  }
  char path[] = "/tmp/layer-fuzz-XXXXXX";
  int tmp = ::mkstemp(path);
  if (tmp < 0) return 0;
  ::close(tmp);
  auto saved = tiffin::save_flist(path, tree);
  if (saved && !tiffin::load_flist(path)) __builtin_trap();
  ::unlink(path);
  return 0;
}
