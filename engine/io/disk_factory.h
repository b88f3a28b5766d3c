// Which Disk a shard gets: the in-memory one when tests hand in a MemFs,
// else io_uring on the real filesystem.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "engine/common/status.h"
#include "engine/io/disk.h"

namespace redcar::io {

class MemFs;

Result<std::unique_ptr<Disk>> open_disk(MemFs* mem_fs, boost::asio::io_context& ctx, unsigned ring_entries);

}  // namespace redcar::io
