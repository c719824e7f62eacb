#include "nn/schedule.h"

#include <cmath>
#include <string>
#include "autograd/error.h"

namespace dl {

double LRSchedule::at(int64_t step) const {
  DL_CHECK(step >= 0, "LRSchedule", "negative step " + std::to_string(step));
  DL_CHECK(warmup_steps >= 0 && (decay == Decay::Constant || total_steps > warmup_steps), "LRSchedule",
           "need 0 <= warmup_steps < total_steps, got warmup " + std::to_string(warmup_steps) +
               ", total " + std::to_string(total_steps));
  if (step < warmup_steps) return peak_lr * static_cast<double>(step + 1) / warmup_steps;
  if (decay == Decay::Constant) return peak_lr;
  if (step >= total_steps) return min_lr;
  const double p = static_cast<double>(step - warmup_steps) / (total_steps - warmup_steps);
  const double shape = decay == Decay::Cosine ? (1 + std::cos(M_PI * p)) / 2 : 1 - p;
  return min_lr + (peak_lr - min_lr) * shape;
}

}  // namespace dl
