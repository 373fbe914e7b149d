// Converting registry images into flists on the hub (PUT /api/flist/<user>/<name> with
// {"image": …}): the hub pulls the image itself, its blocks go into the hub's own store (so
// nodes fetch them from the hub, lazily) and the flist is routed to the hub's public URL, just
// as a tar packed here is.
//
// Each flist converted here keeps its source (HubRepository::put_source): asked again for the
// same image digest and platform, the hub answers from that record without converting. Layer
// chains are cached under <root>/layers (convert.hpp), so a second image on the same base
// converts only its own layers. Conversions of one name are serialized by a lock per name;
// conversions of different names run at once (the chain cache and the block store are safe
// for that: files appear by rename, blocks are content-addressed).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hub/hub_repository.hpp"

namespace tiffin::hub {

struct HubConvertRequest {
  std::string image;     // a registry reference (image/reference.hpp)
  std::string platform;  // "linux/amd64"; empty: the hub's own
};

struct HubConverted {
  FlistInfo info;
  std::string digest;   // the image's manifest digest
  bool reused = false;  // the flist was there already for this digest: nothing converted
  size_t layers = 0, layers_reused = 0;
};

// The flist a registry image is converted into under `user` when the caller names none: the
// repository's last component, tagged with the reference's tag, or "sha256-<hex>" for a
// reference by digest ("host:5000/ns/app:1.2" → user/app:1.2).
Result<FlistRef> flist_ref_for_image(const std::string& user, const std::string& image);

// {"image": "REF", "platform": "os/arch[/variant]"} → the request; invalid_input otherwise.
Result<HubConvertRequest> parse_convert_request(const std::string& body);

// Errors of the registry's side (unreachable, refusing the hub, serving bad data): the hub
// answers them as a gateway (502), not as its own failure.
bool is_upstream_error(const Error& e);

class HubConverter {
 public:
  // `insecure_registries`: hosts ("10.0.0.5:5000") reached over plain http (or https without
  // verification), as docker's --insecure-registry; loopback registries always are.
  explicit HubConverter(HubRepository& repo, std::vector<std::string> insecure_registries = {})
      : repo_(repo), insecure_(std::move(insecure_registries)) {}

  // Converts (or finds converted) `req.image` as `target`, routed to `blocks_url`.
  Result<HubConverted> convert(const FlistRef& target, const HubConvertRequest& req, const std::string& blocks_url);

 private:
  std::shared_ptr<std::mutex> lock_for(const std::string& name);

  HubRepository& repo_;
  std::vector<std::string> insecure_;
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<std::mutex>> locks_;
};

}  // namespace tiffin::hub
