#include "dns/dns_message.hpp"

#include <gtest/gtest.h>

namespace tiffin::dns {
namespace {

Bytes wire_of(std::initializer_list<int> b) {
  Bytes out;
  for (int x : b) out.push_back(static_cast<uint8_t>(x));
  return out;
}

// A header with the given counts.
Bytes header(uint16_t qd, uint16_t an = 0) { return wire_of({0x12, 0x34, 0x01, 0x00, 0, qd, 0, an, 0, 0, 0, 0}); }

void append(Bytes& b, std::initializer_list<int> more) {
  for (int x : more) b.push_back(static_cast<uint8_t>(x));
}

TEST(DnsMessage, RoundTripsEverySection) {
  Message m;
  m.id = 0xbeef;
  m.flags = flag::qr | flag::rd | flag::ra | flag::aa;
  m.questions = {{"Web.Tiffin", type::A, class_in}};
  m.answers = {{"Web.Tiffin", type::A, class_in, 60, {10, 89, 0, 2}}, {"web.tiffin", type::A, class_in, 60, {10, 89, 0, 3}}};
  m.authority = {{"tiffin", type::NS, class_in, 300, *encode_name("ns.tiffin")}};
  m.additional = {{"", type::OPT, 1232, 0, {}}};
  auto wire = build_message(m);
  ASSERT_TRUE(wire);
  auto back = parse_message(*wire);
  ASSERT_TRUE(back) << back.error().message;
  // Names compare as written (the compressed answers point at the question's spelling).
  EXPECT_EQ(back->id, m.id);
  EXPECT_EQ(back->flags, m.flags);
  EXPECT_EQ(back->questions, m.questions);
  EXPECT_EQ(back->answers[0].name, "Web.Tiffin");
  EXPECT_EQ(lowercase(back->answers[1].name), "web.tiffin");
  EXPECT_EQ(back->answers[1].data, m.answers[1].data);
  EXPECT_EQ(back->authority, m.authority);
  EXPECT_EQ(back->additional, m.additional);
}

TEST(DnsMessage, CompressesRepeatedNames) {
  Message m;
  m.questions = {{"a.example", type::A, class_in}};
  m.answers = {{"a.example", type::A, class_in, 1, {1, 2, 3, 4}}, {"b.example", type::A, class_in, 1, {1, 2, 3, 5}}};
  auto wire = build_message(m);
  ASSERT_TRUE(wire);
  // Question name at 12: 1 a 7 example 0 = 11 bytes; the first answer is one pointer to it, the
  // second "b" and a pointer to "example" (offset 14).
  EXPECT_EQ((*wire)[12 + 11 + 4], 0xC0);
  EXPECT_EQ((*wire)[12 + 11 + 5], 12);
  size_t second = 12 + 11 + 4 + 2 + 10 + 4;
  EXPECT_EQ((*wire)[second], 1);
  EXPECT_EQ((*wire)[second + 2], 0xC0);
  EXPECT_EQ((*wire)[second + 3], 14);
  EXPECT_EQ(parse_message(*wire)->answers[1].name, "b.example");
}

TEST(DnsMessage, FollowsBackwardPointers) {
  Bytes w = header(2);
  append(w, {3, 'f', 'o', 'o', 0, 0, 1, 0, 1});          // foo A IN at 12
  append(w, {3, 'b', 'a', 'r', 0xC0, 12, 0, 28, 0, 1});  // bar.foo AAAA IN
  auto m = parse_message(w);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->questions[1].name, "bar.foo");
  EXPECT_EQ(m->questions[1].type, type::AAAA);
}

TEST(DnsMessage, RefusesPointerLoopsAndForwardPointers) {
  Bytes self = header(1);
  append(self, {0xC0, 12, 0, 1, 0, 1});  // points at itself
  EXPECT_FALSE(parse_message(self));
  Bytes forward = header(1);
  append(forward, {0xC0, 14, 0, 0, 0, 1, 0, 1});  // points ahead
  EXPECT_FALSE(parse_message(forward));
  // Two pointers bouncing between each other through labels: 12 → "a" then pointer to 12.
  Bytes bounce = header(1);
  append(bounce, {1, 'a', 0xC0, 12, 0, 1, 0, 1});
  auto m = parse_message(bounce);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("backwards"), std::string::npos);
}

TEST(DnsMessage, RefusesTruncatedAndOverlong) {
  Bytes q = header(1);
  append(q, {3, 'f', 'o', 'o', 0, 0, 1, 0, 1});
  ASSERT_TRUE(parse_message(q));
  for (size_t cut = 0; cut < q.size(); ++cut) EXPECT_FALSE(parse_message(std::span(q).first(cut))) << cut;
  Bytes trailing = q;
  trailing.push_back(0);
  EXPECT_FALSE(parse_message(trailing));
  // A label of 64 bytes uses the reserved 0x40 type.
  Bytes long_label = header(1);
  long_label.push_back(64);
  long_label.insert(long_label.end(), 64, 'a');
  append(long_label, {0, 0, 1, 0, 1});
  EXPECT_FALSE(parse_message(long_label));
  // 5 labels of 63 bytes: over 255.
  Bytes long_name = header(1);
  for (int i = 0; i < 5; ++i) {
    long_name.push_back(63);
    long_name.insert(long_name.end(), 63, 'a');
  }
  append(long_name, {0, 0, 1, 0, 1});
  auto m = parse_message(long_name);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("255"), std::string::npos);
  // Counts that cannot fit in the bytes there are.
  EXPECT_FALSE(parse_message(wire_of({0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})));
  // An RDATA length past the end.
  Bytes rec = header(0, 1);
  append(rec, {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 1, 2});
  EXPECT_FALSE(parse_message(rec));
}

TEST(DnsMessage, EscapesOddLabelBytes) {
  Bytes q = header(1);
  append(q, {3, 'a', '.', 'b', 2, 'c', 0, 0, 0, 1, 0, 1});
  auto m = parse_message(q);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->questions[0].name, "a\\046b.c\\000");
  // Encoding the text form gives the same labels back.
  auto wire = encode_name(m->questions[0].name);
  ASSERT_TRUE(wire);
  EXPECT_EQ(*wire, wire_of({3, 'a', '.', 'b', 2, 'c', 0, 0}));
}

TEST(DnsMessage, EncodeNameLimits) {
  EXPECT_EQ(*encode_name(""), wire_of({0}));
  EXPECT_FALSE(encode_name("a..b"));
  EXPECT_FALSE(encode_name(std::string(64, 'a')));
  EXPECT_TRUE(encode_name(std::string(63, 'a')));
  std::string n;
  for (int i = 0; i < 4; ++i) n += std::string(63, 'a') + ".";
  EXPECT_FALSE(encode_name(n + "b"));  // 4*64 + 2 + 1 = 259
  EXPECT_EQ(lowercase("WeB.TiFFin"), "web.tiffin");
}

TEST(DnsMessage, FirstQuestionOnly) {
  Bytes q = header(1);
  append(q, {3, 'f', 'o', 'o', 0, 0, 1, 0, 1, 0xde, 0xad});  // trailing junk is not looked at
  auto first = parse_first_question(q);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->name, "foo");
  EXPECT_FALSE(parse_first_question(header(0)));
}

}  // namespace
}  // namespace tiffin::dns
