#include "build/copy_layer.hpp"

#include <gtest/gtest.h>

#include "flist/merge.hpp"

namespace tiffin::build {
namespace {

// A tree from "path" → mode lines; files get one made-up block each, named by their path.
Tree tree_of(std::initializer_list<std::pair<const char*, uint32_t>> entries, uint32_t uid = 1000) {
  Tree t;
  for (const auto& [path, mode] : entries) {
    std::string p = path;
    size_t slash = p.rfind('/');
    size_t parent = slash == 0 ? Tree::kRoot : *t.find(p.substr(0, slash));
    Node n;
    n.name = p.substr(slash + 1);
    n.mode = mode;
    n.uid = n.gid = uid;
    n.mtime = 111;
    if (n.is_reg()) {
      n.size = p.size();
      n.blocks.push_back({blake2b256({reinterpret_cast<const uint8_t*>(p.data()), p.size()}), {}});
    }
    t.put(parent, std::move(n));
  }
  return t;
}

const Tree kContext = tree_of({{"/app", S_IFDIR | 0750}, {"/app/main.py", S_IFREG | 0644}, {"/app/util.py", S_IFREG | 0600},
    {"/app/data", S_IFDIR | 0755}, {"/app/data/x.txt", S_IFREG | 0644}, {"/README", S_IFREG | 0644}, {"/run.sh", S_IFREG | 0755}});
const Tree kStage = tree_of({{"/usr", S_IFDIR | 0755}, {"/usr/bin", S_IFDIR | 0755}, {"/srv", S_IFDIR | 0700}}, 0);

Tree apply(const CopyRequest& r) {
  auto layer = copy_layer(kContext, r, kStage);
  EXPECT_TRUE(layer) << layer.error().message;
  return merge({kStage, *layer}, {});
}

CopyRequest req(std::vector<std::string> sources, std::string dest) {
  CopyRequest r;
  r.sources = std::move(sources);
  r.dest = std::move(dest);
  r.now = 999;
  return r;
}

TEST(CopyLayer, AFileToAPathOrIntoADirectory) {
  Tree t = apply(req({"README"}, "/docs/readme.txt"));
  ASSERT_TRUE(t.find("/docs/readme.txt"));
  const Node& made = t.nodes[*t.find("/docs")];
  EXPECT_EQ(made.mode, S_IFDIR | 0755u);
  EXPECT_EQ(made.mtime, 999);
  const Node& f = t.nodes[*t.find("/docs/readme.txt")];
  EXPECT_EQ(f.uid, 0u);  // context files belong to root
  EXPECT_EQ(f.mtime, 111);
  EXPECT_EQ(f.blocks, kContext.nodes[*kContext.find("/README")].blocks);

  // An existing directory receives the file by its name, with or without the slash.
  EXPECT_TRUE(apply(req({"README"}, "/srv")).find("/srv/README"));
  EXPECT_TRUE(apply(req({"/README"}, "/new/")).find("/new/README"));
  // The directory it went into keeps its metadata.
  Tree into = apply(req({"README"}, "/srv"));
  EXPECT_EQ(into.nodes[*into.find("/srv")].mode, S_IFDIR | 0700u);
}

TEST(CopyLayer, ADirectoryCopiesItsContents) {
  Tree t = apply(req({"app"}, "/opt/"));
  EXPECT_TRUE(t.find("/opt/main.py"));
  EXPECT_TRUE(t.find("/opt/data/x.txt"));
  EXPECT_FALSE(t.find("/opt/app"));
  EXPECT_EQ(t.nodes[*t.find("/opt")].mode, S_IFDIR | 0755u);  // made as docker makes it, not with app's 0750
  EXPECT_EQ(t.nodes[*t.find("/opt/util.py")].mode, S_IFREG | 0600u);
  // "." is the whole context.
  Tree all = apply(req({"."}, "/ctx"));
  EXPECT_TRUE(all.find("/ctx/app/main.py"));
  EXPECT_TRUE(all.find("/ctx/run.sh"));
  EXPECT_TRUE(all.find("/usr/bin"));
}

TEST(CopyLayer, PatternsMatchComponentByComponent) {
  Tree t = apply(req({"app/*.py", "*.sh"}, "/bin2/"));
  EXPECT_TRUE(t.find("/bin2/main.py"));
  EXPECT_TRUE(t.find("/bin2/util.py"));
  EXPECT_TRUE(t.find("/bin2/run.sh"));
  EXPECT_FALSE(t.find("/bin2/x.txt"));  // a * does not cross '/'
  EXPECT_TRUE(apply(req({"app/[mu]*.p?"}, "/p/")).find("/p/util.py"));
  auto none = copy_layer(kContext, req({"*.java"}, "/x/"), kStage);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, Errc::not_found);
}

TEST(CopyLayer, ChownAndChmod) {
  CopyRequest r = req({"app"}, "/made/here/");
  r.uid = 1000;
  r.gid = 50;
  r.chmod = 0640;
  Tree t = apply(r);
  const Node& f = t.nodes[*t.find("/made/here/main.py")];
  EXPECT_EQ(f.mode, S_IFREG | 0640u);
  EXPECT_EQ(f.uid, 1000u);
  EXPECT_EQ(f.gid, 50u);
  EXPECT_EQ(t.nodes[*t.find("/made/here/data")].mode, S_IFDIR | 0640u);
  EXPECT_EQ(t.nodes[*t.find("/made")].uid, 1000u);  // directories the copy made are the user's
  EXPECT_EQ(t.nodes[*t.find("/usr")].uid, 0u);      // the stage's stay as they were
}

TEST(CopyLayer, FromAnotherTreeKeepsOwners) {
  CopyRequest r = req({"app/main.py"}, "/srv/");
  r.from_context = false;
  auto layer = copy_layer(kContext, r, kStage);
  ASSERT_TRUE(layer);
  Tree t = merge({kStage, *layer}, {});
  EXPECT_EQ(t.nodes[*t.find("/srv/main.py")].uid, 1000u);
}

TEST(CopyLayer, BadRequests) {
  for (auto [sources, dest, kind] : std::initializer_list<std::tuple<std::vector<std::string>, const char*, Errc>>{
           {{"README", "run.sh"}, "/file", Errc::invalid_input},  // several sources into a file
           {{"../etc/passwd"}, "/x", Errc::invalid_input},        // outside the context
           {{"nothere"}, "/x", Errc::not_found}, {{}, "/x", Errc::invalid_input}}) {
    auto r = copy_layer(kContext, req(sources, dest), kStage);
    ASSERT_FALSE(r) << dest;
    EXPECT_EQ(r.error().kind, kind) << r.error().message;
  }
  Tree wh = tree_of({{"/.wh.passwd", S_IFREG | 0644}});
  EXPECT_FALSE(copy_layer(wh, req({"."}, "/etc/"), kStage));
}

TEST(CopyLayer, CleanAbsolute) {
  EXPECT_EQ(clean_absolute("/app/../x"), "/x");
  EXPECT_EQ(clean_absolute("/../../x/./y/"), "/x/y/");
  EXPECT_EQ(clean_absolute("/"), "/");
  EXPECT_EQ(clean_absolute("//a//b"), "/a/b");
}

TEST(CopyLayer, DigestIgnoresTimesButNotContentOrMode) {
  auto a = *copy_layer(kContext, req({"app"}, "/app"), kStage);
  Tree context2 = kContext;
  context2.nodes[*context2.find("/app/main.py")].mtime = 5;
  auto b = *copy_layer(context2, req({"app"}, "/app"), kStage);
  EXPECT_EQ(layer_digest(a), layer_digest(b));
  context2.nodes[*context2.find("/app/main.py")].mode = S_IFREG | 0755;
  EXPECT_NE(layer_digest(a), layer_digest(*copy_layer(context2, req({"app"}, "/app"), kStage)));
  context2 = kContext;
  context2.nodes[*context2.find("/app/main.py")].blocks[0].id[0] ^= 1;
  EXPECT_NE(layer_digest(a), layer_digest(*copy_layer(context2, req({"app"}, "/app"), kStage)));
}

TEST(CopyLayer, SourcesDigestNeedsNoStageAndIgnoresTimes) {
  auto a = sources_digest(kContext, {"app", "*.sh"});
  ASSERT_TRUE(a);
  Tree touched = kContext;
  touched.nodes[*touched.find("/app/data/x.txt")].mtime = 1;
  EXPECT_EQ(*sources_digest(touched, {"app", "*.sh"}), *a);
  Tree edited = kContext;
  edited.nodes[*edited.find("/app/data/x.txt")].blocks[0].id[3] ^= 1;
  EXPECT_NE(*sources_digest(edited, {"app", "*.sh"}), *a);
  EXPECT_NE(*sources_digest(kContext, {"app"}), *a);
  Tree added = kContext;
  Node n;
  n.name = "new.sh";
  n.mode = S_IFREG | 0755;
  added.put(Tree::kRoot, std::move(n));
  EXPECT_NE(*sources_digest(added, {"app", "*.sh"}), *a);  // a pattern matching one more file
  EXPECT_EQ(sources_digest(kContext, {"missing"}).error().kind, Errc::not_found);
  EXPECT_EQ(sources_digest(kContext, {"*.java"}).error().kind, Errc::not_found);
  EXPECT_EQ(sources_digest(kContext, {"../x"}).error().kind, Errc::invalid_input);
}

}  // namespace
}  // namespace tiffin::build
