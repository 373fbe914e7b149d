// docker cp's tars: a path archived from a root and unpacked into another, under a new name;
// hostile archives and symlinks in the destination never lead out of the root.
#include <gtest/gtest.h>

#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/fd.hpp"
#include "flist/path_archive.hpp"
#include "test_support.hpp"

namespace tiffin {
namespace {

ByteSink into(std::string& out) {
  return [&out](std::span<const uint8_t> b) -> Result<void> {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
    return {};
  };
}

// A tar with one file entry named `name` holding `content`, or a symlink entry.
std::string tar_with(const std::string& name, const std::string& content, const std::string& symlink_to = {}) {
  std::string out;
  TarWriter tar(into(out));
  EXPECT_TRUE(tar.open());
  auto e = new_archive_entry();
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_mode(e.get(), (symlink_to.empty() ? AE_IFREG : AE_IFLNK) | 0644);
  if (!symlink_to.empty()) archive_entry_set_symlink(e.get(), symlink_to.c_str());
  else archive_entry_set_size(e.get(), static_cast<la_int64_t>(content.size()));
  EXPECT_TRUE(tar.header(e.get(), name));
  if (symlink_to.empty()) {
    EXPECT_TRUE(tar.data({reinterpret_cast<const uint8_t*>(content.data()), content.size()}, name));
  }
  EXPECT_TRUE(tar.close());
  return out;
}

TEST(PathArchive, StatsTheLastComponentWithoutFollowingIt) {
  test::TempDir dir;
  std::string root = dir / "root";
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  std::ofstream(root + "/file") << "12345";
  ASSERT_EQ(::symlink("/file", (root + "/link").c_str()), 0);
  auto f = stat_in_root(root, "/file");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->name, "file");
  EXPECT_EQ(f->size, 5);
  EXPECT_TRUE(S_ISREG(f->mode));
  auto l = stat_in_root(root, "/link");
  ASSERT_TRUE(l);
  EXPECT_TRUE(S_ISLNK(l->mode));
  EXPECT_EQ(l->link_target, "/file");
  auto r = stat_in_root(root, "/");
  ASSERT_TRUE(r);
  EXPECT_TRUE(S_ISDIR(r->mode));
  EXPECT_FALSE(stat_in_root(root, "/missing"));
  EXPECT_FALSE(stat_in_root(root, "relative"));
}

TEST(PathArchive, RoundTripsATreeUnderANewName) {
  if (::geteuid() != 0) GTEST_SKIP() << "unpacking sets owners: needs root";
  test::TempDir dir;
  std::string src = dir / "src", dst = dir / "dst";
  for (const auto& d : {src, src + "/data", src + "/data/sub", dst}) ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  std::ofstream(src + "/data/sub/f") << "content";
  ASSERT_EQ(::chmod((src + "/data/sub/f").c_str(), 0640), 0);
  ASSERT_EQ(::link((src + "/data/sub/f").c_str(), (src + "/data/hard").c_str()), 0);
  ASSERT_EQ(::symlink("sub/f", (src + "/data/rel").c_str()), 0);
  std::string tar;
  ASSERT_TRUE(archive_in_root(src, "/data", into(tar)));
  ExtractOptions opts;
  opts.rebase_from = "data";
  opts.rebase_to = "copy";
  auto done = extract_in_root(dst, "/", tar, opts);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(test::slurp(dst + "/copy/sub/f"), "content");
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat((dst + "/copy/sub/f").c_str(), &a), 0);
  ASSERT_EQ(::stat((dst + "/copy/hard").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hard links stay links";
  EXPECT_EQ(a.st_mode & 07777, 0640u);
  char link[64] = {};
  ASSERT_GT(::readlink((dst + "/copy/rel").c_str(), link, sizeof link), 0);
  EXPECT_STREQ(link, "sub/f");
}

TEST(PathArchive, ARootUnpacksUnderTheNewNameOnly) {
  if (::geteuid() != 0) GTEST_SKIP() << "unpacking sets owners: needs root";
  test::TempDir dir;
  std::string src = dir / "src", dst = dir / "dst";
  for (const auto& d : {src, src + "/etc", dst}) ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  std::ofstream(src + "/etc/passwd") << "root";
  ::mkfifo((src + "/fifo").c_str(), 0600);
  std::string tar;
  ASSERT_TRUE(archive_in_root(src, "/", into(tar)));
  ExtractOptions opts;
  opts.rebase_from = "/";
  opts.rebase_to = "backup";
  ASSERT_TRUE(extract_in_root(dst, "/", tar, opts));
  EXPECT_EQ(test::slurp(dst + "/backup/etc/passwd"), "root");
  EXPECT_NE(::access((dst + "/etc").c_str(), F_OK), 0) << "spilled beside the new name";
  // A volume's root is archived under its name in the container.
  std::string named;
  ASSERT_TRUE(archive_in_root(src, "/", into(named), "data"));
  ExtractOptions plain;
  ASSERT_TRUE(extract_in_root(dst, "/", named, plain));
  EXPECT_EQ(test::slurp(dst + "/data/etc/passwd"), "root");
}

TEST(PathArchive, RefusesEntriesThatLeadOut) {
  test::TempDir dir;
  std::string root = dir / "root";
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  for (const auto& name : {"../escape", "a/../../escape", "/abs"}) {
    auto r = extract_in_root(root, "/", tar_with(name, "x"), {});
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().kind, Errc::invalid_input) << name;
  }
  EXPECT_NE(::access((dir / "escape").c_str(), F_OK), 0);
  EXPECT_FALSE(extract_in_root(root, "/", "not a tar at all", {}));
  // Found by cp_extract_fuzz: a gzip stream inside a gzip stream, cut short, for which
  // libarchive has no message (a null one, once appended to the error).
  const std::string nested_gzip("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x1f\x8b\x08\x00\x00\x10\x00\x00\x00\x00", 19);
  auto cut = extract_in_root(root, "/", nested_gzip, {});
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().kind, Errc::invalid_input);
}

TEST(PathArchive, SymlinksInTheRootResolveInsideIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "unpacking sets owners: needs root";
  test::TempDir dir;
  std::string root = dir / "root", outside = dir / "outside";
  for (const auto& d : {root, outside, root + "/inside"}) ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  // The container's /evil points at the host's directory; unpacking through it must land in
  // the root's directory of that name.
  ASSERT_EQ(::symlink(outside.c_str(), (root + "/evil").c_str()), 0);
  ASSERT_TRUE(std::filesystem::create_directories(root + outside));
  auto r = extract_in_root(root, "/", tar_with("evil/planted", "x"), {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(::access((outside + "/planted").c_str(), F_OK), 0) << "wrote through the symlink out of the root";
  EXPECT_EQ(::access((root + outside + "/planted").c_str(), F_OK), 0);
  // An archive's own symlink, then a file through it: the same.
  std::string two = tar_with("hop", "", outside);
  ASSERT_TRUE(extract_in_root(root, "/inside", two, {}));
  ASSERT_TRUE(extract_in_root(root, "/inside", tar_with("hop/x", "y"), {}));
  EXPECT_NE(::access((outside + "/x").c_str(), F_OK), 0);
  // A destination that is not a directory.
  std::ofstream(root + "/file") << "f";
  EXPECT_FALSE(extract_in_root(root, "/file", tar_with("a", "b"), {}));
}

TEST(PathArchive, NoOverwriteDirNonDir) {
  if (::geteuid() != 0) GTEST_SKIP() << "unpacking sets owners: needs root";
  test::TempDir dir;
  std::string root = dir / "root";
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root + "/d").c_str(), 0755), 0);
  ExtractOptions strict;
  strict.no_overwrite_dir_non_dir = true;
  EXPECT_FALSE(extract_in_root(root, "/", tar_with("d", "file"), strict));
  ASSERT_TRUE(extract_in_root(root, "/", tar_with("d", "file"), {}));
  EXPECT_EQ(test::slurp(root + "/d"), "file");
}

TEST(PathArchive, BoundsAndSpecialFilesForStrangersArchives) {
  if (::geteuid() != 0) GTEST_SKIP() << "unpacking sets owners: needs root";
  test::TempDir dir;
  std::string root = dir / "root";
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  ExtractOptions bounded;
  bounded.max_bytes = 4;
  auto big = extract_in_root(root, "/", tar_with("big", "12345"), bounded);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().kind, Errc::invalid_input);
  EXPECT_NE(::access((root + "/big").c_str(), F_OK), 0) << "refused before a byte was written";
  ASSERT_TRUE(extract_in_root(root, "/", tar_with("small", "1234"), bounded));
  // A fifo entry: made for docker cp, refused for a build context.
  std::string out;
  {
    TarWriter tar(into(out));
    ASSERT_TRUE(tar.open());
    auto e = new_archive_entry();
    archive_entry_set_pathname(e.get(), "pipe");
    archive_entry_set_mode(e.get(), AE_IFIFO | 0644);
    ASSERT_TRUE(tar.header(e.get(), "pipe"));
    ASSERT_TRUE(tar.close());
  }
  ExtractOptions files_only;
  files_only.refuse_special_files = true;
  EXPECT_FALSE(extract_in_root(root, "/", out, files_only));
  EXPECT_NE(::access((root + "/pipe").c_str(), F_OK), 0);
  ExtractOptions few;
  few.max_entries = 0;
  ASSERT_TRUE(extract_in_root(root, "/", out, few));
  // From a descriptor, as POST /build's spooled body is read.
  std::string path = dir / "ctx.tar";
  std::ofstream(path) << tar_with("from-fd", "via fd");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(extract_in_root_fd(root, "/", fd.get(), files_only));
  EXPECT_EQ(test::slurp(root + "/from-fd"), "via fd");
}

}  // namespace
}  // namespace tiffin
