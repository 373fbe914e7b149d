// The node's event log: lines that round-trip, reads by time, a follower that sees what is
// appended (across a rotation too), and writers that never interleave.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "common/event_log.hpp"
#include "test_support.hpp"

namespace tiffin {
namespace {

Event ev(const std::string& action, int64_t t, const std::string& id = "c1") { return {"container", action, id, {{"name", "web"}}, t}; }

TEST(EventLog, EncodesAndDecodes) {
  Event e = ev("health_status: healthy", 1700000000123456789);
  e.attributes["odd"] = "a \"quoted\"\nline";
  auto back = decode_event(encode_event(e));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, e);
  EXPECT_FALSE(decode_event("not json"));
  EXPECT_FALSE(decode_event(R"({"t":"x","type":"container","action":"a","id":"b"})"));
  EXPECT_FALSE(decode_event(R"({"t":1,"type":"container","action":"a","id":"b","attrs":[1]})"));
}

TEST(EventLog, ReadsByTimeSkippingBadLines) {
  test::TempDir dir;
  EventLog log(dir / "events.jsonl");
  ASSERT_TRUE(log.append(ev("create", 100)));
  ASSERT_TRUE(log.append(ev("start", 200)));
  std::ofstream(dir / "events.jsonl", std::ios::app) << "garbage\n";
  ASSERT_TRUE(log.append(ev("die", 300)));
  auto got = log.read(150, 300);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].action, "start");
  EXPECT_EQ((*got)[1].action, "die");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "events.jsonl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(EventLog, AppendStampsTheTime) {
  test::TempDir dir;
  EventLog log(dir / "events.jsonl");
  int64_t before = unix_nanos();
  ASSERT_TRUE(log.append(ev("create", 0)));
  auto got = log.read(before, unix_nanos());
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
}

TEST(EventLog, FollowerSeesAppendsAcrossARotation) {
  test::TempDir dir;
  EventLog log(dir / "events.jsonl");
  ASSERT_TRUE(log.append(ev("old", 1)));
  auto f = log.follow();
  ASSERT_TRUE(f);
  auto none = f->poll();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty()) << "a follower starts at the end";
  ASSERT_TRUE(log.append(ev("create", 2)));
  // Fill the file past its bound: the next append rotates it.
  {
    std::ofstream big(dir / "events.jsonl", std::ios::app);
    big << std::string(EventLog::kMaxBytes, 'x') << "\n";
  }
  ASSERT_TRUE(log.append(ev("start", 3)));
  struct stat st {};
  EXPECT_EQ(::stat((dir / "events.jsonl.1").c_str(), &st), 0) << "rotated";
  auto got = f->poll();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].action, "create");
  EXPECT_EQ((*got)[1].action, "start");
  // Reads span both files.
  auto all = log.read(0, 10);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u);
}

TEST(EventLog, ConcurrentWritersNeverInterleave) {
  test::TempDir dir;
  EventLog log(dir / "events.jsonl");
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 200; ++i) {
        Event e = ev("start", 1 + i, "writer" + std::to_string(w));
        e.attributes["pad"] = std::string(static_cast<size_t>(100 + i * 7), 'p');
        ASSERT_TRUE(log.append(e));
      }
    });
  for (auto& t : writers) t.join();
  auto all = log.read(0, 1000);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 800u) << "every line decodes";
}

}  // namespace
}  // namespace tiffin
