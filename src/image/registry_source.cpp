#include "image/registry_source.hpp"

#include "store/http_client.hpp"

namespace tiffin::image {

bool answers_as_registry(const Reference& ref, bool tls_verify) {
  HttpOptions o;
  o.attempts = 1;
  o.connect_timeout = std::chrono::milliseconds(3000);
  o.request_timeout = std::chrono::milliseconds(5000);
  HttpClient http(o);
  std::string scheme = ref.loopback() || !tls_verify ? "http://" : "https://";
  auto r = http.send({"GET", scheme + ref.api_host() + "/v2/", {}, {}});
  return r && (r->status == 200 || r->status == 401);
}

Result<ResolvedImage> RegistrySource::resolve(const Platform& platform) {
  FetchedManifest top = TRY(client_.manifest(ref_));
  if (top.parsed.manifest) return ResolvedImage{std::move(*top.parsed.manifest), top.digest};
  // An index: the platform's entry, fetched by its digest (which the client checks).
  Descriptor entry = TRY_CTX(select_platform(*top.parsed.index, platform), ref_.familiar());
  Reference by_digest = ref_;
  by_digest.digest = entry.digest;
  FetchedManifest m = TRY(client_.manifest(by_digest));
  if (!m.parsed.manifest)
    return fail(Errc::invalid_input, ref_.familiar() + ": the index entry for " + platform.str() + " is an index too");
  // The image's digest is the one the user asked for (the index's), as docker reports it.
  return ResolvedImage{std::move(*m.parsed.manifest), top.digest};
}

}  // namespace tiffin::image
