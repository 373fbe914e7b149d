#include "common/text.hpp"

#include <gtest/gtest.h>

namespace tiffin {
namespace {

TEST(Text, SplitKeepsEmptyFields) {
  EXPECT_EQ(split("a::b", ':'), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("", ','), std::vector<std::string>{""});
}

TEST(Text, ValidUtf8RefusesMalformedSequences) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  for (const char* bad : {"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3\x28", "a\x80"})
    EXPECT_FALSE(valid_utf8(bad)) << printable(bad);
}

TEST(Text, PrintableEscapesControlBytesAndNul) {
  EXPECT_EQ(printable("etc/passwd"), "etc/passwd");
  EXPECT_EQ(printable(std::string_view("a\0b\n\x1b[31m\\\x7f", 11)), "a\\x00b\\n\\x1b[31m\\\\\\x7f");
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 stays as it is
}

TEST(Text, ParseUintTakesOnlyTheWholeNumber) {
  EXPECT_EQ(parse_uint("0"), 0u);
  EXPECT_EQ(parse_uint("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_uint<uint16_t>("65535"), 65535u);
  EXPECT_EQ(parse_uint<uint8_t>("ff", 16), 255u);
  EXPECT_EQ(parse_uint<uint8_t>("377", 8), 255u);
  for (const char* bad : {"", " 1", "1 ", "+1", "-1", "-0", "12abc", "0x10", "1.5", "18446744073709551616"})
    EXPECT_FALSE(parse_uint(bad)) << bad;
  EXPECT_FALSE(parse_uint<uint16_t>("65536"));
  EXPECT_FALSE(parse_uint<uint8_t>("100", 16));
  EXPECT_FALSE(parse_uint<uint8_t>("g", 16));
}

TEST(Text, ParseIntTakesOnlyTheWholeNumber) {
  EXPECT_EQ(parse_int("-42"), -42);
  EXPECT_EQ(parse_int("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_int("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(parse_int<int>("2147483647"), 2147483647);
  for (const char* bad : {"", "-", " 1", "1 ", "+1", "--1", "12abc", "1e3", "9223372036854775808"}) EXPECT_FALSE(parse_int(bad)) << bad;
  EXPECT_FALSE(parse_int<int>("2147483648"));
}

}  // namespace
}  // namespace tiffin

namespace tiffin {
namespace {

TEST(Text, ParseDecimalTakesWholeFiniteNumbersOnly) {
  EXPECT_EQ(parse_decimal("1700000000.5"), 1700000000.5);
  EXPECT_EQ(parse_decimal("0"), 0.0);
  EXPECT_EQ(parse_decimal("-2.25"), -2.25);
  for (const char* bad : {"", "+1", "1e3", "1.5x", "nan", "inf", " 1", "0x10"}) EXPECT_FALSE(parse_decimal(bad)) << bad;
}

}  // namespace
}  // namespace tiffin
