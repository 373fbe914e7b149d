// The lazy mount without mounting anything: what a daemon reports when it cannot start.
#include "fuse/lazy_fs.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

using namespace tiffin;

// --daemon forks before anything is opened; the child's error reaches the caller through a pipe
// in the errors' wire form, so it is the very error the mount gives in-process.
TEST(LazyFs, ADaemonReportsTheErrorItWouldHaveHadInProcess) {
  test::TempDir dir;
  test::write_text(dir / "not-an-flist.fl", "garbage\nwith a second line\n");
  for (const char* flist : {"missing.fl", "not-an-flist.fl"}) {
    MountOptions o{.flist = dir / flist, .mountpoint = dir.path(), .cache_dir = dir / "cache"};
    auto in_process = mount_flist(o);
    o.daemon = true;
    auto daemon = mount_flist(o);
    ASSERT_FALSE(in_process) << flist;
    ASSERT_FALSE(daemon) << flist;
    EXPECT_EQ(daemon.error(), in_process.error()) << daemon.error().what() << " / " << in_process.error().what();
  }
}
