// The bookkeeping behind the hub's per-client limits and its /metrics page.
#include <gtest/gtest.h>

#include "hub/client_limits.hpp"
#include "hub/hub_metrics.hpp"

using namespace tiffin::hub;
using namespace std::chrono_literals;

TEST(ClientLimits, KeysClientsByAddressAndIpv6Slash64) {
  EXPECT_EQ(ClientLimits::client_key("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(ClientLimits::client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientLimits::client_key("2001:db8:1:2::7"), ClientLimits::client_key("2001:db8:1:2:ffff::1"));
  EXPECT_NE(ClientLimits::client_key("2001:db8:1:2::7"), ClientLimits::client_key("2001:db8:1:3::7"));
  EXPECT_EQ(ClientLimits::client_key("::ffff:192.0.2.7"), "192.0.2.7");
}

TEST(ClientLimits, CountsConnectionsPerClient) {
  ClientLimits limits({.max_connections_per_client = 2, .requests_per_second = 0});
  EXPECT_TRUE(limits.open_connection("a"));
  EXPECT_TRUE(limits.open_connection("a"));
  EXPECT_FALSE(limits.open_connection("a")) << "a third connection of the same client";
  EXPECT_TRUE(limits.open_connection("b")) << "other clients are not affected";
  EXPECT_EQ(limits.connections("a"), 2u);
  limits.close_connection("a");
  EXPECT_TRUE(limits.open_connection("a")) << "a closed connection frees its slot";
  limits.close_connection("a");
  limits.close_connection("a");
  limits.close_connection("a");  // more closes than opens never underflow
  EXPECT_EQ(limits.connections("a"), 0u);
}

TEST(ClientLimits, RateIsATokenBucketPerClient) {
  ClientLimits limits({.max_connections_per_client = 0, .requests_per_second = 10, .request_burst = 5});
  auto t0 = ClientLimits::Clock::time_point{} + 1000s;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limits.admit_request("a", t0)) << "the burst, request " << i;
  auto wait = limits.admit_request("a", t0);
  ASSERT_TRUE(wait) << "the sixth request at once is over the burst";
  EXPECT_GT(*wait, 0ms);
  EXPECT_LE(*wait, 101ms) << "one token comes back every 100 ms";
  EXPECT_FALSE(limits.admit_request("b", t0)) << "another client has its own bucket";
  EXPECT_FALSE(limits.admit_request("a", t0 + 100ms)) << "a token refilled";
  EXPECT_TRUE(limits.admit_request("a", t0 + 100ms));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limits.admit_request("a", t0 + 10s)) << "refills up to the burst, not beyond";
  EXPECT_TRUE(limits.admit_request("a", t0 + 10s));
}

TEST(ClientLimits, ForgetsIdleClientsOnlyOnceTheirBucketIsFull) {
  ClientLimits limits({.max_connections_per_client = 4, .requests_per_second = 10, .request_burst = 5});
  auto t0 = ClientLimits::Clock::time_point{} + 1000s;
  ASSERT_TRUE(limits.open_connection("a"));
  for (int i = 0; i < 5; ++i) (void)limits.admit_request("a", t0);
  limits.close_connection("a");
  limits.forget_idle(t0 + 100ms);
  EXPECT_EQ(limits.tracked_clients(), 1u) << "reconnecting must not reset a drained bucket";
  EXPECT_TRUE(limits.admit_request("a", t0 + 200ms) == std::nullopt);
  limits.forget_idle(t0 + 10s);
  EXPECT_EQ(limits.tracked_clients(), 0u);
  ASSERT_TRUE(limits.open_connection("b"));
  limits.forget_idle(t0 + 20s);
  EXPECT_EQ(limits.tracked_clients(), 1u) << "a client with a connection stays";
}

TEST(HubMetrics, ClassifiesRoutes) {
  std::string hex(64, 'a');
  EXPECT_EQ(classify_route("/blocks/" + hex), HubRoute::block);
  EXPECT_EQ(classify_route("/aa/" + hex), HubRoute::block);
  EXPECT_EQ(classify_route("/alice/x:1.fl"), HubRoute::flist);
  EXPECT_EQ(classify_route("/alice/x:1.fl.md5"), HubRoute::flist);
  EXPECT_EQ(classify_route("/api/blocks/missing"), HubRoute::api);
  EXPECT_EQ(classify_route("/metrics"), HubRoute::metrics);
  EXPECT_EQ(classify_route("/"), HubRoute::other);
  EXPECT_EQ(classify_route("/blocks/" + hex.substr(1)), HubRoute::other);
}

TEST(HubMetrics, RendersPrometheusText) {
  HubMetrics m;
  m.request(HubRoute::block, 200, 0.0003);
  m.request(HubRoute::block, 206, 0.002);
  m.request(HubRoute::block, 404, 7);
  m.request(HubRoute::api, 503, 0.01);
  m.refused(Refusal::header_timeout);
  m.refused(Refusal::header_timeout);
  m.sent(1000);
  m.received(10);
  m.connection_opened();
  m.connection_opened();
  m.connection_closed();
  EXPECT_EQ(m.requests(HubRoute::block), 3u);
  std::string page = m.render();
  auto has = [&](const std::string& line) { return page.find("\n" + line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("tiffin_hub_requests_total{route=\"block\",code=\"2xx\"} 2")) << page;
  EXPECT_TRUE(has("tiffin_hub_requests_total{route=\"block\",code=\"4xx\"} 1"));
  EXPECT_TRUE(has("tiffin_hub_requests_total{route=\"api\",code=\"5xx\"} 1"));
  // Buckets are cumulative, and the 7 s request is only in +Inf.
  EXPECT_TRUE(has("tiffin_hub_request_duration_seconds_bucket{route=\"block\",le=\"0.0005\"} 1"));
  EXPECT_TRUE(has("tiffin_hub_request_duration_seconds_bucket{route=\"block\",le=\"0.0025\"} 2"));
  EXPECT_TRUE(has("tiffin_hub_request_duration_seconds_bucket{route=\"block\",le=\"5\"} 2"));
  EXPECT_TRUE(has("tiffin_hub_request_duration_seconds_bucket{route=\"block\",le=\"+Inf\"} 3"));
  EXPECT_TRUE(has("tiffin_hub_request_duration_seconds_count{route=\"block\"} 3"));
  EXPECT_TRUE(has("tiffin_hub_refusals_total{reason=\"header_timeout\"} 2"));
  EXPECT_TRUE(has("tiffin_hub_refusals_total{reason=\"request_rate\"} 0"));
  EXPECT_TRUE(has("tiffin_hub_open_connections 1"));
  EXPECT_TRUE(has("tiffin_hub_connections_total 2"));
  EXPECT_TRUE(has("tiffin_hub_sent_bytes_total 1000"));
  EXPECT_TRUE(page.starts_with("# HELP "));
}
