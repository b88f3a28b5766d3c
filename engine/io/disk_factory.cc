#include "engine/io/disk_factory.h"

#include "engine/io/mem_disk.h"
#include "engine/io/uring_disk.h"

namespace redcar::io {

std::unique_ptr<Disk> open_disk(MemFs* mem_fs, runtime::Reactor& reactor) {
  if (mem_fs) return std::make_unique<MemDisk>(*mem_fs, reactor);
  return std::make_unique<UringDisk>(reactor);
}

}  // namespace redcar::io
