// The shim's pure parts: Redis URLs, the CRI log format and rotation, line splitting and
// restart policies, health probes. The contract with the engine is in shim_protocol_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "shim/health.hpp"
#include "shim/log_file.hpp"
#include "shim/redis_url.hpp"
#include "shim/restart_policy.hpp"

namespace tiffin::shim {
namespace {

TEST(RedisUrl, ZeroOsForms) {
  auto u = parse_redis_url("redis://:secret@10.0.0.1:6380/logs");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "10.0.0.1");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->password, "secret");
  EXPECT_EQ(u->channel, "logs");
  auto plain = parse_redis_url("redis://localhost/a/b");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->channel, "a/b");
  auto v6 = parse_redis_url("redis://[::1]:7000/c");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  for (const char* bad :
      {"http://h/c", "redis://h", "redis://h/", "redis://h:0/c", "redis://h:99999/c", "redis://:p@/c", "redis://h:12x/c", "redis://[::1/c"})
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
}

TEST(LogFile, RecordsRoundTripAndRotate) {
  LogRecord r{"2026-11-26T13:00:00.000000001Z", "stderr", true, "a b  c"};
  auto back = parse_log_record(format_log_record(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->stream, "stderr");
  EXPECT_TRUE(back->partial);
  EXPECT_EQ(back->content, "a b  c");
  auto empty = parse_log_record("2026-11-26T13:00:00Z stdout F ");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->content, "");
  EXPECT_FALSE(parse_log_record("garbage"));
  EXPECT_FALSE(parse_log_record("t stdout X y"));

  auto dir = std::filesystem::temp_directory_path() / ("tiffin-log-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "c.log").string();
  LogWriter w(path, 200, 3);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(w.write({log_timestamp(), "stdout", false, "line " + std::to_string(i)}));
  auto files = log_files(path, 3);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files.back(), path);
  for (const auto& f : files) EXPECT_LE(std::filesystem::file_size(f), 200u);
  std::ifstream last(path);
  std::string line, final_line;
  while (std::getline(last, line)) final_line = line;
  EXPECT_EQ(parse_log_record(final_line)->content, "line 29");
  std::filesystem::remove_all(dir);
}

TEST(LineSplitter, LinesPiecesAndTheRest) {
  LineSplitter s;
  std::vector<std::pair<std::string, bool>> got;
  auto sink = [&](std::string_view l, bool partial) { got.emplace_back(std::string(l), partial); };
  s.feed("a\nb", sink);
  s.feed("c\n\n", sink);
  s.feed(std::string(kMaxLine + 5, 'x'), sink);
  s.finish(sink);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0], std::make_pair(std::string("a"), false));
  EXPECT_EQ(got[1], std::make_pair(std::string("bc"), false));
  EXPECT_EQ(got[2], std::make_pair(std::string(""), false));
  EXPECT_EQ(got[3].first.size(), kMaxLine);
  EXPECT_TRUE(got[3].second);
  EXPECT_EQ(got[4], std::make_pair(std::string(5, 'x'), true));
}

TEST(RestartPolicy, DockerPoliciesAndZeroOsRule) {
  using namespace std::chrono;
  EXPECT_FALSE(parse_restart_policy("sometimes"));
  EXPECT_FALSE(parse_restart_policy("on-failure:-1"));
  EXPECT_EQ(parse_restart_policy("on-failure:3")->str(), "on-failure:3");

  RestartTracker on_failure(*parse_restart_policy("on-failure:2"));
  auto now = RestartTracker::Clock::now();
  EXPECT_FALSE(on_failure.after_exit(0, false, 1s, now));
  EXPECT_EQ(on_failure.after_exit(1, false, 1s, now), milliseconds(100));
  EXPECT_EQ(on_failure.after_exit(1, false, 1s, now), milliseconds(200));
  EXPECT_FALSE(on_failure.after_exit(1, false, 1s, now)) << "two retries, then no more";

  RestartTracker always(*parse_restart_policy("always"));
  EXPECT_TRUE(always.after_exit(0, false, 1s, now));
  EXPECT_FALSE(always.after_exit(0, true, 1s, now)) << "a stop is never undone";
  EXPECT_EQ(always.after_exit(0, false, 20s, now), milliseconds(100)) << "a long run resets the backoff";

  RestartTracker zos(*parse_restart_policy("zos"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(zos.after_exit(1, false, 1s, now + seconds(i)), milliseconds(2000));
  EXPECT_FALSE(zos.after_exit(1, false, 1s, now + seconds(10))) << "the fourth failure within a minute";
  RestartTracker zos_slow(*parse_restart_policy("zos"));
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(zos_slow.after_exit(1, false, 1s, now + seconds(30 * i)));
}

}  // namespace
}  // namespace tiffin::shim

namespace tiffin::shim {
namespace {

TEST(Health, DockersRulesForStreaksAndTheStartPeriod) {
  Health h{"starting", 0, {}};
  auto probe = [](int code, std::string out = {}) { return HealthProbe{"s", "e", code, std::move(out)}; };
  record_probe(h, probe(1), true, 2);
  record_probe(h, probe(1), true, 2);
  EXPECT_EQ(h.status, "starting") << "failures within the start period do not count";
  EXPECT_EQ(h.failing_streak, 0);
  record_probe(h, probe(1), false, 2);
  EXPECT_EQ(h.status, "starting");
  EXPECT_EQ(h.failing_streak, 1);
  record_probe(h, probe(0), false, 2);
  EXPECT_EQ(h.status, "healthy");
  EXPECT_EQ(h.failing_streak, 0);
  record_probe(h, probe(1), true, 2);
  EXPECT_EQ(h.failing_streak, 1) << "once healthy, the start period protects no more";
  record_probe(h, probe(-1), true, 2);
  EXPECT_EQ(h.status, "unhealthy");
  EXPECT_EQ(h.log.size(), kHealthLogEntries) << "the last five probes";
  record_probe(h, probe(0, std::string(10000, 'x')), false, 2);
  EXPECT_EQ(h.log.size(), kHealthLogEntries);
  EXPECT_EQ(h.log.back().output.size(), kHealthOutputBytes);
  EXPECT_EQ(h.status, "healthy");

  HealthSettings s;
  s.interval = std::chrono::milliseconds(30000);
  s.start_interval = std::chrono::milliseconds(500);
  Health starting{"starting", 0, {}};
  EXPECT_EQ(next_probe_delay(s, starting, true).count(), 500);
  EXPECT_EQ(next_probe_delay(s, starting, false).count(), 30000);
  EXPECT_EQ(next_probe_delay(s, h, true).count(), 30000);
  EXPECT_EQ(probe_timeout_message(std::chrono::milliseconds(30000)), "Health check exceeded timeout (30s)");
  EXPECT_EQ(probe_timeout_message(std::chrono::milliseconds(1500)), "Health check exceeded timeout (1500ms)");
}

}  // namespace
}  // namespace tiffin::shim
