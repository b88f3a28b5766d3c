// Progress of a long copy on stderr: a bar redrawn in place when stderr is a
// terminal, otherwise a plain line every few seconds. Shows events done and
// remaining, events/s and the time left.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace redcar::ctl {

class Progress {
 public:
  explicit Progress(std::string label);
  // A new total (the remaining count may grow while the source is written).
  void set_total(uint64_t total) { total_ = total; }
  void set_label(std::string label) { label_ = std::move(label); }
  // `done` events so far (this run's copies only count towards the rate).
  void update(uint64_t done, uint64_t copied_this_run);
  // The last word: redraws once more and ends the line.
  void finish();

 private:
  std::string render() const;
  void draw(bool force);

  std::string label_;
  bool tty_;
  uint64_t total_ = 0, done_ = 0, copied_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace redcar::ctl
