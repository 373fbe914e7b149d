// tiffin flist keygen | sign | verify — ed25519 publisher signatures.
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "engine/engine.hpp"
#include "flist/flist_edit.hpp"
#include "flist/flist_file.hpp"
#include "flist/signature.hpp"

namespace tiffin::cli {

void add_flist_sign(CLI::App& flist, Context& ctx) {
  struct Opts {
    std::string flist, key, format;
  };
  auto o = std::make_shared<Opts>();

  CLI::App* keygen = flist.add_subcommand("keygen", "Make a signing key: <path> (secret, 0600) and <path>.pub");
  keygen->add_option("path", o->key)->required();
  keygen->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      SigningKey k = TRY(generate_key(o->key));
      fmt::print("{}\n", to_hex(k.public_key));
      return 0;
    });
  });

  CLI::App* sign_cmd = flist.add_subcommand("sign", "Sign an flist with a secret key");
  sign_cmd->add_option("flist", o->flist)->required();
  sign_cmd->add_option("-k,--key", o->key, "Secret key file")->required();
  sign_cmd->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      SigningKey k = TRY(load_secret_key(o->key));
      TRY(add_signature(o->flist, k));
      return 0;
    });
  });

  CLI::App* verify_cmd = flist.add_subcommand("verify", "Check an flist's signatures (exit 1 unless valid)");
  verify_cmd->add_option("flist", o->flist)->required();
  verify_cmd->add_option("-k,--key", o->key, "Require a valid signature by this public key (file or hex)");
  verify_cmd->add_option("--format", o->format,
      "json: every signature as [{\"public_key\": hex, \"valid\": bool}] (none: []), exit 0 whenever the flist could be read");
  verify_cmd->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      auto checks = verify(tree);
      if (!o->format.empty()) {
        if (o->format != "json") return fail(Errc::invalid_input, "--format " + o->format + ": only json");
        if (!o->key.empty()) return fail(Errc::invalid_input, "--format json lists every signature: no --key with it");
        fmt::print("{}\n", engine::signatures_to_json(checks));
        return 0;
      }
      Bytes wanted;
      if (!o->key.empty()) wanted = TRY(load_public_key(o->key));
      bool ok = false, any_bad = false;
      for (const auto& c : checks) {
        fmt::print("{} {}\n", c.valid ? "valid  " : "INVALID", to_hex(c.public_key));
        any_bad |= !c.valid;
        if (c.valid && (wanted.empty() || c.public_key == wanted)) ok = true;
      }
      if (checks.empty()) return fail(Errc::corrupt, o->flist + " is not signed");
      if (!ok) return fail(Errc::corrupt, wanted.empty() ? "no valid signature" : "no valid signature by " + to_hex(wanted));
      return any_bad && wanted.empty() ? 1 : 0;
    });
  });
}

}  // namespace tiffin::cli
