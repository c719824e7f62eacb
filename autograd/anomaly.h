// Anomaly mode: find the op where a NaN or an infinity first appears, by name.
//
// Off by default; when off the tape pays one relaxed atomic load per record(). When on:
//   forward   record() scans each op's output (ops recorded while grad mode is on, so not the
//             ops inside backward closures or under NoGradGuard) and throws a dl::Error naming
//             the op when the output holds
//               - a NaN: always (a NaN is never meaningful);
//               - an infinity that none of the op's inputs held, unless the op produces one by
//                 design: log_softmax (masked entries are -inf) and masked_fill (the caller's
//                 fill value, typically -inf for an attention mask). An infinity that only
//                 flows on from an input (sum of masked log-probabilities) is not new.
//   backward  the engine scans every gradient a backward closure returns and throws, naming
//             "<op> backward" and the input, when it holds a NaN or an infinity (no gradient
//             is infinite by design: masked entries get gradient 0).
// Use: { AnomalyGuard on; loss = model.loss(x, y); loss.backward(); }
#pragma once
#include <atomic>
#include <string>
#include <vector>
#include "autograd/tensor.h"

namespace dl {

namespace detail {
extern std::atomic<bool> g_anomaly_mode;
}

inline bool anomaly_mode() { return detail::g_anomaly_mode.load(std::memory_order_relaxed); }
void set_anomaly_mode(bool on);

// RAII: anomaly mode on while it lives (process-wide), then back to what it was.
class AnomalyGuard {
 public:
  AnomalyGuard() : previous_(anomaly_mode()) { set_anomaly_mode(true); }
  ~AnomalyGuard() { set_anomaly_mode(previous_); }
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool previous_;
};

// The checks the tape runs in anomaly mode (autograd/graph.cpp); each throws on an anomaly.
void check_forward_anomaly(const char* op, const Tensor& out, const std::vector<Tensor>& inputs);
void check_gradient_anomaly(const std::string& op, size_t input, const Tensor& grad);

}  // namespace dl
