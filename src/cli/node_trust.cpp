// tiffin node trust add KEY|--file PUBFILE | ls | rm KEY | policy [require-signed|any]: the
// publishers whose flists this node trusts, and whether it runs only flists they signed
// (engine/trust_policy.hpp, <root>/trust.json). Always this node's (its --root): a policy that a
// remote caller could loosen would protect nothing.
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "common/fd.hpp"
#include "engine/trust_policy.hpp"

namespace tiffin::cli {

void add_node_trust(CLI::App& node, Context& ctx) {
  CLI::App* trust = node.add_subcommand("trust", "The flist publishers this node trusts, and whether it runs only flists they signed");
  trust->require_subcommand(1);

  struct Opts {
    std::string key, file, policy;
  };
  auto o = std::make_shared<Opts>();

  CLI::App* add =
      trust->add_subcommand("add", "Trust a publisher's ed25519 public key: KEY (hex) or --file <key>.pub (tiffin flist keygen)");
  add->add_option("key", o->key, "The public key, 64 hex characters");
  add->add_option("--file", o->file, "A public key file, as `tiffin flist keygen <key>` writes <key>.pub");
  add->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (o->key.empty() == o->file.empty()) return fail(Errc::invalid_input, "trust add: give a KEY or --file PUBFILE (one of them)");
      std::string key = o->key;
      if (!o->file.empty()) {
        Bytes text = TRY(read_file(o->file, 4096));
        key.assign(text.begin(), text.end());
      }
      auto policy = TRY(engine::TrustPolicy::load(ctx.engine.root));
      auto added = policy.add_key(key);
      if (!added && !o->file.empty()) return std::unexpected(std::move(added).error().context(o->file));
      fmt::print("{}\n", TRY(std::move(added)));
      return 0;
    });
  });

  CLI::App* ls = trust->add_subcommand("ls", "List the trusted publisher keys, one a line");
  ls->callback([&ctx] {
    ctx.run([&]() -> Result<int> {
      auto policy = TRY(engine::TrustPolicy::load(ctx.engine.root));
      for (const auto& k : policy.keys()) fmt::print("{}\n", k);
      return 0;
    });
  });

  CLI::App* rm = trust->add_subcommand("rm", "Stop trusting a publisher key");
  rm->add_option("key", o->key, "The public key, 64 hex characters")->required();
  rm->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      auto policy = TRY(engine::TrustPolicy::load(ctx.engine.root));
      TRY(policy.remove_key(o->key));
      return 0;
    });
  });

  CLI::App* pol = trust->add_subcommand("policy",
      "require-signed: run, pull and mount only flists signed by a trusted key; any: every flist (the default). "
      "Without an argument: print the current one");
  pol->add_option("policy", o->policy)->check(CLI::IsMember({"require-signed", "any"}));
  pol->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      auto policy = TRY(engine::TrustPolicy::load(ctx.engine.root));
      if (!o->policy.empty()) TRY(policy.set_require_signed(o->policy == "require-signed"));
      if (policy.require_signed() && policy.keys().empty())
        fmt::print(stderr, "tiffin: warning: no publisher key is trusted yet (tiffin node trust add): every flist is refused\n");
      fmt::print("{}\n", policy.require_signed() ? "require-signed" : "any");
      return 0;
    });
  });
}

}  // namespace tiffin::cli
