#include "snapshotter/snapshots_service.hpp"

#include <spdlog/spdlog.h>

namespace tiffin::snapshotter {
namespace {

Labels labels_of(const google::protobuf::Map<std::string, std::string>& m) { return Labels(m.begin(), m.end()); }

template <typename Resp>
void put_mounts(const std::vector<Mount>& mounts, Resp* resp) {
  for (const auto& m : mounts) {
    auto* out = resp->add_mounts();
    out->set_type(m.type);
    out->set_source(m.source);
    for (const auto& o : m.options) out->add_options(o);
  }
}

void put_time(int64_t ns, google::protobuf::Timestamp* t) {
  t->set_seconds(ns / 1000000000);
  t->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

void put_info(const Snapshot& s, api::Info* info) {
  info->set_name(s.name);
  info->set_parent(s.parent);
  info->set_kind(static_cast<api::Kind>(static_cast<int>(s.kind)));
  put_time(s.created_ns, info->mutable_created_at());
  put_time(s.updated_ns, info->mutable_updated_at());
  for (const auto& [k, v] : s.labels) (*info->mutable_labels())[k] = v;
}

// Logs what containerd is refused, except the answers the protocol expects routinely.
grpc::Status answer(const char* call, const std::string& key, const Error& e) {
  if (e.kind == Errc::conflict || e.kind == Errc::not_found) spdlog::debug("{} {}: {}", call, key, e.what());
  else spdlog::warn("{} {}: {}", call, key, e.what());
  return to_status(e);
}

}  // namespace

grpc::Status to_status(const Error& e) {
  switch (e.kind) {
    case Errc::not_found: return {grpc::StatusCode::NOT_FOUND, e.what()};
    case Errc::conflict: return {grpc::StatusCode::ALREADY_EXISTS, e.what()};
    case Errc::invalid_input: return {grpc::StatusCode::INVALID_ARGUMENT, e.what()};
    case Errc::unsupported: return {grpc::StatusCode::FAILED_PRECONDITION, e.what()};
    case Errc::denied: return {grpc::StatusCode::PERMISSION_DENIED, e.what()};
    case Errc::unavailable: return {grpc::StatusCode::UNAVAILABLE, e.what()};
    default: return {grpc::StatusCode::UNKNOWN, e.what()};
  }
}

grpc::Status SnapshotsService::Prepare(grpc::ServerContext*, const api::PrepareSnapshotRequest* req, api::PrepareSnapshotResponse* resp) {
  auto m = sn_.prepare(req->key(), req->parent(), labels_of(req->labels()));
  if (!m) return answer("prepare", req->key(), m.error());
  put_mounts(*m, resp);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::View(grpc::ServerContext*, const api::ViewSnapshotRequest* req, api::ViewSnapshotResponse* resp) {
  auto m = sn_.view(req->key(), req->parent(), labels_of(req->labels()));
  if (!m) return answer("view", req->key(), m.error());
  put_mounts(*m, resp);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Mounts(grpc::ServerContext*, const api::MountsRequest* req, api::MountsResponse* resp) {
  auto m = sn_.mounts(req->key());
  if (!m) return answer("mounts", req->key(), m.error());
  put_mounts(*m, resp);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Commit(grpc::ServerContext*, const api::CommitSnapshotRequest* req, google::protobuf::Empty*) {
  auto r = sn_.commit(req->name(), req->key(), labels_of(req->labels()));
  return r ? grpc::Status::OK : answer("commit", req->key(), r.error());
}

grpc::Status SnapshotsService::Remove(grpc::ServerContext*, const api::RemoveSnapshotRequest* req, google::protobuf::Empty*) {
  auto r = sn_.remove(req->key());
  return r ? grpc::Status::OK : answer("remove", req->key(), r.error());
}

grpc::Status SnapshotsService::Stat(grpc::ServerContext*, const api::StatSnapshotRequest* req, api::StatSnapshotResponse* resp) {
  auto s = sn_.stat(req->key());
  if (!s) return answer("stat", req->key(), s.error());
  put_info(*s, resp->mutable_info());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Update(grpc::ServerContext*, const api::UpdateSnapshotRequest* req, api::UpdateSnapshotResponse* resp) {
  Snapshot want{.name = req->info().name(), .labels = labels_of(req->info().labels())};
  std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
  auto s = sn_.update(want, paths);
  if (!s) return answer("update", want.name, s.error());
  put_info(*s, resp->mutable_info());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::List(
    grpc::ServerContext*, const api::ListSnapshotsRequest* req, grpc::ServerWriter<api::ListSnapshotsResponse>* out) {
  auto all = sn_.list(std::vector<std::string>(req->filters().begin(), req->filters().end()));
  if (!all) return answer("list", "", all.error());
  // In pages, as containerd's own service sends them: one message stays far below gRPC's limit.
  constexpr size_t kPage = 100;
  for (size_t i = 0; i < all->size(); i += kPage) {
    api::ListSnapshotsResponse page;
    for (size_t k = i; k < std::min(all->size(), i + kPage); ++k) put_info((*all)[k], page.add_info());
    if (!out->Write(page)) break;
  }
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Usage(grpc::ServerContext*, const api::UsageRequest* req, api::UsageResponse* resp) {
  auto u = sn_.usage(req->key());
  if (!u) return answer("usage", req->key(), u.error());
  resp->set_size(u->size);
  resp->set_inodes(u->inodes);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Cleanup(grpc::ServerContext*, const api::CleanupRequest*, google::protobuf::Empty*) {
  auto r = sn_.cleanup();
  return r ? grpc::Status::OK : answer("cleanup", "", r.error());
}

}  // namespace tiffin::snapshotter
