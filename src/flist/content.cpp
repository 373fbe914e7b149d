#include "flist/content.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "flist/path.hpp"
#include "store/block_codec.hpp"

namespace tiffin {

Result<size_t> resolve(const Tree& tree, std::string_view path, bool follow_last) {
  std::vector<std::string> pending = TRY(split_path(std::string(path)));
  std::reverse(pending.begin(), pending.end());  // a stack: next component at the back
  std::vector<size_t> stack{Tree::kRoot};        // directories from the root to here
  int hops = 0;
  while (!pending.empty()) {
    std::string name = std::move(pending.back());
    pending.pop_back();
    if (name == "..") {
      if (stack.size() > 1) stack.pop_back();
      continue;
    }
    const Node& dir = tree.nodes[stack.back()];
    if (!dir.is_dir()) return fail(Errc::not_found, std::string(path) + ": not a directory");
    auto it = dir.children.find(name);
    if (it == dir.children.end()) return fail(Errc::not_found, std::string(path) + ": no such file or directory");
    const Node& n = tree.nodes[it->second];
    if (n.is_symlink() && (!pending.empty() || follow_last)) {
      if (++hops > 40) return fail(Errc::invalid_input, std::string(path) + ": too many levels of symbolic links");
      if (!n.link.empty() && n.link[0] == '/') stack.resize(1);
      // Split the target keeping "..": it is resolved here, bounded by the root.
      std::vector<std::string> parts;
      size_t i = 0;
      while (i <= n.link.size()) {
        size_t j = n.link.find('/', i);
        if (j == std::string::npos) j = n.link.size();
        std::string part = n.link.substr(i, j - i);
        if (!part.empty() && part != ".") parts.push_back(part);
        i = j + 1;
      }
      for (auto p = parts.rbegin(); p != parts.rend(); ++p) pending.push_back(*p);
      continue;
    }
    stack.push_back(it->second);
  }
  return stack.back();
}

Result<void> read_blocks(
    const std::vector<BlockRef>& blocks, BlockStore& store, const std::function<Result<void>(std::span<const uint8_t>)>& sink) {
  for (const auto& b : blocks) {
    Bytes plain = TRY(decode_block(b.id, b.key, TRY(store.get(b.id))));
    TRY(sink(plain));
  }
  return {};
}

Result<Bytes> read_content(const Node& node, BlockStore& store, size_t max_size) {
  if (!node.is_reg()) return fail(Errc::invalid_input, printable(node.name) + " is not a regular file");
  if (node.size > max_size) return fail(Errc::invalid_input, printable(node.name) + " is too large to read into memory");
  if (node.damaged())
    return fail(Errc::corrupt, "damaged: " + std::to_string(node.size) + " bytes, " + std::to_string(node.blocks.size()) + " blocks");
  Bytes out;
  out.reserve(node.size);
  TRY(read_blocks(node.blocks, store, [&](std::span<const uint8_t> chunk) -> Result<void> {
    out.insert(out.end(), chunk.begin(), chunk.end());
    return {};
  }));
  return out;
}

Result<std::optional<ImageConfig>> image_config(const Tree& tree, BlockStore* store) {
  if (tree.config) return tree.config;
  auto startup = tree.find("/.startup.toml");
  if (!startup || !store || !tree.nodes[*startup].is_reg()) return std::optional<ImageConfig>{};
  Bytes text = TRY_CTX(read_content(tree.nodes[*startup], *store, 1 << 20), "reading /.startup.toml");
  return std::optional<ImageConfig>(
      TRY(image_config_from_startup_toml(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()))));
}

}  // namespace tiffin
