// Progress bar / periodic progress lines.
#include "tools/ctl/progress.h"

#include <unistd.h>

#include <cstdio>

namespace redcar::ctl {

namespace {

constexpr auto kTtyRedraw = std::chrono::milliseconds(100);
constexpr auto kLineEvery = std::chrono::seconds(2);
constexpr int kBarWidth = 30;

std::string format_seconds(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  auto total = static_cast<uint64_t>(s + 0.5);
  char buf[32];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%lu:%02lu:%02lu", static_cast<unsigned long>(total / 3600),
                  static_cast<unsigned long>(total / 60 % 60), static_cast<unsigned long>(total % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lu:%02lu", static_cast<unsigned long>(total / 60),
                  static_cast<unsigned long>(total % 60));
  }
  return buf;
}

}  // namespace

Progress::Progress(std::string label)
    : label_(std::move(label)), tty_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

void Progress::update(uint64_t done, uint64_t copied_this_run) {
  done_ = done;
  copied_ = copied_this_run;
  if (total_ < done_) total_ = done_;
  draw(false);
}

std::string Progress::render() const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? copied_ / elapsed : 0;
  uint64_t remaining = total_ > done_ ? total_ - done_ : 0;
  double eta = rate > 0 ? remaining / rate : (remaining == 0 ? 0 : -1);
  double frac = total_ > 0 ? static_cast<double>(done_) / total_ : 1.0;
  char buf[256];
  if (tty_) {
    std::string bar(kBarWidth, ' ');
    for (int i = 0; i < static_cast<int>(frac * kBarWidth); ++i) bar[i] = '#';
    std::snprintf(buf, sizeof buf, "%s [%s] %3.0f%% %lu/%lu events, %.0f events/s, ETA %s", label_.c_str(),
                  bar.c_str(), frac * 100, static_cast<unsigned long>(done_), static_cast<unsigned long>(total_), rate,
                  format_seconds(eta).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "migrate: %s: %lu done, %lu remaining (%.0f%%), %.0f events/s, ETA %s",
                  label_.c_str(), static_cast<unsigned long>(done_), static_cast<unsigned long>(remaining), frac * 100,
                  rate, format_seconds(eta).c_str());
  }
  return buf;
}

void Progress::draw(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ && now - last_draw_ < (tty_ ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(kTtyRedraw)
                                                   : std::chrono::duration_cast<std::chrono::steady_clock::duration>(kLineEvery))) {
    return;
  }
  if (!force && !drawn_ && !tty_ && now - start_ < kLineEvery) return;
  last_draw_ = now;
  drawn_ = true;
  std::string text = render();
  if (tty_) {
    std::fprintf(stderr, "\r%s\x1b[K", text.c_str());
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  draw(true);
  if (tty_) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace redcar::ctl
