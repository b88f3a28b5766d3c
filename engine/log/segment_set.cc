#include "engine/log/segment_set.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>

#include "engine/common/assert.h"
#include "engine/common/limits.h"
#include "engine/io/aligned_buffer.h"

namespace redcar::log {

std::string segment_file_name(uint64_t first_offset) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020" PRIu64 ".seg", first_offset);
  return name;
}

bool parse_segment_name(const std::string& name, uint64_t* first_offset) {
  if (name.size() != 24 || name.compare(20, 4, ".seg") != 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  *first_offset = v;
  return true;
}

namespace {

bool all_zero(const uint8_t* p, size_t n) {
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= n; i += sizeof(uint64_t)) {
    uint64_t w;
    std::memcpy(&w, p + i, sizeof(w));
    if (w != 0) return false;
  }
  for (; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

bool is_tmp(const std::string& name) { return name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0; }

}  // namespace

SegmentSet::SegmentSet(io::Disk& disk, std::string dir, uint64_t segment_bytes)
    : disk_(disk), dir_(std::move(dir)), segment_bytes_(segment_bytes) {
  REDCAR_CHECK(segment_bytes_ % limits::kBlockBytes == 0);
  REDCAR_CHECK(segment_bytes_ >= limits::kMinSegmentBytes);
}

SegmentSet::~SegmentSet() { wait_prepare(); }

std::string SegmentSet::path_of(uint64_t first_offset) const { return dir_ + "/" + segment_file_name(first_offset); }

io::File* SegmentSet::file(uint64_t first_offset) const {
  auto it = files_.find(first_offset);
  return it == files_.end() ? nullptr : it->second.get();
}

void SegmentSet::set_active(uint64_t first_offset) {
  REDCAR_CHECK(has(first_offset));
  active_first_ = first_offset;
}

Status SegmentSet::open_file(uint64_t first_offset) {
  auto f = disk_.open(path_of(first_offset));
  if (!f) return f.status();
  auto size = (*f)->size();
  if (!size) return size.status();
  if (*size != segment_bytes_) {
    return Status(Code::kCorruption, path_of(first_offset) + ": size " + std::to_string(*size) +
                                         " is not the segment size " + std::to_string(segment_bytes_));
  }
  files_[first_offset] = std::move(*f);
  return Status::ok();
}

Result<std::vector<uint64_t>> SegmentSet::load() {
  if (Status s = disk_.make_dirs(dir_); !s) return s;
  std::vector<std::string> names;
  if (Status s = disk_.list(dir_, &names); !s) return s;
  std::vector<uint64_t> firsts;
  for (const auto& n : names) {
    uint64_t first;
    if (parse_segment_name(n, &first)) {
      firsts.push_back(first);
    } else if (is_tmp(n)) {
      // A segment whose preparation a crash interrupted: never used.
      (void)disk_.remove(dir_ + "/" + n);
    }
  }
  std::sort(firsts.begin(), firsts.end());
  for (uint64_t first : firsts) {
    if (Status s = open_file(first); !s) return s;
  }
  return firsts;
}

Status SegmentSet::create_first() {
  REDCAR_CHECK(files_.empty());
  if (Status s = disk_.prepare(path_of(0), segment_bytes_); !s) return s;
  if (Status s = open_file(0); !s) return s;
  active_first_ = 0;
  return Status::ok();
}

void SegmentSet::remove_from(uint64_t first_offset) {
  for (auto it = files_.lower_bound(first_offset); it != files_.end();) {
    (void)disk_.remove(path_of(it->first));
    it = files_.erase(it);
  }
}

Status SegmentSet::remove_below(uint64_t log_offset, const std::function<void(uint64_t)>& removed) {
  for (auto it = files_.begin(); it != files_.end() && it->first != active_first_;) {
    if (it->first + segment_bytes_ > log_offset) break;
    uint64_t first = it->first;
    it = files_.erase(it);
    removed(first);
    if (Status s = disk_.remove(path_of(first)); !s) return s;
  }
  return Status::ok();
}

Status SegmentSet::zero_from(uint64_t first_offset, uint64_t file_offset) {
  io::File* f = file(first_offset);
  REDCAR_CHECK(f != nullptr);
  REDCAR_CHECK(file_offset <= segment_bytes_);
  // Rewrites the partial block with its valid prefix, then zeros to the end.
  uint64_t base = io::align_down(file_offset);
  io::AlignedBuffer buf(1 << 20);
  std::memset(buf.data(), 0, buf.capacity());
  if (file_offset > base) {
    int n = f->read_sync(base, buf.data(), limits::kBlockBytes);
    if (n < 0) return Status::from_errno(n, "read " + f->path());
    std::memset(buf.data() + (file_offset - base), 0, limits::kBlockBytes - (file_offset - base));
    int w = f->write_sync(base, buf.data(), limits::kBlockBytes);
    if (w < 0) return Status::from_errno(w, "write " + f->path());
    base += limits::kBlockBytes;
    std::memset(buf.data(), 0, limits::kBlockBytes);
  }
  for (uint64_t off = base; off < segment_bytes_; off += buf.capacity()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.capacity(), segment_bytes_ - off));
    int w = f->write_sync(off, buf.data(), n);
    if (w < 0) return Status::from_errno(w, "write " + f->path());
  }
  int rc = f->sync_now();
  if (rc < 0) return Status::from_errno(rc, "fdatasync " + f->path());
  return Status::ok();
}

Result<bool> SegmentSet::has_stray_bytes(uint64_t first_offset, uint64_t* bytes_read) const {
  io::File* f = file(first_offset);
  REDCAR_CHECK(f != nullptr);
  io::AlignedBuffer buf(limits::kRecoveryChunkBytes);
  for (uint64_t off = 0; off < segment_bytes_; off += buf.capacity()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.capacity(), segment_bytes_ - off));
    int r = f->read_sync(off, buf.data(), n);
    if (r < 0) return Status::from_errno(r, "read " + f->path());
    *bytes_read += static_cast<uint64_t>(r);
    if (!all_zero(buf.data(), static_cast<size_t>(r))) return true;
  }
  return false;
}

void SegmentSet::keep_spare(uint64_t first_offset) {
  REDCAR_CHECK(first_offset == active_first_ + segment_bytes_ && has(first_offset));
  spare_ready_ = true;
  spare_first_ = first_offset;
}

void SegmentSet::start_prepare() {
  if (prepare_running_ || spare_ready_) return;
  spare_first_ = active_first_ + segment_bytes_;
  prepare_running_ = true;
  std::string path = path_of(spare_first_);
  uint64_t size = segment_bytes_;
  prepare_thread_ = std::thread([this, path, size] { prepare_status_ = disk_.prepare(path, size); });
}

void SegmentSet::wait_prepare() {
  if (prepare_thread_.joinable()) prepare_thread_.join();
}

Status SegmentSet::roll() {
  if (!spare_ready_) {
    start_prepare();
    wait_prepare();
    prepare_running_ = false;
    if (!prepare_status_) return std::exchange(prepare_status_, Status::ok());
    spare_ready_ = true;
  }
  REDCAR_CHECK(spare_first_ == active_first_ + segment_bytes_);
  if (!has(spare_first_)) {
    if (Status s = open_file(spare_first_); !s) return s;
  }
  spare_ready_ = false;
  active_first_ = spare_first_;
  start_prepare();
  return Status::ok();
}

}  // namespace redcar::log
