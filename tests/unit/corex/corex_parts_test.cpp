// coreX's pure parts: the output ring's bounds, the terminal messages, authentication (tokens,
// cookies, Basic, origins), request targets, options, signals.
#include <gtest/gtest.h>

#include <signal.h>

#include "common/base64.hpp"
#include "corex/auth.hpp"
#include "corex/corex_api.hpp"
#include "corex/options.hpp"
#include "corex/output_ring.hpp"
#include "corex/tty_message.hpp"
#include "corex/url_query.hpp"

namespace tiffin::corex {
namespace {

TEST(OutputRing, KeepsTheLastCapacityBytes) {
  OutputRing r(8);
  EXPECT_EQ(r.contents(), "");
  r.append("abc");
  EXPECT_EQ(r.contents(), "abc");
  r.append("defgh");
  EXPECT_EQ(r.contents(), "abcdefgh");
  r.append("ij");
  EXPECT_EQ(r.contents(), "cdefghij");
  r.append("klmnopq");
  EXPECT_EQ(r.contents(), "jklmnopq");
  r.append("0123456789abcdef");  // longer than the ring: its tail
  EXPECT_EQ(r.contents(), "89abcdef");
  EXPECT_EQ(r.size(), 8u);
  EXPECT_EQ(r.total(), 3u + 5 + 2 + 7 + 16);
}

TEST(OutputRing, NeverExceedsItsCapacityWhateverTheChunks) {
  OutputRing r(1000);
  std::string all;
  for (int i = 0; i < 5000; ++i) {
    std::string chunk(static_cast<size_t>(i % 37), static_cast<char>('a' + i % 26));
    r.append(chunk);
    all += chunk;
    ASSERT_LE(r.size(), 1000u);
    ASSERT_EQ(r.contents(), all.substr(all.size() > 1000 ? all.size() - 1000 : 0));
  }
}

TEST(TtyMessage, InputAndResize) {
  auto in = parse_tty_message("0ls -l\r");
  ASSERT_TRUE(in);
  EXPECT_EQ(std::get<TtyInput>(*in).data, "ls -l\r");
  auto size = parse_tty_message(R"(1{"columns":120,"rows":40})");
  ASSERT_TRUE(size);
  EXPECT_EQ(std::get<TtyResize>(*size).columns, 120);
  EXPECT_EQ(std::get<TtyResize>(*size).rows, 40);
  for (const char* bad : {"", "2x", "1{", R"(1{"columns":0,"rows":4})", R"(1{"columns":"80","rows":4})", R"(1{"rows":4})", R"(1[1,2])",
           R"(1{"columns":80,"rows":99999})"})
    EXPECT_EQ(parse_tty_message(bad).error().kind, Errc::invalid_input) << bad;
  EXPECT_EQ(tty_output("hi"), "0hi");
}

TEST(Auth, TokenFromHeaderQueryOrCookie) {
  Credentials c{"tok123", "", ""};
  EXPECT_FALSE(authenticated(c, {}));
  EXPECT_TRUE(authenticated(c, {"Bearer tok123", "", ""}));
  EXPECT_TRUE(authenticated(c, {"bearer  tok123 ", "", ""}));
  EXPECT_FALSE(authenticated(c, {"Bearer tok12", "", ""}));
  EXPECT_FALSE(authenticated(c, {"Bearer tok1234", "", ""}));
  EXPECT_FALSE(authenticated(c, {"Basic tok123", "", ""}));
  EXPECT_TRUE(authenticated(c, {"", "", "tok123"}));
  EXPECT_FALSE(authenticated(c, {"", "", "nope"}));
  EXPECT_TRUE(authenticated(c, {"", "a=1; corex_token=tok123; b=2", ""}));
  EXPECT_FALSE(authenticated(c, {"", "corex_token2=tok123", ""}));
  // No token configured: an empty one is no credential.
  Credentials none{"", "", ""};
  EXPECT_FALSE(authenticated(none, {"Bearer ", "corex_token=", ""}));
}

TEST(Auth, Basic) {
  Credentials c{"", "alice", "pa:ss"};
  EXPECT_TRUE(authenticated(c, {"Basic YWxpY2U6cGE6c3M=", "", ""}));  // alice:pa:ss
  EXPECT_FALSE(authenticated(c, {"Basic YWxpY2U6cGE=", "", ""}));     // alice:pa
  EXPECT_FALSE(authenticated(c, {"Basic Ym9iOnBhOnNz", "", ""}));     // bob:pa:ss
  EXPECT_FALSE(authenticated(c, {"Basic !!!!", "", ""}));
  EXPECT_FALSE(authenticated(c, {"", "", "alice"}));
  EXPECT_EQ(base64_decode("aGk="), "hi");
  EXPECT_EQ(base64_decode("aA=="), "h");
  EXPECT_FALSE(base64_decode("aA="));
  EXPECT_FALSE(base64_decode("a=A="));
  for (std::string_view plain : {"", "a", "ab", "abc", "user:pa\xffss"}) EXPECT_EQ(base64_decode(base64_encode(plain)), plain);
  EXPECT_EQ(base64_encode("alice:pass"), "YWxpY2U6cGFzcw==");
}

TEST(Auth, ConstantTimeEqualAndCookies) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_EQ(cookie_value("x=1; corex_token=t", "corex_token"), "t");
  EXPECT_FALSE(cookie_value("x=1", "corex_token"));
  std::string set = token_cookie("t");
  EXPECT_NE(set.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set.find("SameSite=Strict"), std::string::npos);
}

TEST(Auth, Origins) {
  EXPECT_TRUE(origin_allowed("", "10.0.0.2:7681"));
  EXPECT_TRUE(origin_allowed("http://10.0.0.2:7681", "10.0.0.2:7681"));
  EXPECT_TRUE(origin_allowed("https://Node.Example:7681", "node.example:7681"));
  EXPECT_FALSE(origin_allowed("http://evil.example", "10.0.0.2:7681"));
  EXPECT_FALSE(origin_allowed("http://10.0.0.2:7682", "10.0.0.2:7681"));
  EXPECT_FALSE(origin_allowed("null", "10.0.0.2:7681"));
  EXPECT_FALSE(origin_allowed("http://10.0.0.2:7681", ""));
}

TEST(UrlQuery, ParsesRepeatedParameters) {
  auto t = parse_target("/api/process/start?arg[]=sh&arg%5B%5D=-c&arg[]=echo+a%26b&id=7");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/api/process/start");
  EXPECT_EQ(t->all("arg[]"), (std::vector<std::string>{"sh", "-c", "echo a&b"}));
  EXPECT_EQ(t->get("id"), "7");
  EXPECT_FALSE(t->get("signal"));
  EXPECT_FALSE(parse_target("/x?a=%zz"));
  EXPECT_FALSE(parse_target("/x?a=%4"));
  EXPECT_EQ(target_without_token(*parse_target("/attach/3?token=abc&x=1")), "/attach/3?x=1");
  EXPECT_EQ(target_without_token(*parse_target("/?token=abc")), "/");
  // What was decoded is encoded again before it goes into a Location header.
  EXPECT_EQ(target_without_token(*parse_target("/a%0d%0aSet-Cookie:%20x?token=1")), "/a%0D%0ASet-Cookie%3A%20x");
}

TEST(Options, ZeroOsArguments) {
  auto o = parse_options({"--ipv6", "-d", "7", "--interface", "eth0"}, "tok");
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->ipv6);
  EXPECT_EQ(o->debug, 7);
  EXPECT_EQ(o->interface, "eth0");
  EXPECT_EQ(o->port, 7681);
  EXPECT_EQ(o->credentials.token, "tok");
  EXPECT_TRUE(o->command.empty());
}

TEST(Options, CommandCredentialsAndRefusals) {
  auto o = parse_options({"-p", "0", "-c", "u:p:w", "--", "sh", "-c", "x"}, "");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->port, 0);
  EXPECT_EQ(o->credentials.basic_user, "u");
  EXPECT_EQ(o->credentials.basic_password, "p:w");
  EXPECT_EQ(o->command, (std::vector<std::string>{"sh", "-c", "x"}));
  EXPECT_EQ(parse_options({}, "").error().kind, Errc::invalid_input);  // never without authentication
  for (auto bad : std::vector<std::vector<std::string>>{{"-p", "70000"}, {"-p"}, {"--interface", "a/b"}, {"-c", "nocolon"}, {"-c", ":p"},
           {"--bogus"}, {"--ring-size", "10"}, {"-d", "x"}})
    EXPECT_FALSE(parse_options(bad, "tok")) << bad[0];
}

TEST(Signals, NumbersAndNames) {
  EXPECT_EQ(parse_signal("9"), SIGKILL);
  EXPECT_EQ(parse_signal("KILL"), SIGKILL);
  EXPECT_EQ(parse_signal("sigterm"), SIGTERM);
  EXPECT_EQ(parse_signal("HUP"), SIGHUP);
  EXPECT_FALSE(parse_signal("0"));
  EXPECT_FALSE(parse_signal("99"));
  EXPECT_FALSE(parse_signal("BOGUS"));
  EXPECT_FALSE(parse_signal("-9"));
}

}  // namespace
}  // namespace tiffin::corex
