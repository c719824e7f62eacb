#include "autograd/anomaly.h"

#include <cmath>
#include <cstring>

namespace dl {

std::atomic<bool> detail::g_anomaly_mode{false};

void set_anomaly_mode(bool on) { detail::g_anomaly_mode.store(on, std::memory_order_relaxed); }

namespace {

struct Scan {
  int64_t first_nan = -1, first_inf = -1;  // flat row-major indices, -1 when absent
};

Scan scan(const Tensor& t) {
  Scan s;
  if (!t.defined() || !is_floating(t.dtype())) return s;
  const std::vector<double> v = t.to_vector();
  for (size_t i = 0; i < v.size() && (s.first_nan < 0 || s.first_inf < 0); ++i) {
    if (std::isnan(v[i]) && s.first_nan < 0) s.first_nan = static_cast<int64_t>(i);
    if (std::isinf(v[i]) && s.first_inf < 0) s.first_inf = static_cast<int64_t>(i);
  }
  return s;
}

bool infinite_by_design(const char* op) {
  return std::strcmp(op, "log_softmax") == 0 || std::strcmp(op, "masked_fill") == 0;
}

[[noreturn]] void report(const std::string& where, const char* what, int64_t index, const Tensor& t,
                         const std::string& note) {
  throw Error("anomaly: " + where + " produced " + what + " at element " + std::to_string(index) +
              " of " + t.str() + note);
}

}  // namespace

void check_forward_anomaly(const char* op, const Tensor& out, const std::vector<Tensor>& inputs) {
  const Scan s = scan(out);
  if (s.first_nan < 0 && s.first_inf < 0) return;
  bool input_nan = false, input_inf = false;
  for (const Tensor& in : inputs) {
    const Scan si = scan(in);
    input_nan = input_nan || si.first_nan >= 0;
    input_inf = input_inf || si.first_inf >= 0;
  }
  const std::string where = std::string("op '") + op + "'";
  if (s.first_nan >= 0)
    report(where, "NaN", s.first_nan, out,
           input_nan ? " (an input already held NaN)" : input_inf ? " (from an infinite input)" : "");
  if (!input_inf && !infinite_by_design(op)) report(where, "an infinity", s.first_inf, out, "");
}

void check_gradient_anomaly(const std::string& op, size_t input, const Tensor& grad) {
  const Scan s = scan(grad);
  const std::string where = "'" + op + " backward' (gradient of input " + std::to_string(input) + ")";
  if (s.first_nan >= 0) report(where, "NaN", s.first_nan, grad, "");
  if (s.first_inf >= 0) report(where, "an infinity", s.first_inf, grad, "");
}

}  // namespace dl
