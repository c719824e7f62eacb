// Learning-rate schedules: lr as a function of the 0-based index s of the step about to be taken.
//   warm-up   s < W:           lr = peak * (s + 1) / W           (reaches peak at s = W - 1)
//   decay     W <= s < N:      p = (s - W) / (N - W)
//             Constant:        lr = peak
//             Cosine:          lr = min + (peak - min) * (1 + cos(pi p)) / 2
//             Linear:          lr = min + (peak - min) * (1 - p)
//   after     s >= N:          lr = min (peak for Constant)
// Use: opt.set_lr(schedule.at(step)) before each opt.step().
#pragma once
#include <cstdint>

namespace dl {

enum class Decay { Constant, Cosine, Linear };

struct LRSchedule {
  double peak_lr;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;  // N: where the decay reaches min_lr (unused for Constant)
  Decay decay = Decay::Constant;
  double min_lr = 0.0;

  double at(int64_t step) const;
};

inline LRSchedule constant_lr(double lr) { return {lr, 0, 0, Decay::Constant, 0.0}; }
inline LRSchedule warmup_cosine(double peak, int64_t warmup, int64_t total, double min_lr = 0.0) {
  return {peak, warmup, total, Decay::Cosine, min_lr};
}
inline LRSchedule warmup_linear(double peak, int64_t warmup, int64_t total, double min_lr = 0.0) {
  return {peak, warmup, total, Decay::Linear, min_lr};
}

}  // namespace dl
