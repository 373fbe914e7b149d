#include <gtest/gtest.h>
#include <sys/stat.h>

#include "flist/flist_file.hpp"
#include "flist/signature.hpp"
#include "test_support.hpp"

using namespace tiffin;

TEST(Signature, SignVerifyAndDetectChanges) {
  test::TempDir dir;
  auto key = generate_key(dir / "key");
  ASSERT_TRUE(key) << key.error().message;
  struct stat st;
  ASSERT_EQ(::stat((dir / "key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = load_secret_key(dir / "key");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->public_key, key->public_key);
  EXPECT_EQ(*load_public_key(dir / "key.pub"), key->public_key);

  auto tree = load_flist(std::string(TIFFIN_FIXTURES) + "/hello-world-latest.fl");
  ASSERT_TRUE(tree);
  sign(*tree, *loaded);
  ASSERT_TRUE(save_flist(dir / "h.fl", *tree));
  auto back = load_flist(dir / "h.fl");
  ASSERT_TRUE(back);
  auto checks = verify(*back);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_TRUE(checks[0].valid);

  Tree tagged = *back;
  tagged.tags["version"] = "2";
  EXPECT_FALSE(verify(tagged)[0].valid);
  Tree rerouted = *back;
  rerouted.routes[0].url = "dir:///elsewhere";
  EXPECT_FALSE(verify(rerouted)[0].valid);
  Tree chmodded = *back;
  chmodded.nodes[1].mode ^= 1;
  EXPECT_FALSE(verify(chmodded)[0].valid);
}

TEST(Signature, KeysWithLoosePermissionsAreRefused) {
  test::TempDir dir;
  ASSERT_TRUE(generate_key(dir / "key"));
  ::chmod((dir / "key").c_str(), 0644);
  EXPECT_FALSE(load_secret_key(dir / "key"));
  EXPECT_FALSE(generate_key(dir / "key")) << "never overwrites a key";
  EXPECT_FALSE(load_public_key("abcd"));
}
