// Credentials files: which file, docker's format, the file's other keys kept, mode 0600.
#include "image/credentials.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::image;

namespace {

// Points every variable the lookup reads into a temporary directory, and restores them.
class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVars) {
      const char* v = std::getenv(name);
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      unsetenv(name);
    }
    setenv("HOME", home_.path().c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [name, v] : saved_) {
      if (v) setenv(name, v->c_str(), 1);
      else unsetenv(name);
    }
  }
  static std::string read(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  static void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  static constexpr const char* kVars[] = {"HOME", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "DOCKER_CONFIG"};
  test::TempDir home_;
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

}  // namespace

TEST_F(CredentialsTest, WhichFile) {
  EXPECT_EQ(credentials_file(), home_ / ".docker/config.json");
  setenv("DOCKER_CONFIG", (home_ / "dc").c_str(), 1);
  EXPECT_EQ(credentials_file(), home_ / "dc/config.json");
  setenv("XDG_RUNTIME_DIR", (home_ / "run").c_str(), 1);
  EXPECT_EQ(credentials_file(), home_ / "run/containers/auth.json");
  setenv("REGISTRY_AUTH_FILE", (home_ / "auth.json").c_str(), 1);
  EXPECT_EQ(credentials_file(), home_ / "auth.json");
}

TEST_F(CredentialsTest, StoreFindRemove) {
  EXPECT_FALSE(*find_credentials("localhost:5000"));
  ASSERT_TRUE(store_credentials("localhost:5000", {"alice", "s3cr:et"}));
  const std::string file = home_ / ".docker/config.json";
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto j = nlohmann::json::parse(read(file));
  EXPECT_EQ(j["auths"]["localhost:5000"]["auth"], "YWxpY2U6czNjcjpldA==");  // base64("alice:s3cr:et")

  auto c = find_credentials("localhost:5000");
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->username, "alice");
  EXPECT_EQ((*c)->password, "s3cr:et");
  EXPECT_FALSE(*find_credentials("localhost:5001"));

  ASSERT_TRUE(remove_credentials("localhost:5000"));
  EXPECT_FALSE(*find_credentials("localhost:5000"));
  auto again = remove_credentials("localhost:5000");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, Errc::not_found);
}

TEST_F(CredentialsTest, KeepsOtherKeysAndDockerHubSpelling) {
  mkdir((home_ / ".docker").c_str(), 0700);
  const std::string file = home_ / ".docker/config.json";
  write(file, R"({"auths":{"https://quay.io/v1/":{"auth":"cTp3"}},"credsStore":"desktop","proxies":{"default":{"httpProxy":"x"}}})");
  ASSERT_TRUE(store_credentials("docker.io", {"bob", "pw"}));
  auto j = nlohmann::json::parse(read(file));
  EXPECT_EQ(j["credsStore"], "desktop");
  EXPECT_EQ(j["proxies"]["default"]["httpProxy"], "x");
  EXPECT_TRUE(j["auths"].contains("https://index.docker.io/v1/"));
  EXPECT_FALSE(j["auths"].contains("docker.io"));
  // Docker's URL-shaped keys match their host.
  auto q = find_credentials("quay.io");
  ASSERT_TRUE(q && *q);
  EXPECT_EQ((*q)->username, "q");
  EXPECT_EQ((*q)->password, "w");
  for (const char* hub : {"docker.io", "index.docker.io", "registry-1.docker.io"}) {
    auto h = find_credentials(hub);
    ASSERT_TRUE(h && *h) << hub;
    EXPECT_EQ((*h)->username, "bob");
  }
  // A second login replaces the entry instead of adding another spelling.
  ASSERT_TRUE(store_credentials("docker.io", {"bob", "new"}));
  j = nlohmann::json::parse(read(file));
  EXPECT_EQ(j["auths"].size(), 2u);
  EXPECT_EQ((*find_credentials("docker.io"))->password, "new");
}

TEST_F(CredentialsTest, LookupOrderAndFormats) {
  setenv("REGISTRY_AUTH_FILE", (home_ / "auth.json").c_str(), 1);
  setenv("DOCKER_CONFIG", (home_ / "dc").c_str(), 1);
  mkdir((home_ / "dc").c_str(), 0700);
  write(home_ / "dc/config.json",
      R"({"auths":{"r.example":{"auth":"ZG9ja2VyOnB3"},"t.example":{"identitytoken":"tok"},"u.example":{"username":"u","password":"p"}}})");
  write(home_ / "auth.json", R"({"auths":{"r.example":{"auth":"Zmlyc3Q6cHc="}}})");
  EXPECT_EQ((*find_credentials("r.example"))->username, "first");  // REGISTRY_AUTH_FILE first
  EXPECT_EQ((*find_credentials("t.example"))->username, "<token>");
  EXPECT_EQ((*find_credentials("t.example"))->password, "tok");
  EXPECT_EQ((*find_credentials("u.example"))->password, "p");
  // logout removes it from every file lookups read.
  ASSERT_TRUE(remove_credentials("r.example"));
  EXPECT_FALSE(*find_credentials("r.example"));
  EXPECT_TRUE(*find_credentials("u.example"));
}

TEST_F(CredentialsTest, BrokenFilesAreErrorsNotOverwritten) {
  setenv("REGISTRY_AUTH_FILE", (home_ / "auth.json").c_str(), 1);
  for (const std::string bad : {"{", "[]", R"({"auths":[]})"}) {
    write(home_ / "auth.json", bad);
    EXPECT_FALSE(find_credentials("x.example")) << bad;
    auto s = store_credentials("x.example", {"a", "b"});
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().kind, Errc::invalid_input);
    EXPECT_EQ(read(home_ / "auth.json"), bad);
  }
  write(home_ / "auth.json", R"({"auths":{"x.example":{"auth":"!!!!"}}})");
  auto f = find_credentials("x.example");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().kind, Errc::invalid_input);
  write(home_ / "auth.json", R"({"auths":{"x.example":{"auth":"bm9jb2xvbg=="}}})");  // "nocolon"
  EXPECT_FALSE(find_credentials("x.example"));
}
