// Fuzzes what a registry or an image archive hands tiffin: manifests and indexes (under each
// Content-Type), image configs, references, platforms and WWW-Authenticate challenges. Nothing
// may crash or throw, and what parses must survive its own round trip: a manifest written by
// manifest_to_json parses back to the same descriptors, a reference's str() parses back to it.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "image/manifest.hpp"
#include "image/reference.hpp"
#include "image/www_authenticate.hpp"

using namespace tiffin;
using namespace tiffin::image;

namespace {

bool same(const Descriptor& a, const Descriptor& b) { return a.media_type == b.media_type && a.digest == b.digest && a.size == b.size; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* types[] = {
      "", media_type::oci_manifest, media_type::docker_manifest, media_type::oci_index, media_type::docker_list, "application/json"};
  std::span<const uint8_t> in(data, size);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first byte picks the Content-Type; the manifest is the rest.
  std::string type = size > 0 ? types[data[0] % std::size(types)] : "";
  std::span<const uint8_t> body = size > 0 ? in.subspan(1) : in;

  if (auto d = parse_manifest(body, type); d) {
    if (d->manifest.has_value() == d->index.has_value()) std::abort();
    if (d->manifest) {
      std::string out = manifest_to_json(*d->manifest);
      auto again = parse_manifest({reinterpret_cast<const uint8_t*>(out.data()), out.size()}, "");
      if (!again || !again->manifest || !same(again->manifest->config, d->manifest->config) ||
          again->manifest->layers.size() != d->manifest->layers.size())
        std::abort();
      for (size_t i = 0; i < d->manifest->layers.size(); ++i)
        if (!same(again->manifest->layers[i], d->manifest->layers[i])) std::abort();
    } else {
      (void)select_platform(*d->index, Platform{"linux", "arm64", ""});
    }
  }
  (void)parse_image_config(in);
  if (auto r = parse_reference(text); r) {
    auto again = parse_reference(r->str());
    if (!again || again->str() != r->str() || again->registry != r->registry || again->repository != r->repository) std::abort();
    (void)r->familiar();
    (void)r->loopback();
  }
  if (auto p = parse_platform(text); p) {
    auto again = parse_platform(p->str());
    if (!again || again->str() != p->str()) std::abort();
  }
  (void)parse_www_authenticate(text);
  return 0;
}
