// COPY and ADD as a layer: the nodes they add to a stage's tree, taken from another tree — the
// build context packed once per build (build_context.hpp), or a stage's or image's tree for
// COPY --from. Nothing is read or written here: a copied file keeps its blocks (content-
// addressed, already in the store), so a copy between stages costs metadata only.
//
// docker's rules (the Dockerfile reference, COPY):
//  - a source is a path relative to the source's root ("/a" = "a"); one with * ? [ is a pattern
//    matched component by component (a * never crosses '/'); a pattern must match something;
//  - a directory's contents are copied, not the directory itself (a destination it makes is a
//    new directory like any other, 0755);
//  - with several sources, the destination must end with '/'; a destination ending with '/',
//    or naming a directory that exists in the stage, receives each source by its base name;
//  - files keep their mode and times; --chmod replaces the permission bits of everything
//    copied; context files are owned by 0:0, tree files keep their owner; --chown overrides both
//    and also owns the directories the copy creates;
//  - missing parent directories of the destination are made (0755).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "flist/tree.hpp"

namespace tiffin::build {

struct CopyRequest {
  std::vector<std::string> sources;  // variables already expanded
  std::string dest;                  // absolute (the caller applied WORKDIR); a trailing '/' counts
  std::optional<uint32_t> uid, gid;  // --chown, resolved against the stage's /etc/passwd and group
  std::optional<uint32_t> chmod;     // --chmod: permission bits (07777)
  bool from_context = true;          // the context: owners reset to 0:0
  int64_t now = 0;                   // mtime of the directories the copy creates
};

// The layer to merge over `below` (merge.hpp). Errc::not_found names a source that does not
// exist (or is excluded); Errc::invalid_input a bad path or several sources into a file.
Result<Tree> copy_layer(const Tree& from, const CopyRequest& r, const Tree& below);

// WORKDIR's directory: a layer making `path` (absolute) and its missing parents (0755, root's,
// mtime `now`); directories the stage has keep their metadata. A file in the way is an error.
Result<Tree> mkdir_layer(const Tree& below, const std::string& path, int64_t now);

// What a cache key needs of a layer: paths, types, modes, owners, link targets, xattrs and
// content (block ids), not times — so touching a file without changing it still hits.
Hash layer_digest(const Tree& layer);

// What a COPY's key needs of its sources, before any stage's tree is known: each source as
// written, then each path it matched with a layer_digest of the entry and everything below it.
// The same errors as copy_layer for sources that do not exist or match nothing.
Result<Hash> sources_digest(const Tree& from, const std::vector<std::string>& sources);

// "/app/" + "../x" → "/x": a lexically cleaned absolute path (".." stops at the root); a
// trailing '/' is kept when `path` had one.
std::string clean_absolute(std::string_view path);

}  // namespace tiffin::build
