// A stored image's publisher signatures and whether each is valid, recorded beside its flist
// (<root>/images/<id>.signatures) when it enters the store, so that checking the trust policy
// at create, and showing the signer, reads a small file instead of loading and verifying the
// flist (which the lean tiffin could not: it links no libsodium).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/hex.hpp"
#include "common/subprocess.hpp"
#include "engine/engine.hpp"

namespace tiffin::engine {

using json = nlohmann::json;

namespace {

FlistVerifier g_verifier = nullptr;

}  // namespace

void set_flist_verifier(FlistVerifier verifier) { g_verifier = verifier; }

std::string signatures_to_json(const std::vector<SignatureCheck>& checks) {
  json out = json::array();
  for (const auto& c : checks) out.push_back({{"public_key", to_hex(c.public_key)}, {"valid", c.valid}});
  return out.dump();
}

Result<std::vector<SignatureCheck>> signatures_from_json(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  auto bad = [] { return fail(Errc::corrupt, "a signature record is not a list of {\"public_key\": hex, \"valid\": bool}"); };
  if (!doc.is_array()) return bad();
  std::vector<SignatureCheck> out;
  for (const auto& e : doc) {
    if (!e.is_object() || !e.contains("public_key") || !e["public_key"].is_string() || !e.contains("valid") || !e["valid"].is_boolean())
      return bad();
    auto key = from_hex(e["public_key"].get<std::string>());
    if (!key) return bad();
    out.push_back({*key, e["valid"].get<bool>()});
  }
  return out;
}

std::string Engine::signatures_path(const std::string& image_id) const { return opts_.root + "/images/" + image_id + ".signatures"; }

Result<void> Engine::record_signatures(const std::string& image_id, const std::vector<SignatureCheck>& checks) {
  // Not fsync'd: a record lost in a crash is made again from the flist (image_signatures).
  return write_file_atomic(signatures_path(image_id), signatures_to_json(checks) + "\n", 0644, false);
}

Result<std::vector<SignatureCheck>> Engine::image_signatures(const ImageInfo& image) {
  if (auto data = read_file(signatures_path(image.id), 1 << 20)) {
    // A record is written whole (temp + rename); one that does not parse is made again.
    if (auto checks = signatures_from_json(std::string_view(reinterpret_cast<const char*>(data->data()), data->size()))) return checks;
  }
  // Stored before records existed (or the record was lost): verify the flist once.
  std::vector<SignatureCheck> checks;
  if (g_verifier) {
    checks = TRY(g_verifier(image.flist));
  } else {
    auto [code, text] = TRY(run_captured({opts_.full_binary, "flist", "verify", "--format", "json", image.flist}));
    if (code != 0) return fail(code == 2 ? Errc::invalid_input : Errc::io, "could not verify the signatures of " + image.flist);
    checks = TRY_CTX(signatures_from_json(text), opts_.full_binary + " flist verify");
  }
  TRY(record_signatures(image.id, checks));
  return checks;
}

}  // namespace tiffin::engine
