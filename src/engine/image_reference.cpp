#include "engine/image_reference.hpp"

#include <sys/stat.h>

namespace tiffin::engine {
namespace {

bool is_loopback_host(const std::string& host) { return host == "localhost" || host.starts_with("127.") || host == "[::1]"; }

bool has_tag(const std::string& name) {
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  return colon != std::string::npos && (slash == std::string::npos || colon > slash);
}

}  // namespace

std::string normalize_image_name(const std::string& name) { return has_tag(name) ? name : name + ":latest"; }

Result<ImageReference> parse_image_reference(const std::string& text) {
  ImageReference r;
  r.text = text;
  if (text.empty()) return fail(Errc::invalid_input, "no image given");
  if (text.find_first_of(" \t\n") != std::string::npos) return fail(Errc::invalid_input, "image '" + text + "' has blanks in it");
  if (text.starts_with("http://") || text.starts_with("https://")) {
    r.kind = ImageReference::Kind::hub;
    r.hub_url = text;
    std::string rest = text.substr(text.find("://") + 3);
    r.name = normalize_image_name(rest);
    r.hub_url = text.substr(0, text.find("://") + 3) + r.name;
    return r;
  }
  struct stat st {};
  bool looks_like_path = text.starts_with("/") || text.starts_with("./") || text.starts_with("../") || text.ends_with(".fl") ||
                         text.ends_with(".tar") || text.find(".tar.") != std::string::npos;
  if (::stat(text.c_str(), &st) == 0 && (looks_like_path || S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
    r.path = text;
    r.kind = S_ISREG(st.st_mode) && text.ends_with(".fl") ? ImageReference::Kind::flist_file : ImageReference::Kind::source;
    if (S_ISREG(st.st_mode) && !text.ends_with(".fl")) {
      // A regular file: an flist (SQLite) or an archive, told apart by its first bytes.
      FILE* f = std::fopen(text.c_str(), "rb");
      char head[16] = {};
      if (f) {
        size_t n = std::fread(head, 1, sizeof head, f);
        std::fclose(f);
        if (n == 16 && std::string(head, 15) == "SQLite format 3") r.kind = ImageReference::Kind::flist_file;
      }
    }
    return r;
  }
  if (looks_like_path && (text.starts_with("/") || text.starts_with(".")))
    return fail(Errc::not_found, "image " + text + ": no such file or directory");
  size_t slash = text.find('/');
  if (slash != std::string::npos) {
    std::string first = text.substr(0, slash);
    if (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost") {
      std::string host = first.substr(0, first.find(':'));
      r.kind = ImageReference::Kind::hub;
      r.name = normalize_image_name(text);
      r.hub_url = std::string(is_loopback_host(host) ? "http://" : "https://") + r.name;
      return r;
    }
  }
  r.kind = ImageReference::Kind::local;
  r.name = text;
  return r;
}

}  // namespace tiffin::engine
