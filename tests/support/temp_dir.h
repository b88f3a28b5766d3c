// A fresh folder for a test or a benchmark: made with mkdtemp as
// ROOT/PREFIX-XXXXXX and removed, with everything in it, when the TempDir
// goes (unless keep() was called, to look at it afterwards). Tests use
// /tmp; benchmarks pass a root on the disk they measure. Header-only, so
// that unit tests, crash tests, gRPC tests and benches share it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace redcar::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "redcar-test", const std::string& root = "/tmp") {
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    std::string tmpl = root + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~TempDir() {
    if (path_.empty() || kept_) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // False when mkdtemp failed (path() is then empty).
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  void keep() { kept_ = true; }

 private:
  std::string path_;
  bool kept_ = false;
};

}  // namespace redcar::test
