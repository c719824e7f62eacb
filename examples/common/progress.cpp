#include "examples/common/progress.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace dl {
namespace {

// m:ss, or h:mm:ss from an hour on; "?" before there is anything to estimate from.
std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

std::string format(const char* pattern, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, pattern, v);
  return buf;
}

}  // namespace

double Progress::steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool Progress::stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

Progress::Progress(std::ostream& out, bool terminal, int epochs, int64_t steps_per_epoch, Clock clock)
    : out_(out), terminal_(terminal), epochs_(epochs), steps_per_epoch_(steps_per_epoch),
      clock_(std::move(clock)), start_(clock_()) {}

Progress::~Progress() {
  if (bar_shown_) out_ << "\n" << std::flush;
}

void Progress::start_epoch() {
  ++epoch_;
  step_ = accuracy_count_ = 0;
  loss_sum_ = accuracy_sum_ = 0;
  epoch_start_ = clock_();
}

void Progress::step(double loss, double accuracy) {
  ++step_;
  loss_sum_ += loss;
  if (!std::isnan(accuracy)) accuracy_sum_ += accuracy, ++accuracy_count_;
  if (terminal_ && clock_() - last_draw_ >= 0.1) redraw();
}

void Progress::end_epoch(const std::string& extra) {
  const std::string line = status() + (extra.empty() ? "" : "  " + extra);
  out_ << (terminal_ ? "\r" + line + "\033[K\n" : line + "\n") << std::flush;
  bar_shown_ = false;
}

void Progress::log_line(const std::string& message) {
  out_ << (bar_shown_ ? "\r\033[K" : "") << message << "\n";
  if (bar_shown_) redraw();
  out_ << std::flush;
}

std::string Progress::status() const {
  const double now = clock_();
  const int64_t total = int64_t(epochs_) * steps_per_epoch_;
  const int64_t done = int64_t(epoch_ - 1) * steps_per_epoch_ + step_;
  const double elapsed = now - start_;
  std::string s = "epoch " + std::to_string(epoch_) + "/" + std::to_string(epochs_) + "  step " +
                  std::to_string(step_) + "/" + std::to_string(steps_per_epoch_);
  if (step_ > 0) s += "  loss " + format("%.4g", loss_sum_ / step_);
  if (accuracy_count_ > 0) s += "  acc " + format("%.1f%%", 100 * accuracy_sum_ / accuracy_count_);
  if (now > epoch_start_) s += "  " + format("%.3g", step_ / (now - epoch_start_)) + " steps/s";
  return s + "  " + duration(elapsed) + " elapsed  " +
         duration(done > 0 ? elapsed * (total - done) / done : NAN) + " left";
}

void Progress::redraw() {
  out_ << "\r" << status() << "\033[K" << std::flush;
  last_draw_ = clock_();
  bar_shown_ = true;
}

}  // namespace dl
