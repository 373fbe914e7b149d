// What the hub's tests share: a hub on a loopback port, and a small flist packed into a local
// directory store (its route) ready to push.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <string>

#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "hub/hub_server.hpp"
#include "store/dir_store.hpp"
#include "test_support.hpp"

namespace tiffin::test {

// A hub serving `o.root` on 127.0.0.1, any free port.
inline std::unique_ptr<hub::HubServer> start_loopback_hub(hub::HubServeOptions o) {
  o.listen = "127.0.0.1:0";
  auto server = hub::HubServer::start(o);
  EXPECT_TRUE(server) << server.error().what();
  return server ? std::move(*server) : nullptr;
}

// `files` (name → content) packed as <dir>/<name>.fl, its blocks in <dir>/local, routed there.
inline std::string pack_local_flist(const TempDir& dir, const std::string& name, const std::map<std::string, std::string>& files) {
  std::string src = dir / ("src-" + name);
  ::mkdir(src.c_str(), 0755);
  for (const auto& [file, content] : files) write_text(src + "/" + file, content);
  auto store = *DirStore::open(dir / "local", true);
  Tree tree;
  EXPECT_TRUE(pack_directory(src, *store, tree, {.progress = false}));
  tree.routes = {Route{0, 0xff, "dir://" + (dir / "local")}};
  std::string fl = dir / (name + ".fl");
  EXPECT_TRUE(save_flist(fl, tree));
  return fl;
}

}  // namespace tiffin::test
