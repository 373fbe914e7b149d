// containerd's snapshots gRPC service (proto/containerd/services/snapshots/v1) over a
// Snapshotter: requests in, tiffin errors out as the gRPC codes containerd's errdefs maps back
// (not_found → NotFound, conflict → AlreadyExists, unsupported → FailedPrecondition, …).
#pragma once

#include <grpcpp/grpcpp.h>

#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "snapshotter/snapshotter.hpp"

namespace tiffin::snapshotter {

namespace api = containerd::services::snapshots::v1;

grpc::Status to_status(const Error& e);

class SnapshotsService final : public api::Snapshots::Service {
 public:
  explicit SnapshotsService(Snapshotter& sn) : sn_(sn) {}

  grpc::Status Prepare(grpc::ServerContext*, const api::PrepareSnapshotRequest* req, api::PrepareSnapshotResponse* resp) override;
  grpc::Status View(grpc::ServerContext*, const api::ViewSnapshotRequest* req, api::ViewSnapshotResponse* resp) override;
  grpc::Status Mounts(grpc::ServerContext*, const api::MountsRequest* req, api::MountsResponse* resp) override;
  grpc::Status Commit(grpc::ServerContext*, const api::CommitSnapshotRequest* req, google::protobuf::Empty*) override;
  grpc::Status Remove(grpc::ServerContext*, const api::RemoveSnapshotRequest* req, google::protobuf::Empty*) override;
  grpc::Status Stat(grpc::ServerContext*, const api::StatSnapshotRequest* req, api::StatSnapshotResponse* resp) override;
  grpc::Status Update(grpc::ServerContext*, const api::UpdateSnapshotRequest* req, api::UpdateSnapshotResponse* resp) override;
  grpc::Status List(
      grpc::ServerContext*, const api::ListSnapshotsRequest* req, grpc::ServerWriter<api::ListSnapshotsResponse>* out) override;
  grpc::Status Usage(grpc::ServerContext*, const api::UsageRequest* req, api::UsageResponse* resp) override;
  grpc::Status Cleanup(grpc::ServerContext*, const api::CleanupRequest* req, google::protobuf::Empty*) override;

 private:
  Snapshotter& sn_;
};

}  // namespace tiffin::snapshotter
