#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>
#include "autograd/graph.h"
#include "autograd/random.h"

namespace dl {

// <w, y> accumulated in float64.
static double weighted_sum(const Tensor& w, const Tensor& y) {
  std::vector<double> wv = w.to_vector(), yv = y.to_vector();
  double s = 0;
  for (size_t i = 0; i < wv.size(); ++i) s += wv[i] * yv[i];
  return s;
}

static void check_inputs(const std::vector<Tensor>& inputs) {
  bool any = false;
  for (const Tensor& x : inputs) any = any || x.requires_grad();
  DL_CHECK(any, "gradcheck", "no input requires grad, so nothing would be checked");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.requires_grad()) continue;
    DL_CHECK(x.dtype() == DType::F64 && x.is_leaf() && x.is_contiguous(), "gradcheck",
             "input " + std::to_string(i) + " must be a contiguous float64 leaf, got " + x.str());
  }
}

GradcheckReport gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt) {
  check_inputs(inputs);
  for (Tensor x : inputs)
    if (x.requires_grad()) x.zero_grad();
  Tensor y = f(inputs);
  DL_CHECK(y.dtype() == DType::F64, "gradcheck", "f must return float64, got " + y.str());
  Generator gen(opt.seed);
  Tensor w = randn(y.shape(), gen, 0.0, 1.0, DType::F64);
  if (y.requires_grad()) y.backward(w);

  GradcheckReport report;
  NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.requires_grad()) continue;
    InputReport r;
    r.input = i;
    Tensor g = x.grad();
    std::vector<double> analytic = g.defined() ? g.to_vector() : std::vector<double>(x.numel(), 0.0);
    double* px = x.data<double>();
    double worst = -1;
    for (int64_t k = 0; k < x.numel(); ++k) {
      const double orig = px[k];
      px[k] = orig + opt.eps;
      const double plus = weighted_sum(w, f(inputs));
      px[k] = orig - opt.eps;
      const double minus = weighted_sum(w, f(inputs));
      px[k] = orig;
      const double numeric = (plus - minus) / (2 * opt.eps);
      const double err = std::fabs(analytic[k] - numeric);
      const double scaled = err / (opt.atol + opt.rtol * std::fabs(numeric));
      if (!(scaled <= 1.0)) r.ok = false;  // NaN fails too
      if (!(scaled <= worst)) {
        worst = std::isnan(scaled) ? INFINITY : scaled;
        r.worst_element = k;
        r.analytic = analytic[k];
        r.numeric = numeric;
        r.abs_err = err;
      }
    }
    report.ok = report.ok && r.ok;
    report.inputs.push_back(r);
  }
  return report;
}

std::string GradcheckReport::str() const {
  std::ostringstream os;
  os.precision(12);
  for (const InputReport& r : inputs)
    os << "input " << r.input << ": " << (r.ok ? "ok" : "FAILED") << ", worst element "
       << r.worst_element << " analytic " << r.analytic << " numeric " << r.numeric
       << " abs err " << r.abs_err << "\n";
  if (inputs.empty()) os << "no input requires grad\n";
  return os.str();
}

}  // namespace dl
