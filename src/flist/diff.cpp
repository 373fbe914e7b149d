#include "flist/diff.hpp"

namespace tiffin {
namespace {

void all_below(const Tree& t, size_t idx, const std::string& path, char kind, std::vector<Change>& out) {
  out.push_back({kind, path, {}});
  for (const auto& [name, c] : t.nodes[idx].children) all_below(t, c, path + "/" + name, kind, out);
}

std::vector<std::string> differences(const Node& x, const Node& y) {
  std::vector<std::string> w;
  if (x.type() != y.type()) return {"type"};
  // A directory's size is whatever its filesystem reports: not content.
  if (x.blocks != y.blocks || (!x.is_dir() && x.size != y.size)) w.push_back("content");
  if ((x.mode & 07777) != (y.mode & 07777)) w.push_back("mode");
  if (x.uid != y.uid || x.gid != y.gid) w.push_back("owner");
  if (x.mtime != y.mtime) w.push_back("mtime");
  if (x.link != y.link) w.push_back("target");
  if (x.rdev != y.rdev) w.push_back("rdev");
  if (x.xattrs != y.xattrs) w.push_back("xattrs");
  return w;
}

void compare(const Tree& a, size_t ai, const Tree& b, size_t bi, const std::string& path, std::vector<Change>& out) {
  const auto& ac = a.nodes[ai].children;
  const auto& bc = b.nodes[bi].children;
  auto ia = ac.begin();
  auto ib = bc.begin();
  while (ia != ac.end() || ib != bc.end()) {
    if (ib == bc.end() || (ia != ac.end() && ia->first < ib->first)) {
      all_below(a, ia->second, path + "/" + ia->first, 'D', out);
      ++ia;
    } else if (ia == ac.end() || ib->first < ia->first) {
      all_below(b, ib->second, path + "/" + ib->first, 'A', out);
      ++ib;
    } else {
      std::string p = path + "/" + ia->first;
      const Node& x = a.nodes[ia->second];
      const Node& y = b.nodes[ib->second];
      auto w = differences(x, y);
      if (w.size() == 1 && w[0] == "type") {
        all_below(a, ia->second, p, 'D', out);
        all_below(b, ib->second, p, 'A', out);
      } else {
        if (!w.empty()) out.push_back({'C', p, std::move(w)});
        if (x.is_dir()) compare(a, ia->second, b, ib->second, p, out);
      }
      ++ia;
      ++ib;
    }
  }
}

}  // namespace

std::vector<Change> diff(const Tree& a, const Tree& b) {
  std::vector<Change> out;
  auto w = differences(a.nodes[Tree::kRoot], b.nodes[Tree::kRoot]);
  if (!w.empty()) out.push_back({'C', "/", std::move(w)});
  compare(a, Tree::kRoot, b, Tree::kRoot, "", out);
  return out;
}

}  // namespace tiffin
