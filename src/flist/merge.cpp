#include <algorithm>
#include "flist/merge.hpp"

#include <unordered_map>

namespace tiffin {
namespace {

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

struct LayerApplier {
  const Tree& layer;
  Tree& out;
  std::unordered_map<size_t, size_t> index_map;  // layer node → out node

  void apply_dir(size_t li, size_t oi) {
    const auto& children = layer.nodes[li].children;
    // Whiteouts hide what lower layers put here, not this layer's own entries: apply them first.
    if (children.contains(std::string(kOpaque))) out.nodes[oi].children.clear();
    for (const auto& [name, c] : children)
      if (name.starts_with(kWhiteout) && name != kOpaque) out.remove(oi, name.substr(kWhiteout.size()));
    for (const auto& [name, c] : children) {
      if (name.starts_with(kWhiteout)) continue;
      Node copy = layer.nodes[c];
      copy.children.clear();
      copy.hardlink.reset();
      size_t idx = out.put(oi, std::move(copy));
      index_map[c] = idx;
      if (layer.nodes[c].is_dir()) apply_dir(c, idx);
    }
  }

  void apply() {
    Node& root = out.nodes[Tree::kRoot];
    auto children = std::move(root.children);
    root = layer.nodes[Tree::kRoot];
    root.children = std::move(children);
    apply_dir(Tree::kRoot, Tree::kRoot);
    for (const auto& [li, oi] : index_map) {
      const auto& h = layer.nodes[li].hardlink;
      if (h && index_map.contains(*h)) out.nodes[oi].hardlink = index_map[*h];
    }
    for (const auto& [k, v] : layer.tags) out.tags[k] = v;
    for (const auto& r : layer.routes) {
      bool dup = false;
      for (const auto& e : out.routes) dup |= e.start == r.start && e.end == r.end && e.url == r.url;
      if (!dup) out.routes.push_back(r);
    }
    if (layer.config) out.config = layer.config;
  }
};

}  // namespace

Tree merge(const std::vector<Tree>& layers, const MergeOptions& opts) {
  Tree out;
  std::vector<const Tree*> order;
  for (const auto& l : layers) order.push_back(&l);
  if (opts.first_wins) std::reverse(order.begin(), order.end());
  for (const Tree* l : order) LayerApplier{*l, out, {}}.apply();
  return out;
}

}  // namespace tiffin
