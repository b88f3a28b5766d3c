// Which Disk a shard gets: the in-memory one when tests hand in a MemFs,
// else io_uring on the real filesystem; either completes on `reactor`.
#pragma once

#include <memory>

#include "engine/common/status.h"
#include "engine/io/disk.h"
#include "runtime/reactor.h"

namespace redcar::io {

class MemFs;

std::unique_ptr<Disk> open_disk(MemFs* mem_fs, runtime::Reactor& reactor);

}  // namespace redcar::io
