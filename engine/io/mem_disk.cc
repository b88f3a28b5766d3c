#include "engine/io/mem_disk.h"

#include <cerrno>
#include <algorithm>
#include <cstring>

namespace redcar::io {

namespace {
std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}
std::string base_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
}  // namespace

class MemFile final : public File {
 public:
  MemFile(MemDisk* disk, std::shared_ptr<MemFs::Node> node, std::string path)
      : disk_(disk), node_(std::move(node)), path_(std::move(path)) {}

  void write(uint64_t offset, const uint8_t* data, size_t len, IoCallback done) override {
    complete(std::move(done), write_sync(offset, data, len));
  }
  void read(uint64_t offset, uint8_t* data, size_t len, IoCallback done) override {
    int rc = read_sync(offset, data, len);
    if (rc > 0) {
      std::lock_guard lk(fs().mu_);
      fs().async_read_bytes_ += static_cast<uint64_t>(rc);
    }
    complete(std::move(done), rc);
  }
  void write_durable(uint64_t offset, const uint8_t* data, size_t len, IoCallback done) override {
    int rc = write_sync(offset, data, len);
    if (rc >= 0) {
      int s = sync_now();
      if (s < 0) rc = s;
    }
    complete(std::move(done), rc);
  }
  void sync(IoCallback done) override { complete(std::move(done), sync_now()); }
  int read_sync(uint64_t offset, uint8_t* data, size_t len) override {
    std::lock_guard lk(fs().mu_);
    if (fs().faults_.fail_reads_errno) return -fs().faults_.fail_reads_errno;
    auto& cur = node_->current;
    if (offset >= cur.size()) return 0;
    size_t n = std::min<size_t>(len, cur.size() - offset);
    std::memcpy(data, cur.data() + offset, n);
    return static_cast<int>(n);
  }
  int write_sync(uint64_t offset, const uint8_t* data, size_t len) override {
    std::lock_guard lk(fs().mu_);
    if (fs().faults_.fail_writes_errno) return -fs().faults_.fail_writes_errno;
    auto& cur = node_->current;
    if (cur.size() < offset + len) cur.resize(offset + len);
    std::memcpy(cur.data() + offset, data, len);
    node_->unsynced.push_back({offset, std::vector<uint8_t>(data, data + len)});
    return static_cast<int>(len);
  }
  int sync_now() override {
    std::lock_guard lk(fs().mu_);
    if (fs().faults_.fail_syncs_errno) return -fs().faults_.fail_syncs_errno;
    node_->durable = node_->current;
    node_->unsynced.clear();
    return 0;
  }
  int truncate(uint64_t size_bytes) override {
    std::lock_guard lk(fs().mu_);
    node_->current.resize(size_bytes);
    node_->durable.resize(size_bytes);  // metadata change: treated as durable
    node_->unsynced.clear();
    return 0;
  }
  Result<uint64_t> size() override {
    std::lock_guard lk(fs().mu_);
    return static_cast<uint64_t>(node_->current.size());
  }
  const std::string& path() const override { return path_; }

 private:
  MemFs& fs() { return disk_->fs_; }
  // The operation is done; its completion runs on the disk's reactor, on a
  // later turn, or waits in the MemFs while completions are held.
  void complete(IoCallback done, int rc) {
    runtime::Reactor* reactor = &disk_->reactor_;
    MemDisk* disk = disk_;
    disk->in_flight_++;
    runtime::Task t([disk, done = std::move(done), rc] {
      disk->in_flight_--;
      done(rc);
    });
    {
      std::lock_guard lk(fs().mu_);
      if (fs().hold_completions_) {
        fs().held_.push_back({reactor, std::move(t)});
        return;
      }
    }
    reactor->post(std::move(t));
  }
  MemDisk* disk_;
  std::shared_ptr<MemFs::Node> node_;
  std::string path_;
};

void MemFs::crash(bool tear, uint32_t seed) {
  std::lock_guard lk(mu_);
  std::mt19937 rng(seed);
  for (auto& [name, node] : files_) {
    if (tear) {
      for (auto& w : node->unsynced) {
        for (size_t s = 0; s < w.bytes.size(); s += 512) {
          if (rng() % 2 == 0) continue;
          size_t n = std::min<size_t>(512, w.bytes.size() - s);
          if (node->durable.size() < w.offset + s + n) node->durable.resize(w.offset + s + n);
          std::memcpy(node->durable.data() + w.offset + s, w.bytes.data() + s, n);
        }
      }
    }
    node->unsynced.clear();
    node->current = node->durable;
  }
}

void MemFs::hold_completions() {
  std::lock_guard lk(mu_);
  hold_completions_ = true;
}

size_t MemFs::release_completions(bool newest_first) {
  std::vector<Held> held;
  {
    std::lock_guard lk(mu_);
    hold_completions_ = false;
    held.swap(held_);
  }
  if (newest_first) std::reverse(held.begin(), held.end());
  for (auto& h : held) h.reactor->post(std::move(h.task));
  return held.size();
}

void MemFs::set_faults(const Faults& f) {
  std::lock_guard lk(mu_);
  faults_ = f;
}

MemFs::Faults MemFs::faults() {
  std::lock_guard lk(mu_);
  return faults_;
}

uint64_t MemFs::async_read_bytes() {
  std::lock_guard lk(mu_);
  return async_read_bytes_;
}

bool MemFs::read_file(const std::string& path, std::vector<uint8_t>* out) {
  std::lock_guard lk(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return false;
  *out = it->second->current;
  return true;
}

void MemFs::write_file(const std::string& path, std::vector<uint8_t> bytes) {
  std::lock_guard lk(mu_);
  auto& node = files_[path];
  if (!node) node = std::make_shared<Node>();
  node->durable = bytes;
  node->current = std::move(bytes);
  node->unsynced.clear();
}

void MemFs::remove_file(const std::string& path) {
  std::lock_guard lk(mu_);
  files_.erase(path);
}

std::vector<std::string> MemFs::files() {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (auto& [name, node] : files_) out.push_back(name);
  return out;
}

Result<std::unique_ptr<File>> MemDisk::open(const std::string& path) {
  std::lock_guard lk(fs_.mu_);
  auto it = fs_.files_.find(path);
  if (it == fs_.files_.end()) return Status::from_errno(-ENOENT, "open " + path);
  return std::unique_ptr<File>(new MemFile(this, it->second, path));
}

Status MemDisk::prepare(const std::string& path, uint64_t size_bytes) {
  std::lock_guard lk(fs_.mu_);
  if (fs_.faults_.fail_prepare_errno) {
    return Status::from_errno(-fs_.faults_.fail_prepare_errno, "fallocate " + path);
  }
  auto node = std::make_shared<MemFs::Node>();
  node->current.assign(size_bytes, 0);
  node->durable = node->current;
  fs_.files_[path] = std::move(node);
  return Status::ok();
}

Status MemDisk::list(const std::string& dir, std::vector<std::string>* names) {
  std::lock_guard lk(fs_.mu_);
  names->clear();
  // A folder exists once made, or once a file lies in it (tests write files
  // straight into the MemFs); a file deeper down shows its folder here.
  std::set<std::string> seen;
  const std::string prefix = dir + "/";
  for (auto& [path, node] : fs_.files_) {
    if (path.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = path.substr(prefix.size());
    seen.insert(rest.substr(0, rest.find('/')));
  }
  for (auto& d : fs_.dirs_) {
    if (d != dir && dir_of(d) == dir) seen.insert(base_of(d));
  }
  if (seen.empty() && !fs_.dirs_.count(dir)) return Status::from_errno(-ENOENT, "opendir " + dir);
  names->assign(seen.begin(), seen.end());
  return Status::ok();
}

Status MemDisk::make_dirs(const std::string& dir) {
  std::lock_guard lk(fs_.mu_);
  std::string d = dir;
  while (!d.empty() && d != "." && d != "/") {
    fs_.dirs_.insert(d);
    auto slash = d.rfind('/');
    if (slash == std::string::npos) break;
    d = d.substr(0, slash);
  }
  return Status::ok();
}

Status MemDisk::remove(const std::string& path) {
  std::lock_guard lk(fs_.mu_);
  fs_.files_.erase(path);
  return Status::ok();
}

Status MemDisk::sync_dir(const std::string&) { return Status::ok(); }

bool MemDisk::exists(const std::string& path) {
  std::lock_guard lk(fs_.mu_);
  return fs_.files_.count(path) > 0 || fs_.dirs_.count(path) > 0;
}

}  // namespace redcar::io
