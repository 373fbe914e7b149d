#include "build/copy_layer.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <map>

#include "flist/path.hpp"

namespace tiffin::build {
namespace {

constexpr std::string_view kWhiteout = ".wh.";

bool is_pattern(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// Every path of `from` whose components match the pattern's, in the tree's order.
void match(const Tree& from, size_t at, const std::vector<std::string>& pattern, size_t depth, std::string prefix,
    std::vector<std::pair<std::string, size_t>>& out) {
  if (depth == pattern.size()) {
    out.emplace_back(std::move(prefix), at);
    return;
  }
  const Node& dir = from.nodes[at];
  if (!dir.is_dir()) return;
  // Flags 0, as Go's filepath.Match: a '*' matches a leading dot too.
  for (const auto& [name, child] : dir.children)
    if (::fnmatch(pattern[depth].c_str(), name.c_str(), 0) == 0)
      match(from, child, pattern, depth + 1, prefix.empty() ? name : prefix + "/" + name, out);
}

struct Copier {
  const Tree& from;
  const CopyRequest& r;
  const Tree& below;
  Tree layer;
  std::map<size_t, size_t> copied;  // from's node → layer's node (hard links)

  // A directory of the destination's path: the stage's own (so merging changes nothing of
  // it), or a new one.
  size_t ensure_dir(size_t parent, const std::string& name, const std::string& path) {
    auto& children = layer.nodes[parent].children;
    if (auto it = children.find(name); it != children.end()) return it->second;
    Node d;
    if (auto existing = below.find(path); existing && below.nodes[*existing].is_dir()) {
      d = below.nodes[*existing];
      d.children.clear();
      d.hardlink.reset();
    } else {
      d.mode = S_IFDIR | 0755;
      d.uid = r.uid.value_or(0);
      d.gid = r.gid.value_or(0);
      d.size = 4096;
      d.mtime = d.ctime = r.now;
    }
    d.name = name;
    return layer.put(parent, std::move(d));
  }

  Result<size_t> ensure_parents(const std::vector<std::string>& parts) {
    size_t at = Tree::kRoot;
    std::string path;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      path += "/" + parts[i];
      at = ensure_dir(at, parts[i], path);
    }
    return at;
  }

  Node copy_of(const Node& n) const {
    Node c = n;
    c.children.clear();
    c.hardlink.reset();
    c.ino = 0;
    if (r.from_context) c.uid = c.gid = 0;
    if (r.uid) c.uid = *r.uid;
    if (r.gid) c.gid = *r.gid;
    if (r.chmod && !n.is_symlink()) c.mode = n.type() | (*r.chmod & 07777);
    return c;
  }

  Result<void> put(size_t parent, const std::string& name, size_t src) {
    if (name.starts_with(kWhiteout))
      return fail(Errc::invalid_input, "'" + from.path_of(src) + "': a name beginning with .wh. cannot be copied into an image layer");
    Node c = copy_of(from.nodes[src]);
    c.name = name;
    size_t idx = layer.put(parent, std::move(c));
    copied[src] = idx;
    if (from.nodes[src].is_dir())
      for (const auto& [child_name, child] : from.nodes[src].children) TRY(put(idx, child_name, child));
    return {};
  }

  // A directory source: its contents into the directory `parts`.
  Result<void> put_contents(const std::vector<std::string>& parts, size_t src) {
    size_t at = Tree::kRoot;
    if (!parts.empty()) {
      size_t parent = TRY(ensure_parents(parts));
      std::string path = "/";
      for (size_t i = 0; i < parts.size(); ++i) path += (i ? "/" : "") + parts[i];
      // docker makes the destination as any missing directory (0755), not with the source's mode.
      at = ensure_dir(parent, parts.back(), path);
    }
    for (const auto& [name, child] : from.nodes[src].children) TRY(put(at, name, child));
    return {};
  }

  void link_hardlinks() {
    for (const auto& [src, idx] : copied) {
      const auto& h = from.nodes[src].hardlink;
      if (h && copied.contains(*h)) layer.nodes[idx].hardlink = copied.at(*h);
    }
  }
};

}  // namespace

std::string clean_absolute(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = std::min(path.find('/', i), path.size());
    std::string_view part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (auto p : parts) (out += '/') += p;
  if (out.empty() || (path.ends_with('/') && !out.ends_with('/'))) out += '/';
  return out;
}

Result<Tree> copy_layer(const Tree& from, const CopyRequest& r, const Tree& below) {
  if (r.sources.empty()) return fail(Errc::invalid_input, "no source files were specified");
  std::vector<std::pair<std::string, size_t>> found;
  for (const auto& source : r.sources) {
    auto parts = split_path(source);
    if (!parts) return fail(Errc::invalid_input, "source '" + source + "': forbidden path outside the build context");
    if (!is_pattern(source)) {
      auto at = from.find("/" + source);
      if (!at) return fail(Errc::not_found, "'" + source + "': not found (not in the source, or excluded by .dockerignore)");
      found.emplace_back(source, *at);
      continue;
    }
    size_t before = found.size();
    match(from, Tree::kRoot, *parts, 0, "", found);
    if (found.size() == before) return fail(Errc::not_found, "'" + source + "': no source files match");
  }

  std::string dest = clean_absolute(r.dest);
  auto dest_parts = split_path(dest);
  if (!dest_parts) return fail(Errc::invalid_input, "destination '" + r.dest + "': " + dest_parts.error().message);
  auto in_stage = below.find(dest);
  bool into_dir = dest.ends_with('/') || (in_stage && below.nodes[*in_stage].is_dir());
  if (found.size() > 1 && !into_dir)
    return fail(Errc::invalid_input, "with more than one source, the destination must be a directory and end with a / ('" + r.dest + "')");

  Copier c{from, r, below, {}, {}};
  c.layer.nodes[Tree::kRoot] = below.nodes[Tree::kRoot];
  c.layer.nodes[Tree::kRoot].children.clear();
  for (const auto& [path, src] : found) {
    if (from.nodes[src].is_dir()) {
      TRY(c.put_contents(*dest_parts, src));
      continue;
    }
    std::vector<std::string> target = *dest_parts;
    if (into_dir || target.empty()) target.push_back(from.nodes[src].name);
    size_t parent = TRY(c.ensure_parents(target));
    TRY(c.put(parent, target.back(), src));
  }
  c.link_hardlinks();
  c.layer.routes = from.routes;
  return std::move(c.layer);
}

Result<Tree> mkdir_layer(const Tree& below, const std::string& path, int64_t now) {
  auto parts = TRY(split_path(clean_absolute(path)));
  CopyRequest r;
  r.now = now;
  Copier c{below, r, below, {}, {}};
  c.layer.nodes[Tree::kRoot] = below.nodes[Tree::kRoot];
  c.layer.nodes[Tree::kRoot].children.clear();
  std::string at;
  for (const auto& p : parts) {
    at += "/" + p;
    if (auto existing = below.find(at); existing && !below.nodes[*existing].is_dir())
      return fail(Errc::invalid_input, "cannot make directory " + path + ": " + at + " is not a directory");
  }
  if (!parts.empty()) {
    parts.push_back("x");  // ensure_parents makes all but the last
    (void)TRY(c.ensure_parents(parts));
  }
  return std::move(c.layer);
}

Result<Hash> sources_digest(const Tree& from, const std::vector<std::string>& sources) {
  Blake2b h;
  for (const auto& source : sources) {
    auto parts = split_path(source);
    if (!parts) return fail(Errc::invalid_input, "source '" + source + "': forbidden path outside the build context");
    std::vector<std::pair<std::string, size_t>> found;
    if (!is_pattern(source)) {
      auto at = from.find("/" + source);
      if (!at) return fail(Errc::not_found, "'" + source + "': not found (not in the source, or excluded by .dockerignore)");
      found.emplace_back(source, *at);
    } else {
      match(from, Tree::kRoot, *parts, 0, "", found);
      if (found.empty()) return fail(Errc::not_found, "'" + source + "': no source files match");
    }
    h.field(source);
    for (const auto& [path, at] : found) {
      // The matched entry and everything under it, by their paths below it.
      Tree sub;
      sub.nodes[Tree::kRoot] = from.nodes[at];
      sub.nodes[Tree::kRoot].children.clear();
      std::vector<std::pair<size_t, size_t>> stack{{at, Tree::kRoot}};
      while (!stack.empty()) {
        auto [src, dst] = stack.back();
        stack.pop_back();
        for (const auto& [name, child] : from.nodes[src].children) {
          Node c = from.nodes[child];
          c.children.clear();
          c.hardlink.reset();
          stack.emplace_back(child, sub.put(dst, std::move(c)));
        }
      }
      h.field(path);
      h.update(std::span<const uint8_t>(layer_digest(sub)));
    }
  }
  return h.finish();
}

Hash layer_digest(const Tree& layer) {
  Blake2b h;
  for (size_t i : layer.preorder()) {
    const Node& n = layer.nodes[i];
    h.field(layer.path_of(i));
    h.field(n.mode);
    h.field(uint64_t{n.uid} << 32 | n.gid);
    h.field(n.size);
    h.field(n.rdev);
    h.field(n.link);
    h.field(n.hardlink ? layer.path_of(*n.hardlink) : std::string());
    for (const auto& x : n.xattrs) {
      h.field(x.name);
      h.field(x.value.size());
      h.update(x.value);
    }
    for (const auto& b : n.blocks) h.update(b.id);
  }
  return h.finish();
}

}  // namespace tiffin::build
