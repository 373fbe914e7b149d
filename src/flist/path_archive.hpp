// Tars of paths inside a root, and tars unpacked into one: what `docker cp` moves in and out of
// a container. The root is a directory (a container's rootfs, a volume) or a running
// container's /proc/<pid>/root; every path is resolved in it with openat2 RESOLVE_IN_ROOT and
// every entry is made relative to its parent's descriptor without following its last
// component, so neither ".." nor symlinks (the container's or the archive's) lead out of it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "flist/tar_writer.hpp"

namespace tiffin {

// What docker reports of a path (X-Docker-Container-Path-Stat).
struct PathStat {
  std::string name;  // the base name
  int64_t size = 0;
  mode_t mode = 0;  // st_mode
  int64_t mtime = 0;
  std::string link_target;  // a symlink's
};

// `path` is absolute in the root ("/" is the root itself); its last component is not followed.
Result<PathStat> stat_in_root(const std::string& root, const std::string& path);

// A tar of `path` (a file, a symlink, or a directory with everything under it), its entries
// named from the path's base name (or `name`: a volume's root is "data" in the container), as
// docker's GET /containers/{id}/archive sends it. Sockets are left out, as docker does.
Result<void> archive_in_root(const std::string& root, const std::string& path, const ByteSink& sink, const std::string& name = {});

struct ExtractOptions {
  bool keep_owners = false;               // else everything belongs to 0:0 (docker cp without -a)
  bool no_overwrite_dir_non_dir = false;  // a directory never replaces a file, nor the other way
  // Entries named `rebase_from` or under it are unpacked as `rebase_to` (docker cp's copy to a
  // new name: a.txt → b.txt, dir/x → new/x); "." or "/": every entry, under `rebase_to`.
  std::string rebase_from, rebase_to;
  // Bounds for archives from strangers (a build context): the bytes of all regular files and
  // the number of entries (0: none), Errc::invalid_input past them; and whether device nodes
  // and fifos are refused (a build context carries none).
  uint64_t max_bytes = 0;
  uint64_t max_entries = 0;
  bool refuse_special_files = false;
};

// Unpacks `tar` (plain or compressed) into the directory `dir` of the root, which must exist.
// Entries with ".." components or absolute names, and links whose targets leave the archive,
// are Errc::invalid_input; what was unpacked before such an entry stays (as docker's does).
Result<void> extract_in_root(const std::string& root, const std::string& dir, std::string_view tar, const ExtractOptions& opts);
// The same, the archive read from `fd` (a spooled request body) from where it stands.
Result<void> extract_in_root_fd(const std::string& root, const std::string& dir, int fd, const ExtractOptions& opts);

}  // namespace tiffin
