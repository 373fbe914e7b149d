// The engine's decisions that need no root: a container's state from what can be observed,
// docker's --user against passwd/group text, the state database's schema versions, filters.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "engine/container_state.hpp"
#include "engine/engine.hpp"
#include "engine/state_db.hpp"
#include "engine/user_lookup.hpp"
#include "test_support.hpp"

namespace tiffin::engine {
namespace {

ShimStatus recorded(ContainerStatus st, int exit_code = 0, int pid = 0) {
  ShimStatus s;
  s.status = st;
  s.exit_code = exit_code;
  s.pid = pid;
  return s;
}

TEST(DeriveState, ALiveShimIsTheAuthority) {
  auto s = derive_state(recorded(ContainerStatus::running, 0, 10), true, std::nullopt);
  EXPECT_EQ(s.status, ContainerStatus::running);
  EXPECT_EQ(s.pid, 10);
  EXPECT_FALSE(needs_runtime_view(recorded(ContainerStatus::running), true));
  EXPECT_EQ(derive_state(std::nullopt, true, std::nullopt).status, ContainerStatus::created) << "a shim before its first record";
}

TEST(DeriveState, WithoutAShimTheRuntimeDecides) {
  EXPECT_TRUE(needs_runtime_view(recorded(ContainerStatus::running), false));
  EXPECT_TRUE(needs_runtime_view(std::nullopt, false));
  EXPECT_FALSE(needs_runtime_view(recorded(ContainerStatus::exited), false)) << "nothing to ask: ps stays cheap";
  // The shim was killed under a running container: still running, and stoppable.
  auto s = derive_state(recorded(ContainerStatus::running, 0, 10), false, RuntimeView{runtime::Status::running, 10});
  EXPECT_EQ(s.status, ContainerStatus::running);
  auto p = derive_state(recorded(ContainerStatus::running), false, RuntimeView{runtime::Status::paused, 11});
  EXPECT_EQ(p.status, ContainerStatus::paused);
  EXPECT_EQ(p.pid, 11);
  // Killed along with its shim.
  auto dead = derive_state(recorded(ContainerStatus::running, 0, 10), false, RuntimeView{runtime::Status::stopped, 0});
  EXPECT_EQ(dead.status, ContainerStatus::exited);
  EXPECT_EQ(dead.exit_code, 137);
  EXPECT_EQ(dead.pid, 0);
  auto absent = derive_state(recorded(ContainerStatus::restarting, 3), false, std::nullopt);
  EXPECT_EQ(absent.status, ContainerStatus::exited);
  EXPECT_EQ(absent.exit_code, 3) << "its own code is kept";
  // The shim died between the runtime's create and start.
  auto half = derive_state(std::nullopt, false, RuntimeView{runtime::Status::created, 12});
  EXPECT_EQ(half.status, ContainerStatus::created);
  EXPECT_EQ(derive_state(recorded(ContainerStatus::exited, 5), false, std::nullopt).exit_code, 5);
}

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n# a comment\nalice:x:1000:100::/home/alice:/bin/sh\nbroken:x:abc:1::/:/bin/sh\n";
constexpr const char* kGroup = "root:x:0:\nusers:x:100:\nwheel:x:10:alice,bob\naudio:x:29:bob,alice\n";

TEST(UserLookup, DockersForms) {
  EXPECT_EQ(resolve_user("", kPasswd, kGroup).value(), ResolvedUser{});
  EXPECT_EQ(resolve_user("alice", kPasswd, kGroup).value(), (ResolvedUser{1000, 100, {10, 29}}));
  EXPECT_EQ(resolve_user("1000", kPasswd, kGroup).value(), (ResolvedUser{1000, 100, {10, 29}}));
  EXPECT_EQ(resolve_user("4242", kPasswd, kGroup).value(), (ResolvedUser{4242, 0, {}})) << "no entry needed";
  EXPECT_EQ(resolve_user("alice:wheel", kPasswd, kGroup).value(), (ResolvedUser{1000, 10, {29}}));
  EXPECT_EQ(resolve_user("0:7", kPasswd, kGroup).value(), (ResolvedUser{0, 7, {7}})) << "no group lists root: its own";
  EXPECT_EQ(resolve_user("root", kPasswd, kGroup).value(), (ResolvedUser{0, 0, {0}}));
}

TEST(UserLookup, WhatIsMissingOrMalformedIsSaid) {
  for (std::string_view bad : {"nobody", "broken", "alice:nogroup", ":0", "0:abc"}) {
    auto u = resolve_user(bad, kPasswd, kGroup);
    ASSERT_FALSE(u) << bad;
    EXPECT_EQ(u.error().kind, Errc::invalid_input);
  }
  EXPECT_NE(resolve_user("nobody", kPasswd, kGroup).error().message.find("no matching entries in passwd file"), std::string::npos);
}

TEST(StateDb, MigratesOnceAndRefusesANewerSchema) {
  test::TempDir dir;
  std::string path = dir / "tiffin.db";
  {
    auto db = open_state_db(path);
    ASSERT_TRUE(db) << db.error().message;
    EXPECT_TRUE(db->has_table("containers"));
    EXPECT_TRUE(open_state_db(path)) << "reopening an up-to-date database";
  }
  {
    auto db = sql::Db::open_readwrite(path, false);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = " + std::to_string(kStateSchemaVersion + 1)));
  }
  auto newer = open_state_db(path);
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().kind, Errc::unsupported);
}

TEST(StateDb, ADatabaseFromBeforeVersionsIsAdopted) {
  test::TempDir dir;
  std::string path = dir / "tiffin.db";
  {
    auto db = sql::Db::open_readwrite(path, true);
    ASSERT_TRUE(db);
    ASSERT_TRUE(
        db->exec("CREATE TABLE containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image TEXT NOT NULL, "
                 "image_id TEXT NOT NULL, config TEXT NOT NULL, created INTEGER NOT NULL);"
                 "INSERT INTO containers VALUES ('a', 'n', 'i', 'ii', '{}', 1);"));
  }
  auto db = open_state_db(path);
  ASSERT_TRUE(db) << db.error().message;
  auto st = sql::Stmt::prepare(*db, "SELECT count(*) FROM containers");
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->step().value_or(false));
  EXPECT_EQ(st->i64(0), 1) << "the rows survive";
  EXPECT_TRUE(db->has_table("volumes"));
}

TEST(ContainerFilter, DockersKeysOnly) {
  auto f = parse_container_filter(false, {"name=web", "status=exited"});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->filters.size(), 2u);
  EXPECT_FALSE(parse_container_filter(false, {"colour=red"}));
  EXPECT_FALSE(parse_container_filter(false, {"status=sleeping"}));
  EXPECT_FALSE(parse_container_filter(false, {"name"}));
}

}  // namespace
}  // namespace tiffin::engine
