#include "engine/io/disk_factory.h"

#include "engine/io/mem_disk.h"
#include "engine/io/uring_disk.h"

namespace redcar::io {

Result<std::unique_ptr<Disk>> open_disk(MemFs* mem_fs, boost::asio::io_context& ctx, unsigned ring_entries) {
  if (mem_fs) return std::unique_ptr<Disk>(std::make_unique<MemDisk>(*mem_fs, ctx));
  auto d = UringDisk::create(ctx, ring_entries);
  if (!d) return d.status();
  return std::unique_ptr<Disk>(std::move(*d));
}

}  // namespace redcar::io
