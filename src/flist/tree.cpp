#include "flist/tree.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "flist/path.hpp"

namespace tiffin {

Tree::Tree() {
  Node root;
  root.name = "/";
  root.size = 4096;
  nodes.push_back(std::move(root));
}

size_t Tree::put(size_t parent, Node node) {
  node.parent = parent;
  auto it = nodes[parent].children.find(node.name);
  if (it != nodes[parent].children.end()) {
    Node& old = nodes[it->second];
    if (old.is_dir() && node.is_dir()) {
      node.children = std::move(old.children);
      old = std::move(node);
      return it->second;
    }
  }
  size_t index = nodes.size();
  std::string name = node.name;
  nodes.push_back(std::move(node));
  nodes[parent].children[name] = index;
  return index;
}

void Tree::remove(size_t parent, const std::string& name) { nodes[parent].children.erase(name); }

std::optional<size_t> Tree::find(std::string_view path) const {
  auto parts = split_path(path);
  if (!parts) return std::nullopt;
  size_t cur = kRoot;
  for (const auto& p : *parts) {
    const auto& ch = nodes[cur].children;
    auto it = ch.find(p);
    if (it == ch.end()) return std::nullopt;
    cur = it->second;
  }
  return cur;
}

std::string Tree::path_of(size_t index) const {
  if (index == kRoot) return "/";
  std::vector<const std::string*> parts;
  for (size_t i = index; i != kRoot; i = nodes[i].parent) parts.push_back(&nodes[i].name);
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += "/" + **it;
  return out;
}

std::vector<size_t> Tree::preorder() const {
  std::vector<size_t> out, stack{kRoot};
  while (!stack.empty()) {
    size_t i = stack.back();
    stack.pop_back();
    out.push_back(i);
    const auto& ch = nodes[i].children;
    for (auto it = ch.rbegin(); it != ch.rend(); ++it) stack.push_back(it->second);
  }
  return out;
}

std::vector<Hash> Tree::block_ids() const {
  std::vector<Hash> ids;
  for (const Node& n : nodes)
    for (const BlockRef& b : n.blocks) ids.push_back(b.id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<size_t> Tree::damaged_files() const {
  std::vector<size_t> out;
  for (size_t i : preorder())
    if (nodes[i].damaged()) out.push_back(i);
  return out;
}

std::string Tree::describe_damage(size_t index) const {
  const Node& n = nodes[index];
  return "damaged file " + printable(path_of(index)) + ": " + std::to_string(n.size) + " bytes, " + std::to_string(n.blocks.size()) +
         " block" + (n.blocks.size() == 1 ? "" : "s");
}

}  // namespace tiffin
