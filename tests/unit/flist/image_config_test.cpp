#include <gtest/gtest.h>

#include "flist/image_config.hpp"

using namespace tiffin;

TEST(ImageConfig, JsonRoundTrip) {
  ImageConfig c{{"/bin/sh", "-c"}, {"echo hi"}, {"A=1", "B=x=y"}, "/srv", "1000:1000", {"80/tcp"}};
  auto back = image_config_from_json(image_config_to_json(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
}

TEST(ImageConfig, OciFieldsRoundTripAndStayOutWhenEmpty) {
  ImageConfig c{{}, {"sh"}, {}, "", "", {}};
  std::string plain = image_config_to_json(c);
  // Configs without the OCI fields keep their exact text (signatures are made over it).
  EXPECT_EQ(plain, R"({"cmd":["sh"],"entrypoint":[],"env":[],"ports":[],"user":"","workdir":""})");
  c.volumes = {"/data"};
  c.labels = {{"a", "b"}};
  c.stop_signal = "SIGQUIT";
  c.healthcheck = {{"CMD-SHELL", "true"}, 30000000000, 5000000000, 0, 3};
  auto back = image_config_from_json(image_config_to_json(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
  EXPECT_FALSE(image_config_from_json(R"({"labels": {"a": 1}})"));
  EXPECT_FALSE(image_config_from_json(R"({"healthcheck": {"test": "x"}})"));
  EXPECT_FALSE(image_config_from_json(R"({"healthcheck": {"test": [], "retries": "3"}})"));
}

TEST(ImageConfig, RejectsBadJson) {
  EXPECT_FALSE(image_config_from_json("{"));
  EXPECT_FALSE(image_config_from_json("[]"));
  EXPECT_FALSE(image_config_from_json(R"({"entrypoint": "not a list"})"));
  EXPECT_FALSE(image_config_from_json(R"({"env": ["NOEQUALS"]})"));
  EXPECT_FALSE(image_config_from_json(R"({"workdir": 5})"));
}

TEST(ImageConfig, ReadsZeroHubStartupToml) {
  auto c = image_config_from_startup_toml(R"([startup]

[startup.entry]
name = "core.system"

[startup.entry.args]
name = "/start"
dir = "/data"
args = ["extra", "argument with spaces"]

[startup.entry.args.env]
DIFFICULTY = "easy"
SERVER_PORT = "25565"
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->entrypoint, (std::vector<std::string>{"/start", "extra", "argument with spaces"}));
  EXPECT_EQ(c->workdir, "/data");
  EXPECT_EQ(c->env, (std::vector<std::string>{"DIFFICULTY=easy", "SERVER_PORT=25565"}));
  EXPECT_FALSE(image_config_from_startup_toml("not = [toml"));
  EXPECT_FALSE(image_config_from_startup_toml("[startup]\n"));
}
