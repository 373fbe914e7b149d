// An image in a registry, as an ImageSource: the manifest (an index resolved to the platform's
// entry) and the blobs, through RegistryClient.
#pragma once

#include "image/image_source.hpp"
#include "image/reference.hpp"
#include "image/registry_client.hpp"

namespace tiffin::image {

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
