#include "hub/hub_convert.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "image/convert.hpp"
#include "image/reference.hpp"
#include "image/registry_client.hpp"
#include "image/registry_source.hpp"

namespace tiffin::hub {

Result<FlistRef> flist_ref_for_image(const std::string& user, const std::string& image) {
  image::Reference ref = TRY(image::parse_reference(image));
  std::string name = ref.repository.substr(ref.repository.rfind('/') + 1);
  std::string tag = ref.digest.empty() ? ref.tag : ref.digest;
  if (auto colon = tag.find(':'); colon != std::string::npos) tag[colon] = '-';
  return parse_flist_name(user, name + ":" + tag);
}

Result<HubConvertRequest> parse_convert_request(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  auto bad = fail(Errc::invalid_input, R"(expected {"image": "<reference>", "platform": "<os/arch>" (optional)})");
  if (!j.is_object() || !j.contains("image") || !j["image"].is_string()) return bad;
  HubConvertRequest req{j["image"].get<std::string>(), ""};
  if (j.contains("platform")) {
    if (!j["platform"].is_string()) return bad;
    req.platform = j["platform"].get<std::string>();
  }
  if (req.image.empty()) return bad;
  return req;
}

bool is_upstream_error(const Error& e) {
  return e.kind == Errc::unavailable || e.kind == Errc::denied || e.kind == Errc::corrupt || e.kind == Errc::unsupported;
}

std::shared_ptr<std::mutex> HubConverter::lock_for(const std::string& name) {
  std::lock_guard lock(mu_);
  for (auto it = locks_.begin(); it != locks_.end();) it = it->second.expired() ? locks_.erase(it) : std::next(it);
  auto& slot = locks_[name];
  auto m = slot.lock();
  if (!m) {
    m = std::make_shared<std::mutex>();
    slot = m;
  }
  return m;
}

Result<HubConverted> HubConverter::convert(const FlistRef& target, const HubConvertRequest& req, const std::string& blocks_url) {
  image::Reference ref = TRY(image::parse_reference(req.image));
  image::Platform platform = req.platform.empty() ? image::host_platform() : TRY(image::parse_platform(req.platform));
  // Credentials come from the hub's own docker config (RegistryClient looks them up);
  // loopback registries and the insecure ones speak plain http.
  image::RegistryOptions ro;
  ro.tls_verify = std::find(insecure_.begin(), insecure_.end(), ref.registry) == insecure_.end();
  image::RegistryClient client(ro);
  image::RegistrySource source(client, ref);

  auto held = lock_for(target.str());
  std::lock_guard lock(*held);

  // The manifest alone (kilobytes) tells whether this name holds this image already.
  image::ResolvedImage resolved = TRY_CTX(source.resolve(platform), ref.familiar());
  if (auto had = TRY(repo_.source(target)); had && had->digest == resolved.digest && had->platform == platform.str()) {
    auto info = repo_.info(target);
    if (info && info->sha256 == had->flist_sha256) return HubConverted{*info, resolved.digest, true};
  }

  image::ConvertOptions co;
  co.cache_dir = repo_.root() + "/layers";
  auto converted = TRY_CTX(image::convert_image(source, platform, repo_.blocks(), co), ref.familiar());
  TRY(repo_.put_tree(target, std::move(converted.tree), blocks_url));
  FlistInfo info = TRY(repo_.info(target));
  TRY(repo_.put_source(target, {ref.str(), platform.str(), converted.manifest_digest, info.sha256}));
  return HubConverted{info, converted.manifest_digest, false, converted.layers, converted.layers_reused};
}

}  // namespace tiffin::hub
