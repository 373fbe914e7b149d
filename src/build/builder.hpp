// tiffin build: a Dockerfile and its context into an image in the node's store.
//
// Each stage starts from its base's tree (an image of the store, pulled when missing, an
// earlier stage, or scratch) and its config. Instructions that only change the config (ENV,
// WORKDIR's config part, USER, EXPOSE, VOLUME, CMD, ENTRYPOINT, LABEL, STOPSIGNAL, HEALTHCHECK,
// ONBUILD, SHELL, ARG) change it in memory. COPY and ADD build a layer from the context or
// another tree (copy_layer.hpp) with no container. RUN runs the command in a container of the
// engine over the stage's tree so far (the tree saved as an intermediate image: lazy mount +
// overlay), and keeps the container's upper directory as a layer (Engine::container_layer).
// Every layer merges into the stage's tree in memory; only the final tree is saved as the
// image, tagged. Intermediate images are removed when the build ends.
//
// Every step has a key: blake2b over its parent's key, its instruction text, the build
// arguments in scope and, for COPY/ADD, the digest of what it copies. A RUN whose key is in the
// cache (build_cache.hpp) takes the stored layer and runs nothing. Stages the target does not
// need are not built.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/engine.hpp"

namespace tiffin::build {

struct BuildOptions {
  std::string context = ".";                      // the build context directory
  std::string dockerfile;                         // default <context>/Dockerfile
  std::vector<std::string> tags;                  // name[:tag]
  std::map<std::string, std::string> build_args;  // --build-arg
  std::string target;                             // a stage's name; default the last
  bool no_cache = false;
  std::string network = "bridge";                       // RUN's network: bridge, none or host
  std::string platform;                                 // only the host's (linux/amd64 here)
  std::function<void(std::string_view line)> progress;  // step lines and RUN output; none: silent
  std::map<std::string, std::string> labels;            // --label: over the Dockerfile's, on the image
  // Polled between steps and while a RUN streams (every 200 ms), from every stage's thread (so
  // it must be thread-safe): true stops the build as a signal does (Errc::unavailable; its
  // containers and intermediate images go). For callers that are not a terminal's process
  // (tiffin serve: the client left). `progress` is called from those threads too, one at a time.
  std::function<bool()> cancelled;
  // SIGINT, SIGTERM and SIGHUP stop the build (a process-wide handler while it runs): the CLI's.
  // A server running several builds says false and cancels through `cancelled`.
  bool handle_signals = true;
};

struct BuildResult {
  engine::ImageInfo image;
  size_t steps = 0, cached = 0, ran = 0;  // instructions done, RUN steps taken from the cache, RUN steps run
};

Result<BuildResult> build_image(engine::Engine& engine, const BuildOptions& o);

}  // namespace tiffin::build
