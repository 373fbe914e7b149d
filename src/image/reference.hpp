// An image reference as docker parses it (distribution/reference's grammar):
//   alpine                         docker.io/library/alpine:latest
//   user/app:1.2                   docker.io/user/app:1.2
//   host:5000/ns/repo:tag          a registry on host:5000
//   localhost/repo, [::1]:5000/r   localhost and bracketed IPv6 hosts are registries too
//   repo@sha256:<64 hex>           by digest (a tag and a digest together: the digest wins)
//   docker://…                     the same, with skopeo's transport prefix
// The first component is a registry host when it has a '.' or a ':', is "localhost" or has an
// uppercase letter (docker's current rule: repositories are lowercase, so "Host/x" must be a
// host; a lone "Ubuntu" is refused as an uppercase repository); index.docker.io is docker.io;
// repository components are lowercase [a-z0-9] joined by '.', '_', '__' or a run of '-'; a tag is
// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digests are sha256 only; "registry/repository" is at most 255
// characters.
#pragma once

#include <string>

#include "common/error.hpp"

namespace tiffin::image {

struct Reference {
  std::string registry;    // "docker.io", "localhost:5000", "[::1]:5000"
  std::string repository;  // "library/alpine", "ns/repo"
  std::string tag;         // "latest" when neither a tag nor a digest was given
  std::string digest;      // "sha256:…", or empty

  // The full name: "docker.io/library/alpine:latest", "host:5000/r@sha256:…".
  std::string str() const;
  // Docker's short form for listings: "alpine:latest", "user/app:1.2", "host:5000/r:tag".
  std::string familiar() const;
  // What to ask the registry for: the digest if there is one, else the tag.
  std::string reference() const { return digest.empty() ? tag : digest; }
  // The host to connect to: docker.io's API lives on registry-1.docker.io.
  std::string api_host() const;
  // Loopback registries (localhost, 127.0.0.0/8, ::1) speak plain HTTP unless told otherwise
  // (docker's rule: they are "insecure registries" by default).
  bool loopback() const;
};

Result<Reference> parse_reference(std::string_view text);

}  // namespace tiffin::image
