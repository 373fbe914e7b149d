// tiffin flist mount x.fl <dir> | umount <dir> — the lazy read-only filesystem.
#include "cli/cli.hpp"
#include "fuse/lazy_fs.hpp"

namespace tiffin::cli {

void add_flist_mount(CLI::App& flist) {
  auto o = std::make_shared<MountOptions>();
  auto cache_mib = std::make_shared<uint64_t>(2048);
  auto timeout_ms = std::make_shared<unsigned>(5000);
  CLI::App* mount = flist.add_subcommand("mount", "Mount an flist read-only; content is fetched block by block when read");
  mount->add_option("flist", o->flist)->required();
  mount->add_option("mountpoint", o->mountpoint)->required();
  mount->add_option("-s,--store", o->stores, "Read blocks from these stores instead of the flist's routes");
  mount->add_option("--cache", o->cache_dir, "The node's block cache directory")->capture_default_str();
  mount->add_option("--cache-size", *cache_mib, "Bound of the block cache in MiB (least recently used blocks go first)")->capture_default_str();
  mount->add_option("--timeout", *timeout_ms, "Milliseconds a block fetch may take before the read fails with EIO")->capture_default_str();
  mount->add_option("--readahead", o->readahead_blocks, "Blocks fetched ahead of a sequential reader")->capture_default_str();
  mount->add_flag("-d,--daemon", o->daemon, "Return once mounted and serve in the background");
  mount->add_flag("--fuse-debug", o->debug, "Log every FUSE request");
  mount->callback([o, cache_mib, timeout_ms] {
    run_verb([&]() -> Result<int> {
      o->cache_bytes = *cache_mib << 20;
      o->timeout = std::chrono::milliseconds(*timeout_ms);
      TRY(mount_flist(*o));
      return 0;
    });
  });

  auto target = std::make_shared<std::string>();
  CLI::App* umount = flist.add_subcommand("umount", "Unmount an flist (also one whose mount process died)");
  umount->add_option("mountpoint", *target)->required();
  umount->callback([target] {
    run_verb([&]() -> Result<int> {
      TRY(unmount_flist(*target));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
