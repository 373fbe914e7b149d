#include "snapshotter/snapshot_filter.hpp"

#include <gtest/gtest.h>

namespace tiffin::snapshotter {
namespace {

Snapshot sample() {
  return Snapshot{.name = "k8s.io/3/extract-1 sha256:abc",
      .parent = "k8s.io/2/sha256:def",
      .kind = Kind::committed,
      .labels = {{"containerd.io/snapshot.ref", "sha256:abc"}, {"a.b", "x y"}}};
}

bool matches(const std::string& text) {
  auto f = parse_snapshot_filter(text);
  EXPECT_TRUE(f) << text << ": " << (f ? "" : f.error().what());
  return f && f->matches(sample());
}

TEST(SnapshotFilter, ContainerdsRemoteSnapshotLookup) {
  // What containerd's metadata store sends when a remote snapshotter says "already exists".
  EXPECT_TRUE(matches(R"(labels."containerd.io/snapshot.ref"==sha256:abc,parent=="k8s.io/2/sha256:def")"));
  EXPECT_FALSE(matches(R"(labels."containerd.io/snapshot.ref"==sha256:abc,parent=="k8s.io/9/sha256:def")"));
  EXPECT_FALSE(matches(R"(labels."containerd.io/snapshot.ref"==sha256:zzz)"));
}

TEST(SnapshotFilter, FieldsOperatorsAndPresence) {
  EXPECT_TRUE(matches("kind==committed"));
  EXPECT_FALSE(matches("kind==active"));
  EXPECT_TRUE(matches("name~=^k8s\\.io/3/extract"));
  EXPECT_TRUE(matches("name~=/extract-[0-9]/"));
  EXPECT_TRUE(matches("parent!=other"));
  EXPECT_TRUE(matches("labels.\"a.b\"==\"x y\""));
  EXPECT_TRUE(matches("labels.a.b"));  // present; a dotted path names the dotted label
  EXPECT_FALSE(matches("labels.missing"));
  EXPECT_TRUE(matches("labels.missing!=v"));  // absent is not equal
  EXPECT_FALSE(matches("nosuchfield==x"));
  EXPECT_TRUE(matches(" kind == committed , parent "));
}

TEST(SnapshotFilter, AnyOfSeveralFilters) {
  auto none = parse_snapshot_filters({"kind==active", "name==other"});
  ASSERT_TRUE(none);
  EXPECT_FALSE(matches_any(*none, sample()));
  auto one = parse_snapshot_filters({"kind==active", R"(name=="k8s.io/3/extract-1 sha256:abc")"});
  ASSERT_TRUE(one);
  EXPECT_TRUE(matches_any(*one, sample()));
  auto all = parse_snapshot_filters({});
  ASSERT_TRUE(all);
  EXPECT_TRUE(matches_any(*all, sample()));
}

TEST(SnapshotFilter, RegularExpressionsAreGosAndLinear) {
  // Go's syntax, as containerd compiles it: named groups and Unicode classes.
  EXPECT_TRUE(matches(R"(name~=(?P<ns>k8s\.io)/\pN/)"));
  // A pattern that makes a backtracking matcher run for ever, or recurse off its stack, on a
  // long value: RE2 answers in time linear in the value.
  Snapshot s = sample();
  s.labels["long"] = std::string(200000, 'a');
  auto f = parse_snapshot_filter(R"(labels.long~=^(a|aa)*(a*)*b$)");
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->matches(s));
  s.labels["long"] += 'b';
  EXPECT_TRUE(f->matches(s));
}

TEST(SnapshotFilter, MalformedIsAClearError) {
  for (const char* bad : {"", "==x", "name==", "name=x", "labels.\"unterminated==x", "name~=(", "name~=a**", "name~=(?<=a)x", "a,,b",
           "1abc==x", "name==x y"}) {
    auto f = parse_snapshot_filter(bad);
    ASSERT_FALSE(f) << bad;
    EXPECT_EQ(f.error().kind, Errc::invalid_input) << bad;
    EXPECT_NE(f.error().what().find("filter"), std::string::npos) << f.error().what();
  }
}

}  // namespace
}  // namespace tiffin::snapshotter
