// What a user means by an image (`tiffin run <image>`), decided from the text and the file
// system alone:
//   ./app.fl, /x/app.fl          a local flist file
//   ./rootfs, rootfs.tar.gz       a directory or tar archive, packed on the fly
//   http(s)://hub/user/name:tag   a hub URL
//   hub[:port]/user/name[:tag]    a hub by host name (docker's rule: the first part has a '.'
//                                 or ':' or is "localhost"); http for loopback hosts, else https
//   name[:tag], user/name[:tag], or an image id (prefix)   a name in the local image store
#pragma once

#include <string>

#include "common/error.hpp"

namespace tiffin::engine {

struct ImageReference {
  enum class Kind { flist_file, source, hub, local } kind = Kind::local;
  std::string text;     // as typed
  std::string path;     // flist_file, source
  std::string hub_url;  // hub: http(s)://host[:port]/user/name:tag
  std::string name;     // the name it is stored under: "name:tag", "host:port/user/name:tag"
};

Result<ImageReference> parse_image_reference(const std::string& text);

// "busybox" → "busybox:latest"; a name with a tag or a digest-like id stays as it is.
std::string normalize_image_name(const std::string& name);

}  // namespace tiffin::engine
