#include "zos/workload_result.hpp"

#include <gtest/gtest.h>

namespace tiffin::zos {
namespace {

using json = nlohmann::json;

NodeIdentity node() { return *identity_from_seed_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"); }

WorkloadResult ok_result() {
  WorkloadResult r;
  r.workload_id = 9;
  r.node_id = node().node_id();
  r.state = ResultState::ok;
  r.data_json = R"({"id":"9-1","ipv4":"10.1.3.5","ipv6":""})";
  r.epoch = 1600000000;
  return r;
}

TEST(ZosResult, StateNames) {
  for (auto s : {ResultState::error, ResultState::ok, ResultState::deleted}) EXPECT_EQ(*parse_state(state_name(s)), s);
  EXPECT_EQ(state_name(ResultState::ok), "ok");
  EXPECT_EQ(parse_state("OK").error().kind, Errc::invalid_input);
  EXPECT_EQ(static_cast<int>(ResultState::deleted), 2);
}

TEST(ZosResult, BytesAreStateMessageAndData) {
  EXPECT_EQ(result_bytes(ok_result()), "\x01{\"id\":\"9-1\",\"ipv4\":\"10.1.3.5\",\"ipv6\":\"\"}");
  WorkloadResult failed;
  failed.state = ResultState::error;
  failed.message = "flist not found";
  EXPECT_EQ(result_bytes(failed), std::string("\0flist not found", 16));
  WorkloadResult deleted;
  deleted.state = ResultState::deleted;
  EXPECT_EQ(result_bytes(deleted), "\x02");
}

TEST(ZosResult, SignedResultVerifiesAndTamperingIsDenied) {
  NodeIdentity n = node();
  WorkloadResult r = ok_result();
  sign_result(r, n);
  EXPECT_EQ(r.signature.size(), 128u);
  EXPECT_EQ(r.signature, n.sign_hex(result_bytes(r)));
  ASSERT_TRUE(verify_result(r, n.public_hex()));

  auto denied = [&](WorkloadResult t, const char* what) {
    auto v = verify_result(t, n.public_hex());
    ASSERT_FALSE(v) << what;
    EXPECT_EQ(v.error().kind, Errc::denied) << what;
    EXPECT_NE(v.error().message.find("bad signature"), std::string::npos) << v.error().message;
  };
  WorkloadResult t = r;
  t.message = "x";
  denied(t, "message");
  t = r;
  t.data_json = R"({"id":"9-1","ipv4":"10.1.3.6","ipv6":""})";
  denied(t, "data_json");
  t = r;
  t.data_json = R"({"id": "9-1","ipv4":"10.1.3.5","ipv6":""})";
  denied(t, "data_json spacing");
  t = r;
  t.state = ResultState::error;
  denied(t, "state");

  auto other = *identity_from_seed_hex(std::string(64, '2'));
  EXPECT_EQ(verify_result(r, other.public_hex()).error().kind, Errc::denied);
  // What is not signed may change: the id, node id and time travel beside the signed bytes.
  t = r;
  t.epoch = 1;
  EXPECT_TRUE(verify_result(t, n.public_hex()));

  t = r;
  t.signature = "nothex";
  EXPECT_EQ(verify_result(t, n.public_hex()).error().kind, Errc::invalid_input);
  EXPECT_EQ(verify_result(r, "abc").error().kind, Errc::invalid_input);
}

TEST(ZosResult, JsonRoundTripKeepsTheSignedBytes) {
  NodeIdentity n = node();
  WorkloadResult r = ok_result();
  sign_result(r, n);
  json j = result_json(r);
  EXPECT_EQ(j["state"], "ok");
  EXPECT_EQ(j["data"]["ipv4"], "10.1.3.5");
  EXPECT_EQ(j["data_json"], r.data_json);
  EXPECT_EQ(j["epoch"], 1600000000);

  // "data" is for readers; the signed bytes come from data_json even when data says otherwise.
  j["data"] = json{{"ipv4", "1.2.3.4"}, {"id", "9-1"}, {"ipv6", ""}};
  auto back = parse_result(json::parse(j.dump()));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
  EXPECT_TRUE(verify_result(*back, n.public_hex()));

  WorkloadResult no_data;
  no_data.data_json = "";
  EXPECT_TRUE(result_json(no_data)["data"].is_null());
}

TEST(ZosResult, ParseIsStrict) {
  EXPECT_EQ(parse_result(json::array()).error().kind, Errc::invalid_input);
  auto object_data = parse_result(json{{"data_json", {{"id", "1"}}}});
  ASSERT_FALSE(object_data);
  EXPECT_TRUE(object_data.error().message.starts_with("data_json: expected a string")) << object_data.error().message;
  EXPECT_TRUE(parse_result(json{{"state", "bogus"}}).error().message.starts_with("state: 'bogus'"));
  EXPECT_FALSE(parse_result(json{{"state", 3}}));
  EXPECT_FALSE(parse_result(json{{"workload_id", "9"}}));
  EXPECT_FALSE(parse_result(json{{"signature", 1}}));
  // tfexplorer's numbers for states and RFC 3339 times are read too.
  auto numeric = parse_result(json{{"state", 2}, {"epoch", "2020-09-13T12:26:40Z"}});
  ASSERT_TRUE(numeric) << numeric.error().message;
  EXPECT_EQ(numeric->state, ResultState::deleted);
  EXPECT_EQ(numeric->epoch, 1600000000);
}

}  // namespace
}  // namespace tiffin::zos
