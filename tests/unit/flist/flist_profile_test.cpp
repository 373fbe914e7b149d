// Prefetch profiles embedded in the flist (tiffin_profile): written in place, kept by tiffin's
// own rewrites, outside the signed digest.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/sqlite.hpp"
#include "flist/flist_edit.hpp"
#include "flist/flist_file.hpp"
#include "flist/flist_profile.hpp"
#include "flist/merge.hpp"
#include "flist/signature.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {

std::string fixture() { return std::string(TIFFIN_FIXTURES) + "/hello-world-latest.fl"; }

std::string copy_fixture(const test::TempDir& dir, const std::string& name = "x.fl") {
  std::filesystem::copy_file(fixture(), dir / name, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(dir / name, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return dir / name;
}

Hash foreign(uint8_t b) {
  Hash h{};
  h.fill(b);
  return h;
}

bool has_profile_table(const std::string& path) {
  auto db = sql::Db::open_readonly(path);
  return db && db->has_table("tiffin_profile");
}

}  // namespace

TEST(FlistProfile, TextFormRoundTripsAndRefusesGarbage) {
  std::vector<Hash> ids{foreign(1), foreign(2)};
  std::string text = profile_text(ids);
  EXPECT_TRUE(text.starts_with("# tiffin prefetch profile v1\n"));
  EXPECT_EQ(*parse_profile_text(text, "t"), ids);
  EXPECT_FALSE(parse_profile_text("hello\n", "t"));
  EXPECT_FALSE(parse_profile_text("# tiffin prefetch profile v1\nzz\n", "t"));
  EXPECT_EQ(dedupe_profile(std::vector<Hash>{foreign(1), foreign(2), foreign(1), foreign(3)}, 2), ids);
}

TEST(FlistProfile, WriteKeepsOrderDropsForeignIdsAndReadsBack) {
  test::TempDir dir;
  std::string fl = copy_fixture(dir);
  EXPECT_TRUE(read_flist_profile(fl)->empty()) << "no table: no profile";
  Tree tree = *load_flist(fl);
  std::vector<Hash> blocks = tree.block_ids();
  ASSERT_GE(blocks.size(), 1u);
  std::vector<Hash> want(blocks.rbegin(), blocks.rend());  // an order of our own
  std::vector<Hash> report{foreign(7)};
  report.insert(report.end(), want.begin(), want.end());
  report.push_back(want.front());  // a repeat
  auto n = write_flist_profile(fl, report);
  ASSERT_TRUE(n) << n.error().what();
  EXPECT_EQ(*n, want.size());
  EXPECT_EQ(*read_flist_profile(fl), want);
  EXPECT_EQ(load_flist(fl)->profile, want);
  EXPECT_EQ(*flist_block_ids(fl), blocks);

  // Only foreign ids: nothing is left, and no table either.
  EXPECT_EQ(*write_flist_profile(fl, std::vector<Hash>{foreign(9)}), 0u);
  EXPECT_FALSE(has_profile_table(fl));
  EXPECT_TRUE(load_flist(fl)->profile.empty());
  EXPECT_FALSE(write_flist_profile(dir / "missing.fl", want));
}

TEST(FlistProfile, SurvivesTiffinsRewritesButNotAMerge) {
  test::TempDir dir;
  std::string fl = copy_fixture(dir);
  std::vector<Hash> blocks = load_flist(fl)->block_ids();
  ASSERT_TRUE(write_flist_profile(fl, blocks));

  ASSERT_TRUE(set_tags(fl, {{"version", "2"}}));
  ASSERT_TRUE(add_routes(fl, {Route{0, 0xff, "dir:///elsewhere"}}, true));
  EXPECT_EQ(*read_flist_profile(fl), blocks) << "in-place edits touch only their rows";

  Tree tree = *load_flist(fl);
  ASSERT_TRUE(save_flist(dir / "resaved.fl", tree));
  EXPECT_EQ(*read_flist_profile(dir / "resaved.fl"), blocks) << "a re-saved flist keeps its profile";

  // A tree whose files changed keeps only the ids it still uses.
  Tree fewer = tree;
  fewer.profile.insert(fewer.profile.begin(), foreign(5));
  ASSERT_TRUE(save_flist(dir / "fewer.fl", fewer));
  EXPECT_EQ(*read_flist_profile(dir / "fewer.fl"), blocks);

  // A merge is a new tree: which blocks it reads first is not known.
  ASSERT_TRUE(save_flist(dir / "merged.fl", merge({tree, tree}, {})));
  EXPECT_TRUE(read_flist_profile(dir / "merged.fl")->empty());
  EXPECT_FALSE(has_profile_table(dir / "merged.fl"));
}

TEST(FlistProfile, SignaturesHoldWithAndWithoutAProfile) {
  test::TempDir dir;
  std::string fl = copy_fixture(dir);
  auto key = generate_key(dir / "key");
  ASSERT_TRUE(key);
  ASSERT_TRUE(add_signature(fl, *key));
  auto valid = [&](const std::string& path) {
    auto checks = verify(*load_flist(path));
    return checks.size() == 1 && checks[0].valid;
  };
  ASSERT_TRUE(valid(fl));
  std::vector<Hash> blocks = load_flist(fl)->block_ids();
  ASSERT_TRUE(write_flist_profile(fl, blocks));
  EXPECT_TRUE(valid(fl)) << "embedding a profile keeps the signature";
  ASSERT_TRUE(save_flist(dir / "resaved.fl", *load_flist(fl)));
  EXPECT_TRUE(valid(dir / "resaved.fl"));
  ASSERT_TRUE(write_flist_profile(fl, {}));
  EXPECT_TRUE(valid(fl)) << "and so does removing it";

  // Signing after embedding: valid too, and the digest is the same as without the profile.
  Tree with = *load_flist(dir / "resaved.fl");
  Tree without = with;
  without.profile.clear();
  EXPECT_EQ(signature_for(with, *key).signature, signature_for(without, *key).signature);
}

TEST(FlistProfile, MalformedRowsAreRefusedLikeAnyTable) {
  test::TempDir dir;
  std::string fl = copy_fixture(dir);
  {
    auto db = sql::Db::open_readwrite(fl, false);
    ASSERT_TRUE(db);
    ASSERT_TRUE(
        db->exec("CREATE TABLE tiffin_profile (seq INTEGER PRIMARY KEY, id BLOB NOT NULL);"
                 "INSERT INTO tiffin_profile (seq, id) VALUES (0, x'0102');"));
  }
  auto loaded = load_flist(fl);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, Errc::invalid_input);
  auto read = read_flist_profile(fl);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().kind, Errc::invalid_input);
  // Rewriting the table repairs it.
  std::vector<Hash> blocks = flist_block_ids(fl).value();
  ASSERT_TRUE(write_flist_profile(fl, blocks));
  EXPECT_EQ(load_flist(fl)->profile, blocks);
}

TEST(FlistProfile, EmbedsAProfileFile) {
  test::TempDir dir;
  std::string fl = copy_fixture(dir);
  std::vector<Hash> blocks = load_flist(fl)->block_ids();
  test::write_text(dir / "p", profile_text(blocks));
  EXPECT_EQ(*embed_profile_file(fl, dir / "p"), blocks.size());
  EXPECT_EQ(*read_flist_profile(fl), blocks);
  test::write_text(dir / "bad", "not a profile\n");
  EXPECT_FALSE(embed_profile_file(fl, dir / "bad"));
  EXPECT_EQ(*read_flist_profile(fl), blocks) << "a refused file changes nothing";
}
