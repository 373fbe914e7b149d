#include "common/mountinfo.hpp"

#include <gtest/gtest.h>

namespace tiffin {
namespace {

TEST(MountInfo, FieldsOptionalFieldsAndEscapes) {
  auto m = parse_mountinfo(
      "36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 shared:2 - overlay over\\040lay rw,lowerdir=/x\\040y/lower\n"
      "37 23 0:40 / /proc rw - proc proc rw\n"
      "garbage line\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].root, "/mnt1");
  EXPECT_EQ(m[0].mount_point, "/mnt/a b");
  EXPECT_EQ(m[0].options, "rw,noatime");
  EXPECT_EQ(m[0].fstype, "overlay");
  EXPECT_EQ(m[0].source, "over lay");
  EXPECT_EQ(m[0].super_options, "rw,lowerdir=/x\\040y/lower");
  EXPECT_EQ(mountinfo_unescape("/x\\040y/lower"), "/x y/lower");
  EXPECT_EQ(m[1].mount_point, "/proc");
}

TEST(MountInfo, UnescapeKeepsWhatIsNotAnOctalEscape) {
  EXPECT_EQ(mountinfo_unescape("a\\134b\\011c"), "a\\b\tc");
  EXPECT_EQ(mountinfo_unescape("a\\x40b\\400c\\8"), "a\\x40b\\400c\\8");
  EXPECT_EQ(mountinfo_unescape("end\\04"), "end\\04");
}

}  // namespace
}  // namespace tiffin
