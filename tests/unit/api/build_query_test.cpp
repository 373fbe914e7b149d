// POST /build's query: docker's ImageBuildOptions into BuildOptions.
#include <gtest/gtest.h>

#include "api/build_query.hpp"

namespace tiffin::api {
namespace {

Request with(std::initializer_list<std::pair<const std::string, std::string>> query) {
  Request r;
  r.method = "POST";
  r.path = "/build";
  r.query = query;
  return r;
}

TEST(BuildQuery, WhatTheDockerCliSends) {
  // docker build -t x:1 -t y --build-arg A=1 --build-arg B --label l=v --target t --no-cache -q
  auto q = parse_build_query(with({{"t", "x:1"}, {"t", "y"}, {"t", "docker.io/library/z:2"}, {"buildargs", R"({"A":"1","B":null})"},
      {"labels", R"({"l":"v"})"}, {"target", "t"}, {"nocache", "1"}, {"q", "1"}, {"networkmode", "default"}, {"rm", "1"}, {"forcerm", "0"},
      {"pull", ""}, {"shmsize", "0"}, {"version", "1"}, {"dockerfile", "Dockerfile"}}));
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->options.tags, (std::vector<std::string>{"x:1", "y:latest", "z:2"}));
  EXPECT_EQ(q->options.build_args, (std::map<std::string, std::string>{{"A", "1"}}));
  EXPECT_EQ(q->options.labels, (std::map<std::string, std::string>{{"l", "v"}}));
  EXPECT_EQ(q->options.target, "t");
  EXPECT_TRUE(q->options.no_cache);
  EXPECT_TRUE(q->quiet);
  EXPECT_EQ(q->options.network, "bridge");
  EXPECT_EQ(q->dockerfile, "Dockerfile");
}

TEST(BuildQuery, DefaultsAndNetworks) {
  auto q = parse_build_query(with({}));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->dockerfile, "Dockerfile");
  EXPECT_TRUE(q->options.tags.empty());
  EXPECT_FALSE(q->quiet);
  EXPECT_FALSE(q->options.no_cache);
  EXPECT_EQ(q->options.network, "bridge");
  for (const char* net : {"none", "host", "bridge"}) EXPECT_EQ(parse_build_query(with({{"networkmode", net}}))->options.network, net);
  EXPECT_EQ(parse_build_query(with({{"networkmode", "container:abc"}})).error().kind, Errc::invalid_input);
}

TEST(BuildQuery, RefusesWhatItCannotDo) {
  EXPECT_EQ(parse_build_query(with({{"version", "2"}})).error().kind, Errc::unsupported);
  EXPECT_EQ(parse_build_query(with({{"remote", "https://github.com/x/y.git"}})).error().kind, Errc::unsupported);
  EXPECT_EQ(parse_build_query(with({{"buildargs", "[1]"}})).error().kind, Errc::invalid_input);
  EXPECT_EQ(parse_build_query(with({{"buildargs", R"({"A":1})"}})).error().kind, Errc::invalid_input);
  EXPECT_EQ(parse_build_query(with({{"labels", "{"}})).error().kind, Errc::invalid_input);
  EXPECT_EQ(parse_build_query(with({{"t", "x:"}})).error().kind, Errc::invalid_input);
  EXPECT_EQ(parse_build_query(with({{"t", "a b"}})).error().kind, Errc::invalid_input);
}

TEST(BuildQuery, TheDockerfileStaysInTheContext) {
  EXPECT_EQ(*context_relative("Dockerfile"), "Dockerfile");
  EXPECT_EQ(*context_relative("./sub//Dockerfile.dev"), "sub/Dockerfile.dev");
  EXPECT_EQ(*context_relative("/abs/Dockerfile"), "abs/Dockerfile");  // relative to the context, as dockerd takes it
  EXPECT_EQ(*context_relative(".dockerfile.3f2a"), ".dockerfile.3f2a");
  EXPECT_FALSE(context_relative("../Dockerfile"));
  EXPECT_FALSE(context_relative("sub/../../etc/passwd"));
  EXPECT_FALSE(context_relative("sub/.."));
  EXPECT_FALSE(context_relative("."));
  EXPECT_FALSE(context_relative(""));
  EXPECT_EQ(*build_tag("registry.example:5000/app"), "registry.example:5000/app:latest");
  EXPECT_EQ(*build_tag("docker.io/user/app:3"), "user/app:3");
}

}  // namespace
}  // namespace tiffin::api
