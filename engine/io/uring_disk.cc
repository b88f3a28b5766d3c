#include "engine/io/uring_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "engine/common/assert.h"
#include "engine/io/aligned_buffer.h"
#include "runtime/txn_scope.h"

namespace redcar::io {

namespace {

std::atomic<bool> g_warned_buffered{false};

int open_direct(const std::string& path, int flags, mode_t mode, bool* direct) {
  int fd = ::open(path.c_str(), flags | O_DIRECT | O_CLOEXEC, mode);
  *direct = true;
  if (fd < 0 && errno == EINVAL) {
    // The filesystem has no direct I/O (tmpfs): correctness is unchanged,
    // only the page cache now sits between us and the disk.
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    *direct = false;
    if (fd >= 0 && !g_warned_buffered.exchange(true)) {
      spdlog::warn("{}: O_DIRECT not supported here, using buffered I/O", path);
    }
  }
  return fd < 0 ? -errno : fd;
}

std::string parent_of(const std::string& path) {
  auto p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

}  // namespace

class UringFile final : public File {
 public:
  UringFile(UringDisk* disk, int fd, std::string path) : disk_(disk), fd_(fd), path_(std::move(path)) {}
  ~UringFile() override { ::close(fd_); }

  void write(uint64_t offset, const uint8_t* data, size_t len, IoCallback done) override {
    disk_->submit(UringDisk::OpKind::kWrite, fd_, offset, const_cast<uint8_t*>(data), len, std::move(done));
  }
  void read(uint64_t offset, uint8_t* data, size_t len, IoCallback done) override {
    disk_->submit(UringDisk::OpKind::kRead, fd_, offset, data, len, std::move(done));
  }
  void write_durable(uint64_t offset, const uint8_t* data, size_t len, IoCallback done) override {
    disk_->submit(UringDisk::OpKind::kWriteDsync, fd_, offset, const_cast<uint8_t*>(data), len, std::move(done));
  }
  void sync(IoCallback done) override {
    disk_->submit(UringDisk::OpKind::kSync, fd_, 0, nullptr, 0, std::move(done));
  }
  int read_sync(uint64_t offset, uint8_t* data, size_t len) override {
    size_t done = 0;
    while (done < len) {
      ssize_t n = ::pread(fd_, data + done, len - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return -errno;
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return static_cast<int>(done);
  }
  int write_sync(uint64_t offset, const uint8_t* data, size_t len) override {
    size_t done = 0;
    while (done < len) {
      ssize_t n = ::pwrite(fd_, data + done, len - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return -errno;
      }
      done += static_cast<size_t>(n);
    }
    return static_cast<int>(done);
  }
  int sync_now() override { return ::fdatasync(fd_) == 0 ? 0 : -errno; }
  int truncate(uint64_t size_bytes) override {
    return ::ftruncate(fd_, static_cast<off_t>(size_bytes)) == 0 ? 0 : -errno;
  }
  Result<uint64_t> size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::from_errno(-errno, "fstat " + path_);
    return static_cast<uint64_t>(st.st_size);
  }
  const std::string& path() const override { return path_; }

 private:
  UringDisk* disk_;
  int fd_;
  std::string path_;
};

UringDisk::~UringDisk() {
  if (in_flight_ > 0 && reactor_.in_loop_thread()) drain();
  REDCAR_CHECK(in_flight_ == 0);
}

void UringDisk::drain() {
  while (in_flight_ > 0) reactor_.run_once(std::chrono::milliseconds(10));
}

void UringDisk::submit(OpKind kind, int fd, uint64_t offset, uint8_t* data, size_t len, IoCallback done) {
  auto* op = new Op;
  op->disk = this;
  op->done = std::move(done);
  op->txn = runtime::current_txn();
  io_uring_sqe* sqe = reactor_.prepare(op);
  switch (kind) {
    case OpKind::kRead: io_uring_prep_read(sqe, fd, data, static_cast<unsigned>(len), offset); break;
    case OpKind::kWrite: io_uring_prep_write(sqe, fd, data, static_cast<unsigned>(len), offset); break;
    case OpKind::kWriteDsync:
      io_uring_prep_write(sqe, fd, data, static_cast<unsigned>(len), offset);
      sqe->rw_flags = RWF_DSYNC;
      break;
    case OpKind::kSync: io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC); break;
  }
  ++in_flight_;
}

void UringDisk::Op::complete(int result, uint32_t) {
  // A short read or write of a direct-I/O block is completed by the caller
  // seeing fewer bytes; the log treats any short write as an error.
  std::unique_ptr<Op> self(this);
  disk->in_flight_--;
  IoCallback cb = std::move(done);
  runtime::TxnScope scope(txn);
  self.reset();
  cb(result);
}

Result<std::unique_ptr<File>> UringDisk::open(const std::string& path) {
  bool direct = false;
  int fd = open_direct(path, O_RDWR, 0, &direct);
  if (fd < 0) return Status::from_errno(fd, "open " + path);
  return std::unique_ptr<File>(new UringFile(this, fd, path));
}

Status UringDisk::prepare(const std::string& path, uint64_t size_bytes) {
  std::string tmp = path + ".tmp";
  // Direct writes: the zeros go to the disk without passing through (and
  // filling) the page cache, which a segment's own direct writes would
  // then have to invalidate.
  bool direct = false;
  int fd = open_direct(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0644, &direct);
  if (fd < 0) return Status::from_errno(fd, "create " + tmp);
  auto fail = [&](int err, const char* what) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::from_errno(-err, std::string(what) + " " + tmp);
  };
  int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(size_bytes));
  if (rc != 0) return fail(rc, "fallocate");
  // Zero-fill so that appends overwrite written blocks: a durable write into
  // an unwritten extent costs a journal commit each time.
  constexpr size_t kChunk = 1 << 20;
  AlignedBuffer zeros(kChunk);
  std::memset(zeros.data(), 0, kChunk);
  uint64_t off = 0;
  while (off < size_bytes) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, size_bytes - off));
    ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(off));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return fail(errno, "zero-fill");
    if (static_cast<size_t>(w) != n) return fail(EIO, "zero-fill (short)");
    off += n;
  }
  if (::fdatasync(fd) != 0) return fail(errno, "fdatasync");
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status::from_errno(-e, "rename " + tmp);
  }
  return sync_dir(parent_of(path));
}

Status UringDisk::list(const std::string& dir, std::vector<std::string>* names) {
  names->clear();
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::from_errno(-errno, "opendir " + dir);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names->push_back(std::move(n));
  }
  ::closedir(d);
  return Status::ok();
}

Status UringDisk::make_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::from_errno(-ec.value(), "mkdir " + dir);
  return Status::ok();
}

Status UringDisk::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::from_errno(-errno, "unlink " + path);
  return Status::ok();
}

Status UringDisk::sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(-errno, "open dir " + dir);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return Status::from_errno(-e, "fsync dir " + dir);
  return Status::ok();
}

bool UringDisk::exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace redcar::io
