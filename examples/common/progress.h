// Training progress. On a terminal: one line redrawn in place (at most ten times a second),
// never wider than the terminal (a wrapped line would be redrawn below itself and flood the
// screen): the least useful fields are dropped first (elapsed, speed, time left), then the line
// is cut. Into a pipe or file: one plain line per epoch and per log_line call, in full, so logs
// stay short. Numbers print with %g, so a diverging loss reads 2.63e+21, not 22 digits.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace dl {

class Progress {
 public:
  using Clock = std::function<double()>;  // seconds from any fixed point
  static double steady_seconds();
  static bool stdout_is_terminal();
  // Columns of the terminal on stdout (ioctl TIOCGWINSZ), else $COLUMNS, else 80.
  static int terminal_width();

  // Progress(std::cout, Progress::stdout_is_terminal(), epochs, steps) for a program; tests
  // pass a std::ostringstream, their own clock and width (0: terminal_width()).
  Progress(std::ostream& out, bool terminal, int epochs, int64_t steps_per_epoch,
           Clock clock = steady_seconds, int width = 0);
  ~Progress();  // ends a half-drawn terminal line

  void start_epoch();  // epochs count from 1
  // After each training step. The line shows the means over the epoch so far; accuracy is a
  // fraction (NaN leaves it out).
  void step(double loss, double accuracy = NAN);
  // Finishes the epoch's line; extra (e.g. "val acc 93.1%") is appended to it.
  void end_epoch(const std::string& extra = "");
  // A message on a line of its own (the terminal bar is redrawn below it).
  void log_line(const std::string& message);

 private:
  // "epoch 2/10  step 40/100  loss 0.6931  ..." + extra; on a terminal, at most width_ - 1 wide
  std::string status(const std::string& extra = "") const;
  void redraw();

  std::ostream& out_;
  bool terminal_;
  int epochs_;
  int64_t steps_per_epoch_;
  Clock clock_;
  int width_;  // terminal columns
  double start_, epoch_start_ = 0, last_draw_ = -1e300;
  int epoch_ = 0;
  int64_t step_ = 0, accuracy_count_ = 0;
  double loss_sum_ = 0, accuracy_sum_ = 0;
  bool bar_shown_ = false;  // a terminal line without its newline yet
};

// v with %.4g ("0.6931", "2.63e+21", "nan"): for numbers in a progress line.
std::string short_number(double v);

}  // namespace dl
