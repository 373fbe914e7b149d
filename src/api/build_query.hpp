// POST /build's query (docker's ImageBuildOptions as the CLI, compose and the SDKs send them)
// into tiffin's BuildOptions: pure, unit-tested. What tiffin cannot do is refused (a remote
// context, BuildKit's version=2, a network mode other than bridge/none/host); resource limits,
// cache-from, pull, rm and the like are accepted and have no effect.
#pragma once

#include <string>

#include "api/http_exchange.hpp"
#include "build/builder.hpp"

namespace tiffin::api {

struct BuildQuery {
  build::BuildOptions options;  // without context, dockerfile and progress
  std::string dockerfile;       // relative to the context, cleaned: no "..", no leading "/"
  bool quiet = false;           // q: only the image id (and the output of a failure)
};

Result<BuildQuery> parse_build_query(const Request& r);

// A tag as docker names it: "x" → "x:latest", docker.io's default prefixes dropped.
Result<std::string> build_tag(const std::string& t);

// The path of the Dockerfile in the context as the client gave it, cleaned; Errc::invalid_input
// for one that leads out of it.
Result<std::string> context_relative(const std::string& path);

}  // namespace tiffin::api
