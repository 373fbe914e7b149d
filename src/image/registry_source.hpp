// An image in a registry, as an ImageSource: the manifest (an index resolved to the platform's
// entry) and the blobs, through RegistryClient.
#pragma once

#include "image/image_source.hpp"
#include "image/reference.hpp"
#include "image/registry_client.hpp"

namespace tiffin::image {

// Whether the host in front of a reference ("host:5000/x") is a registry: it answers GET /v2/
// as one (200, or 401 asking for auth); a tiffin or 0-hub hub does not. Loopback hosts (and
// any with tls_verify off) are asked over http.
bool answers_as_registry(const Reference& ref, bool tls_verify);

class RegistrySource final : public ImageSource {
 public:
  RegistrySource(RegistryClient& client, Reference ref) : client_(client), ref_(std::move(ref)) {}
  std::string describe() const override { return ref_.familiar(); }
  Result<ResolvedImage> resolve(const Platform& platform) override;
  Result<void> blob(const Descriptor& desc, const BlobSink& sink) override { return client_.blob(ref_, desc, sink); }

 private:
  RegistryClient& client_;
  Reference ref_;
};

}  // namespace tiffin::image
