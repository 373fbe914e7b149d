// The lines of a multi-layer progress display (drawn only on a terminal; the text is there
// either way).
#include <gtest/gtest.h>

#include "common/layer_progress.hpp"

namespace tiffin {
namespace {

TEST(LayerProgress, EachLineSaysItsStateAndABarWhileDownloading) {
  LayerProgress p({"aaaaaaaaaaaa", "bbbbbbbbbbbb"}, true);
  EXPECT_EQ(p.line_text(0), "aaaaaaaaaaaa: Waiting");
  p.state(0, "Already exists");
  p.state(1, "Downloading");
  p.bytes(1, 512 << 10, 1 << 20);
  EXPECT_EQ(p.line_text(0), "aaaaaaaaaaaa: Already exists");
  std::string half = p.line_text(1);
  EXPECT_EQ(half, "bbbbbbbbbbbb: Downloading [==============>               ] 512.0 KiB / 1.0 MiB") << half;
  p.bytes(1, 2 << 20, 1 << 20);  // a source that sends more than it announced: a full bar
  EXPECT_NE(p.line_text(1).find("[=============================>]"), std::string::npos) << p.line_text(1);
  p.state(1, "Pull complete");
  EXPECT_EQ(p.line_text(1), "bbbbbbbbbbbb: Pull complete");
  p.state(7, "ignored");  // no such line
  EXPECT_EQ(p.line_text(7), "");
  p.finish();
}

}  // namespace
}  // namespace tiffin
