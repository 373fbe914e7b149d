#include <gtest/gtest.h>

#include "flist/diff.hpp"
#include "flist/merge.hpp"

using namespace tiffin;

namespace {

Node file(const std::string& name, uint8_t content) {
  Node n;
  n.name = name;
  n.mode = S_IFREG | 0644;
  n.size = 1;
  BlockRef b;
  b.id[0] = content;
  n.blocks = {b};
  return n;
}
Node dir(const std::string& name) {
  Node n;
  n.name = name;
  return n;
}
uint8_t content_of(const Tree& t, const std::string& path) { return t.nodes[*t.find(path)].blocks[0].id[0]; }

}  // namespace

TEST(Merge, LaterLayersWinAndDirectoriesMerge) {
  Tree a, b;
  size_t ae = a.put(Tree::kRoot, dir("etc"));
  a.put(ae, file("one", 1));
  a.put(ae, file("two", 2));
  size_t be = b.put(Tree::kRoot, dir("etc"));
  b.put(be, file("two", 20));
  b.put(be, file("three", 30));
  a.routes = {{0, 255, "dir:///a"}};
  b.routes = {{0, 255, "dir:///b"}};
  Tree m = merge({a, b}, {});
  EXPECT_EQ(content_of(m, "/etc/one"), 1);
  EXPECT_EQ(content_of(m, "/etc/two"), 20);
  EXPECT_EQ(content_of(m, "/etc/three"), 30);
  EXPECT_EQ(m.routes.size(), 2u);
  Tree f = merge({a, b}, {true});
  EXPECT_EQ(content_of(f, "/etc/two"), 2) << "first wins";
  EXPECT_EQ(content_of(f, "/etc/three"), 30);
}

TEST(Merge, WhiteoutsDeleteAndOpaqueDirectoriesHide) {
  Tree a, b;
  size_t ae = a.put(Tree::kRoot, dir("etc"));
  a.put(ae, file("gone", 1));
  a.put(ae, file("kept", 2));
  size_t av = a.put(Tree::kRoot, dir("var"));
  a.put(av, file("old", 3));
  size_t be = b.put(Tree::kRoot, dir("etc"));
  b.put(be, file(".wh.gone", 0));
  size_t bv = b.put(Tree::kRoot, dir("var"));
  b.put(bv, file(".wh..wh..opq", 0));
  b.put(bv, file("new", 4));
  Tree m = merge({a, b}, {});
  EXPECT_FALSE(m.find("/etc/gone"));
  EXPECT_TRUE(m.find("/etc/kept"));
  EXPECT_FALSE(m.find("/etc/.wh.gone")) << "whiteout markers are not part of the result";
  EXPECT_FALSE(m.find("/var/old"));
  EXPECT_TRUE(m.find("/var/new"));
  EXPECT_FALSE(m.find("/var/.wh..wh..opq"));
}

TEST(Merge, FileReplacesDirectoryAndTheOtherWayRound) {
  Tree a, b;
  size_t ad = a.put(Tree::kRoot, dir("x"));
  a.put(ad, file("inner", 1));
  a.put(Tree::kRoot, file("y", 2));
  b.put(Tree::kRoot, file("x", 3));
  size_t by = b.put(Tree::kRoot, dir("y"));
  b.put(by, file("z", 4));
  Tree m = merge({a, b}, {});
  EXPECT_TRUE(m.nodes[*m.find("/x")].is_reg());
  EXPECT_FALSE(m.find("/x/inner"));
  EXPECT_TRUE(m.find("/y/z"));
}

TEST(Diff, ReportsAddedDeletedAndChanged) {
  Tree a, b;
  size_t ae = a.put(Tree::kRoot, dir("etc"));
  a.put(ae, file("same", 1));
  a.put(ae, file("changed", 2));
  a.put(ae, file("removed", 3));
  size_t be = b.put(Tree::kRoot, dir("etc"));
  b.put(be, file("same", 1));
  Node c = file("changed", 9);
  c.mode = S_IFREG | 0600;
  b.put(be, c);
  size_t nd = b.put(be, dir("newdir"));
  b.put(nd, file("inside", 5));
  auto changes = diff(a, b);
  std::map<std::string, Change> by_path;
  for (const auto& ch : changes) by_path[ch.path] = ch;
  EXPECT_EQ(by_path.size(), 4u);
  EXPECT_EQ(by_path["/etc/removed"].kind, 'D');
  EXPECT_EQ(by_path["/etc/newdir"].kind, 'A');
  EXPECT_EQ(by_path["/etc/newdir/inside"].kind, 'A');
  EXPECT_EQ(by_path["/etc/changed"].kind, 'C');
  EXPECT_EQ(by_path["/etc/changed"].what, (std::vector<std::string>{"content", "mode"}));
  EXPECT_TRUE(diff(a, a).empty());
}
