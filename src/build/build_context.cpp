#include "build/build_context.hpp"

#include "build/dockerignore.hpp"
#include "common/fd.hpp"
#include "flist/pack.hpp"

namespace tiffin::build {

Result<Tree> pack_context(const std::string& dir, BlockStore& store) {
  DockerIgnore ignore;
  if (auto text = read_file(dir + "/.dockerignore", 4 << 20)) {
    ignore =
        TRY_CTX(DockerIgnore::parse(std::string_view(reinterpret_cast<const char*>(text->data()), text->size())), dir + "/.dockerignore");
  } else if (text.error().sys_errno != ENOENT) {
    return std::unexpected(std::move(text.error()).context("reading " + dir + "/.dockerignore"));
  }
  PackOptions o{0, false, nullptr};
  o.exclude = [&](const std::string& relative, bool is_dir) {
    if (!ignore.excluded(relative)) return false;
    // An excluded directory is still walked when an exception may bring back something in it.
    return !(is_dir && ignore.may_include_under(relative));
  };
  Tree tree;
  TRY_CTX(pack_directory(dir, store, tree, o), "packing the build context " + dir);
  return tree;
}

}  // namespace tiffin::build
