// POST /api/blocks/batch: many blocks in one response, framed as store/block_batch.hpp says.
// Kept apart from hub_api.cpp, which only routes here.
#pragma once

#include "hub/hub_api.hpp"

namespace tiffin::hub {

// Parses the request's ids (400 on invalid JSON, a malformed id or more than kBatchMaxIds) and
// answers 200 with a streamed body: one frame per id in request order, each block read from
// disk only when its turn comes, so a response holds one block in memory, not all of them.
Result<HubResponse> batch_blocks(const HubRepository& repo, const HubRequest& req);

}  // namespace tiffin::hub
