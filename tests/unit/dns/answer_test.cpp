#include "dns/answer.hpp"

#include <gtest/gtest.h>

#include "dns/forward_table.hpp"

namespace tiffin::dns {
namespace {

Zone zone() {
  auto f = parse_network_file("front",
      "listen 10.89.0.1\nupstream 127.0.0.1:5353\nsearch tiffin\n"
      "record web 10.89.0.2\nrecord web 10.89.0.3\nrecord web fd00::2\nrecord db 10.89.0.9\n",
      "front.conf");
  return Zone(*f);
}

Bytes query(const std::string& name, uint16_t qtype, uint16_t id = 0x4242) {
  Message m;
  m.id = id;
  m.flags = flag::rd;
  m.questions = {{name, qtype, class_in}};
  return *build_message(m);
}

Message reply_of(const Decision& d) {
  EXPECT_EQ(d.kind, Decision::Kind::reply);
  auto m = parse_message(d.reply);
  EXPECT_TRUE(m) << (m ? "" : m.error().message);
  return m ? *m : Message{};
}

std::vector<std::string> addresses(const Message& m) {
  std::vector<std::string> out;
  for (const auto& r : m.answers)
    out.push_back(
        net::IpAddress::from_bytes(r.type == type::A ? net::IpAddress::Family::v4 : net::IpAddress::Family::v6, r.data.data()).str());
  return out;
}

TEST(Answer, LocalNamesByFamilyAndRoundRobin) {
  Zone z = zone();
  Message a = reply_of(decide(z, query("Web.Tiffin", type::A), 512, true, 0));
  EXPECT_EQ(a.id, 0x4242);
  EXPECT_EQ(rcode_of(a.flags), rcode::noerror);
  EXPECT_TRUE(a.flags & flag::aa);
  EXPECT_TRUE(a.flags & flag::rd);
  EXPECT_EQ(a.questions[0].name, "Web.Tiffin");  // the client's spelling (0x20 clients check it)
  EXPECT_EQ(addresses(a), (std::vector<std::string>{"10.89.0.2", "10.89.0.3"}));
  EXPECT_EQ(a.answers[0].ttl, local_ttl);
  // The next query starts one further along.
  EXPECT_EQ(addresses(reply_of(decide(z, query("web", type::A), 512, true, 1))), (std::vector<std::string>{"10.89.0.3", "10.89.0.2"}));
  EXPECT_EQ(addresses(reply_of(decide(z, query("web", type::AAAA), 512, true, 0))), (std::vector<std::string>{"fd00::2"}));
  EXPECT_EQ(reply_of(decide(z, query("web", type::ANY), 512, true, 0)).answers.size(), 3u);
  // db has no v6 address, and no MX: the name exists, the answer is empty.
  for (uint16_t t : {type::AAAA, type::MX}) {
    Message none = reply_of(decide(z, query("db", t), 512, true, 0));
    EXPECT_EQ(rcode_of(none.flags), rcode::noerror);
    EXPECT_TRUE(none.answers.empty());
  }
}

TEST(Answer, PtrOfRecordAddresses) {
  Zone z = zone();
  Message m = reply_of(decide(z, query("9.0.89.10.in-addr.arpa", type::PTR), 512, true, 0));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].type, type::PTR);
  // RDATA is an uncompressed name: decode it on its own.
  auto name = decode_name(m.answers[0].data, 0);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->name, "db.tiffin");
  // An address of nobody's goes upstream.
  EXPECT_EQ(decide(z, query("77.0.89.10.in-addr.arpa", type::PTR), 512, true, 0).kind, Decision::Kind::forward);
}

TEST(Answer, SearchDomainIsOwnedOthersForwarded) {
  Zone z = zone();
  Message nx = reply_of(decide(z, query("nobody.tiffin", type::A), 512, true, 0));
  EXPECT_EQ(rcode_of(nx.flags), rcode::nxdomain);
  EXPECT_EQ(decide(z, query("example.com", type::A), 512, true, 0).kind, Decision::Kind::forward);
  Message sf = reply_of(decide(z, query("example.com", type::A), 512, false, 0));
  EXPECT_EQ(rcode_of(sf.flags), rcode::servfail);
  EXPECT_EQ(sf.questions[0].name, "example.com");
}

TEST(Answer, HostilePackets) {
  Zone z = zone();
  // Not even a header: dropped. A response: dropped (no ping-pong between servers).
  EXPECT_EQ(decide(z, Bytes{1, 2, 3}, 512, true, 0).kind, Decision::Kind::drop);
  Bytes response = query("web", type::A);
  response[2] |= 0x80;
  EXPECT_EQ(decide(z, response, 512, true, 0).kind, Decision::Kind::drop);
  // A query that does not parse: FORMERR with its id.
  Bytes broken = query("web", type::A);
  broken.pop_back();
  Message fe = reply_of(decide(z, broken, 512, true, 0));
  EXPECT_EQ(rcode_of(fe.flags), rcode::formerr);
  EXPECT_EQ(fe.id, 0x4242);
  // Two questions: FORMERR; another opcode: NOTIMP.
  Message two;
  two.questions = {{"web", type::A, class_in}, {"db", type::A, class_in}};
  EXPECT_EQ(rcode_of(reply_of(decide(z, *build_message(two), 512, true, 0)).flags), rcode::formerr);
  Bytes notify = query("web", type::A);
  notify[2] |= 4 << 3;
  EXPECT_EQ(rcode_of(reply_of(decide(z, notify, 512, true, 0)).flags), rcode::notimp);
}

TEST(Answer, TruncatesToFit) {
  std::string text = "listen 10.89.0.1\n";
  for (int i = 0; i < 100; ++i) text += "record many 10.89.1." + std::to_string(i) + "\n";
  Zone z(*parse_network_file("n", text, "n.conf"));
  Message udp = reply_of(decide(z, query("many", type::A), 512, true, 0));
  EXPECT_TRUE(udp.flags & flag::tc);
  EXPECT_LT(udp.answers.size(), 100u);
  EXPECT_LE(build_message(udp)->size(), 512u);
  Message tcp = reply_of(decide(z, query("many", type::A), 65535, true, 0));
  EXPECT_FALSE(tcp.flags & flag::tc);
  EXPECT_EQ(tcp.answers.size(), 100u);
}

TEST(ForwardTable, FreshIdsDeadlinesAndCapacity) {
  ForwardTable t(3, 12345);
  auto now = Clock::now();
  auto pending = [&](int ms) {
    PendingQuery p;
    p.wire = query("example.com", type::A, 7);
    p.deadline = now + std::chrono::milliseconds(ms);
    return p;
  };
  auto a = t.add(pending(10)), b = t.add(pending(20)), c = t.add(pending(30));
  ASSERT_TRUE(a && b && c);
  EXPECT_FALSE(t.add(pending(40)));  // full
  EXPECT_NE(*a, *b);
  // The id is written into the query to send.
  EXPECT_EQ(t.find(*a)->wire[0] << 8 | t.find(*a)->wire[1], *a);
  EXPECT_EQ(t.next_deadline(), now + std::chrono::milliseconds(10));
  t.erase(*a);
  EXPECT_EQ(t.next_deadline(), now + std::chrono::milliseconds(20));
  t.extend(*b, now + std::chrono::milliseconds(100));
  EXPECT_EQ(t.expired(now + std::chrono::milliseconds(50)), std::vector<uint16_t>{*c});
  t.erase(*c);
  EXPECT_EQ(t.expired(now + std::chrono::milliseconds(100)), std::vector<uint16_t>{*b});
  t.erase(*b);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.next_deadline());
}

}  // namespace
}  // namespace tiffin::dns
