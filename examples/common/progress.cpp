#include "examples/common/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

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

// The fields joined by two spaces, leaving out the lowest-priority ones (priority 0 is never
// left out) until the line is under width; a line still too wide is cut.
struct Field {
  std::string text;
  int priority;  // higher: kept longer
};
std::string fit(const std::vector<Field>& fields, size_t width) {
  std::vector<bool> keep(fields.size(), true);
  const auto joined = [&] {
    std::string s;
    for (size_t i = 0; i < fields.size(); ++i)
      if (keep[i]) s += (s.empty() ? "" : "  ") + fields[i].text;
    return s;
  };
  for (int priority = 1; priority <= 3 && joined().size() >= width; ++priority)
    for (size_t i = 0; i < fields.size(); ++i)
      if (fields[i].priority == priority) keep[i] = false;
  const std::string s = joined();
  return s.size() < width ? s : s.substr(0, width > 0 ? width - 1 : 0);
}

}  // namespace

std::string short_number(double v) { return format("%.4g", v); }

int Progress::terminal_width() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  const char* columns = std::getenv("COLUMNS");
  const int n = columns ? std::atoi(columns) : 0;
  return n > 0 ? n : 80;
}

double Progress::steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool Progress::stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

Progress::Progress(std::ostream& out, bool terminal, int epochs, int64_t steps_per_epoch, Clock clock, int width)
    : out_(out), terminal_(terminal), epochs_(epochs), steps_per_epoch_(steps_per_epoch),
      clock_(std::move(clock)), width_(width > 0 ? width : terminal_width()), start_(clock_()) {}

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
  const std::string line = status(extra);
  out_ << (terminal_ ? "\r" + line + "\033[K\n" : line + "\n") << std::flush;
  bar_shown_ = false;
}

void Progress::log_line(const std::string& message) {
  out_ << (bar_shown_ ? "\r\033[K" : "") << message << "\n";
  if (bar_shown_) redraw();
  out_ << std::flush;
}

std::string Progress::status(const std::string& extra) const {
  const double now = clock_();
  const int64_t total = int64_t(epochs_) * steps_per_epoch_;
  const int64_t done = int64_t(epoch_ - 1) * steps_per_epoch_ + step_;
  const double elapsed = now - start_;
  std::vector<Field> fields = {
      {"epoch " + std::to_string(epoch_) + "/" + std::to_string(epochs_), 0},
      {"step " + std::to_string(step_) + "/" + std::to_string(steps_per_epoch_), 0}};
  if (step_ > 0) fields.push_back({"loss " + short_number(loss_sum_ / step_), 0});
  if (accuracy_count_ > 0) fields.push_back({"acc " + format("%.1f%%", 100 * accuracy_sum_ / accuracy_count_), 0});
  if (now > epoch_start_) fields.push_back({format("%.3g", step_ / (now - epoch_start_)) + " steps/s", 2});
  fields.push_back({duration(elapsed) + " elapsed", 1});
  fields.push_back({duration(done > 0 ? elapsed * (total - done) / done : NAN) + " left", 3});
  if (!extra.empty()) fields.push_back({extra, 0});
  return fit(fields, terminal_ ? static_cast<size_t>(width_) : std::string::npos);
}

void Progress::redraw() {
  out_ << "\r" << status() << "\033[K" << std::flush;
  last_draw_ = clock_();
  bar_shown_ = true;
}

}  // namespace dl
