// tiffin images | rmi | volume … | system prune
#include <fmt/core.h>

#include <ctime>

#include "cli/cli.hpp"
#include "common/progress.hpp"

namespace tiffin::cli {

void add_image_verbs(CLI::App& app) {
  auto format = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* images = app.add_subcommand("images", "List the images of the local store");
  images->add_option("--format", *format, "table or json");
  images->add_flag("-q,--quiet", *quiet, "Only ids");
  images->callback([format, quiet] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      auto list = TRY(e.images());
      if (want_json(*format)) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& i : list)
          arr.push_back({{"Id", i.id}, {"Tags", i.tags}, {"Source", i.source}, {"Created", i.created}, {"Size", i.size}});
        print_json(arr, -1);
        return 0;
      }
      if (!*quiet) fmt::print("{:<50}{:<16}{:<14}{}\n", "REPOSITORY:TAG", "IMAGE ID", "SIZE", "SOURCE");
      for (const auto& i : list) {
        if (*quiet) {
          fmt::print("{}\n", engine::short_id(i.id));
          continue;
        }
        std::vector<std::string> names = i.tags.empty() ? std::vector<std::string>{"<none>"} : i.tags;
        for (const auto& n : names) fmt::print("{:<50}{:<16}{:<14}{}\n", n, engine::short_id(i.id), human_bytes(i.size), i.source);
      }
      return 0;
    });
  });

  auto rmi_refs = std::make_shared<std::vector<std::string>>();
  auto rmi_force = std::make_shared<bool>(false);
  CLI::App* rmi = app.add_subcommand("rmi", "Remove images (tags; the image once untagged and unused)");
  rmi->add_option("images", *rmi_refs)->required();
  rmi->add_flag("-f,--force", *rmi_force, "Remove all tags of an image given by id");
  rmi->callback([rmi_refs, rmi_force] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      for (const auto& r : *rmi_refs)
        for (const auto& line : TRY(e.remove_image(r, *rmi_force))) fmt::print("{}\n", line);
      return 0;
    });
  });

  CLI::App* volume = app.add_subcommand("volume", "Manage named volumes");
  volume->require_subcommand(1);
  struct VolOpts {
    std::vector<std::string> names;
    uint64_t size = 0;
    bool force = false;
    std::string format;
  };
  auto vo = std::make_shared<VolOpts>();
  CLI::App* vcreate = volume->add_subcommand("create", "Create a volume");
  vcreate->add_option("name", vo->names)->required()->expected(1);
  vcreate->add_option("--size", vo->size, "Size limit in MiB (an ext4 image of its own)");
  vcreate->callback([vo] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      fmt::print("{}\n", TRY(e.create_volume(vo->names.at(0), vo->size)).name);
      return 0;
    });
  });
  auto vls_format = std::make_shared<std::string>();
  CLI::App* vls = volume->add_subcommand("ls", "List volumes");
  vls->add_option("--format", *vls_format, "table or json");
  vls->callback([vls_format] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      auto list = TRY(e.volumes());
      nlohmann::json arr = nlohmann::json::array();
      if (!want_json(*vls_format)) fmt::print("{:<30}{:<12}{}\n", "VOLUME NAME", "SIZE (MiB)", "MOUNTPOINT");
      for (const auto& v : list) {
        if (want_json(*vls_format)) arr.push_back({{"Name", v.name}, {"Mountpoint", v.mountpoint}, {"SizeMiB", v.size_mib}, {"Created", v.created}});
        else fmt::print("{:<30}{:<12}{}\n", v.name, v.size_mib ? std::to_string(v.size_mib) : "-", v.mountpoint);
      }
      if (want_json(*vls_format)) print_json(arr, -1);
      return 0;
    });
  });
  auto vin = std::make_shared<std::vector<std::string>>();
  CLI::App* vinspect = volume->add_subcommand("inspect", "Show volumes (JSON)");
  vinspect->add_option("names", *vin)->required();
  vinspect->callback([vin] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& n : *vin) {
        auto v = TRY(e.volume(n));
        arr.push_back({{"Name", v.name}, {"Mountpoint", v.mountpoint}, {"SizeMiB", v.size_mib}, {"Created", v.created}});
      }
      print_json(arr);
      return 0;
    });
  });
  auto vrm = std::make_shared<VolOpts>();
  CLI::App* vremove = volume->add_subcommand("rm", "Remove volumes and their data");
  vremove->add_option("names", vrm->names)->required();
  vremove->add_flag("-f,--force", vrm->force, "Also when a container refers to it");
  vremove->callback([vrm] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      for (const auto& n : vrm->names) {
        TRY(e.remove_volume(n, vrm->force));
        fmt::print("{}\n", n);
      }
      return 0;
    });
  });

  CLI::App* system = app.add_subcommand("system", "Node-wide operations");
  system->require_subcommand(1);
  struct PruneOpts {
    bool all = false, volumes = false, force = false;
  };
  auto po = std::make_shared<PruneOpts>();
  CLI::App* prune = system->add_subcommand("prune", "Remove stopped containers and unused images");
  prune->add_flag("-a,--all", po->all, "Also unused images that have tags");
  prune->add_flag("--volumes", po->volumes, "Also unused volumes");
  prune->add_flag("-f,--force", po->force, "Accepted for docker's sake: tiffin never asks");
  prune->callback([po] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      for (const auto& line : TRY(e.prune(po->all, po->volumes))) fmt::print("{}\n", line);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
