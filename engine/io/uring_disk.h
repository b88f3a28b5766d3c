// The io_uring backend of Disk. One ring per shard; completions are reaped
// when the ring's eventfd becomes readable on the shard's io_context, so the
// shard thread never blocks on I/O. Files are opened with O_DIRECT; on a
// filesystem that refuses it (tmpfs) they fall back to buffered I/O and say
// so once in the log.
#pragma once

#include <liburing.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <deque>
#include <memory>

#include "engine/io/disk.h"

namespace redcar::io {

class UringDisk final : public Disk {
 public:
  static Result<std::unique_ptr<UringDisk>> create(boost::asio::io_context& ctx,
                                                   unsigned entries);
  ~UringDisk() override;

  Result<std::unique_ptr<File>> open(const std::string& path) override;
  Status prepare(const std::string& path, uint64_t size_bytes) override;
  Status list(const std::string& dir, std::vector<std::string>* names) override;
  Status make_dirs(const std::string& dir) override;
  Status remove(const std::string& path) override;
  Status sync_dir(const std::string& dir) override;
  bool exists(const std::string& path) override;

  // Operations submitted and not yet completed.
  size_t in_flight() const { return in_flight_; }

 private:
  friend class UringFile;
  enum class OpKind : uint8_t { kRead, kWrite, kWriteDsync, kSync };
  struct Op {
    OpKind kind;
    int fd;
    uint64_t offset;
    uint8_t* data;
    size_t len;
    IoCallback done;
  };

  UringDisk(boost::asio::io_context& ctx, int event_fd);
  void submit(Op op);
  bool try_queue(Op& op);
  void arm();
  void reap();

  boost::asio::io_context& ctx_;
  io_uring ring_{};
  bool ring_ok_ = false;
  int event_fd_ = -1;
  boost::asio::posix::stream_descriptor event_;
  uint64_t event_value_ = 0;
  std::deque<Op> deferred_;  // waits for a free submission slot
  size_t in_flight_ = 0;
};

}  // namespace redcar::io
