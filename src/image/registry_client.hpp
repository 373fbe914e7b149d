// A client of the Distribution (registry v2) API over libcurl:
//   GET/HEAD /v2/<repo>/manifests/<ref> with every manifest type in Accept
//   GET /v2/<repo>/blobs/<digest>, following redirects to blob storage (no Authorization sent
//   to another host), verified against the digest while it streams
//   uploads: POST /v2/<repo>/blobs/uploads/ (with ?mount=&from= to mount across repositories),
//   PUT …?digest=, HEAD /v2/<repo>/blobs/<digest>, PUT /v2/<repo>/manifests/<ref>
// Auth: a 401's WWW-Authenticate decides. Bearer: GET realm?service=&scope=repository:<repo>:pull[,push]
// (with basic auth when there are credentials; an identity token is POSTed as OAuth2's
// refresh-token grant instead), the token cached per scope until it expires;
// Basic: the credentials on every request. No credentials: anonymous tokens.
// Transport: https with verification; plain http for loopback registries (docker's default
// insecure rule) or when tls_verify is off and https fails.
// Transient failures (connection errors, 5xx, 429) are retried with backoff; a blob download
// that breaks resumes with a Range request where the server allows it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/error.hpp"
#include "image/credentials.hpp"
#include "image/image_source.hpp"
#include "image/manifest.hpp"
#include "image/reference.hpp"

namespace tiffin::image {

struct RegistryOptions {
  bool tls_verify = true;                  // false: https without verification, then http
  std::optional<Credentials> credentials;  // none: looked up with find_credentials(); an empty username: anonymous
  std::chrono::milliseconds connect_timeout{5000};
  int attempts = 3;
};

struct FetchedManifest {
  Bytes body;               // exactly as served (its digest is the image's digest)
  std::string media_type;   // Content-Type
  std::string digest;       // sha256 of body, checked against the reference's digest if any
  ManifestDocument parsed;  // parse_manifest(body, media_type)
};

class RegistryClient {
 public:
  explicit RegistryClient(RegistryOptions opts = {});
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // Errc::not_found for an unknown repository or tag; Errc::denied for 401/403 after auth;
  // Errc::corrupt when the body does not match the reference's digest.
  Result<FetchedManifest> manifest(const Reference& ref);
  // The manifest's digest without its body (HEAD), or nullopt when the registry lacks it.
  Result<std::optional<std::string>> manifest_digest(const Reference& ref);
  // Streams a blob to `sink`; Errc::corrupt when its bytes do not hash to desc.digest or their
  // count is not desc.size.
  Result<void> blob(const Reference& repo, const Descriptor& desc, const BlobSink& sink);
  // Whether the repository has the blob (HEAD).
  Result<bool> has_blob(const Reference& repo, const std::string& digest);
  // Mounts the blob from `from_repository` on the same registry when it allows, else uploads
  // `read(sink)`'s bytes (a monolithic or chunked upload).
  Result<void> upload_blob(const Reference& repo, const Descriptor& desc, const std::string& from_repository,
      const std::function<Result<void>(const BlobSink&)>& read);
  // PUT of a manifest under ref.reference(); returns its digest.
  Result<std::string> put_manifest(const Reference& ref, std::span<const uint8_t> body, const std::string& media_type);
  // GET /v2/ with the registry's auth flow: whether the credentials are good (for `login`).
  Result<void> check_login(const Reference& registry_only);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tiffin::image
