// The bad-input matrix: every public op (ops/*.h) and module (nn/*.h) called with wrong ranks,
// wrong shapes, wrong dtypes, empty tensors (zero-size axes), NaN and infinities. Each call either
// works by the rule below or throws a dl::Error that names the op; nothing crashes (run it under
// make sanitize to also rule out out-of-bounds reads and undefined behaviour).
//
// The rules for what "works" means:
//   - zero-size axes give an output with the op's usual shape, also zero-size where it inherits
//     one. Reductions over nothing give the empty sum 0 (mean: NaN = 0 / 0); a maximum over
//     nothing, and var over no more elements than its correction, are errors. Attention with no
//     keys (S = 0) gives zeros, like a row whose keys are all masked; with dh = 0 every score is
//     0, so the attention is uniform. The backward of an empty output runs, giving zero or empty
//     gradients.
//   - NaN in an input is never dropped: it reaches the outputs that depend on it (0 * NaN is NaN,
//     so a NaN value behind a masked key still reaches the output). Anomaly mode
//     (autograd/anomaly.h) names the op where a NaN first appears.
//   - infinities follow IEEE arithmetic through the op's formula (exp(-inf) = 0, tanh(inf) = 1,
//     a -inf logit gets probability 0 like a masked one); where the formula meets inf - inf or
//     0 * inf the result is NaN, as in PyTorch.
// Each row is one call; a row that works also runs backward (gradient of ones) when it can.
#include "tests/testing.h"

#include <functional>
#include <limits>
#include "nn/attention.h"
#include "nn/diagnostics.h"
#include "nn/differential_attention.h"
#include "nn/dual_attention.h"
#include "nn/feedforward.h"
#include "nn/gpam_attention.h"
#include "nn/layers.h"
#include "nn/linear.h"
#include "nn/positional.h"
#include "nn/relational_attention.h"
#include "nn/symbols.h"
#include "ops/broadcast.h"
#include "ops/differential_attention.h"
#include "ops/gpam_attention.h"
#include "ops/relational_attention.h"
#include "ops/sdpa.h"

using namespace dl;
using namespace dl::testing;

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

using Check = std::function<bool(const Tensor&)>;

struct Case {
  std::string name;
  std::function<Tensor()> run;
  std::string error;  // non-empty: the call must throw a dl::Error containing this (the op's name)
  Check works;        // otherwise: the call returns, and works(output) holds
};

Case fails(std::string name, std::function<Tensor()> run, std::string op) { return {std::move(name), std::move(run), std::move(op), {}}; }
Case works(std::string name, std::function<Tensor()> run, Check check) { return {std::move(name), std::move(run), "", std::move(check)}; }

// ---- inputs: float32 leaves that require grad ----

Tensor input(const Shape& shape, double value = 0.5) { return Tensor::full(shape, value).requires_grad_(); }
Tensor rnd(const Shape& shape, uint64_t seed = 1) {
  Generator gen(seed);
  return randn(shape, gen).requires_grad_();
}
// rnd with element `at` (flat index) set to value
Tensor with(const Shape& shape, int64_t at, double value) {
  std::vector<double> v = rnd(shape).to_vector();
  v[at] = value;
  return Tensor::from_vector(v, shape).requires_grad_();
}
Tensor ints(const Shape& shape, int32_t value = 0) { return Tensor::full(shape, value, DType::I32); }

// ---- checks ----

Check shape_is(Shape s) { return [s](const Tensor& t) { return t.shape() == s; }; }
bool has_nan(const Tensor& t) {
  for (double v : t.to_vector()) if (std::isnan(v)) return true;
  return false;
}
bool all_finite(const Tensor& t) {
  for (double v : t.to_vector()) if (!std::isfinite(v)) return false;
  return true;
}
bool all_zero(const Tensor& t) {
  for (double v : t.to_vector()) if (v != 0.0) return false;
  return true;
}
Check values(std::vector<double> expected) {
  return [expected](const Tensor& t) {
    const std::vector<double> v = t.to_vector();
    if (v.size() != expected.size()) return false;
    for (size_t i = 0; i < v.size(); ++i)
      if (!(v[i] == expected[i] || (std::isnan(v[i]) && std::isnan(expected[i])) ||
            std::fabs(v[i] - expected[i]) <= 1e-6 * std::max(1.0, std::fabs(expected[i]))))
        return false;
    return true;
  };
}
Check and_(Check a, Check b) { return [a, b](const Tensor& t) { return a(t) && b(t); }; }

std::string vstr(const Tensor& t) {
  std::string s = t.str() + " [";
  std::vector<double> v = t.to_vector();
  for (size_t i = 0; i < v.size() && i < 12; ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() > 12 ? ", ...]" : "]");
}

// CHECK, not REQUIRE: one run lists every row that fails.
void run_case(const Case& c) {
  INFO("case: " << c.name);
  if (!c.error.empty()) {
    CHECK_THROWS_AS(c.run(), Error);
    CHECK_THROWS_WITH(c.run(), Catch::Contains(c.error));
    return;
  }
  Tensor out;
  try {
    out = c.run();
  } catch (const std::exception& e) {
    FAIL_CHECK("threw: " << e.what());
    return;
  }
  INFO("output " << vstr(out));
  CHECK(c.works(out));
  if (out.requires_grad()) CHECK_NOTHROW(out.backward(Tensor::ones(out.shape(), out.dtype())));
}

// ---- families of rows ----

using Unary = std::function<Tensor(const Tensor&)>;

// The value at element 1 of the output.
Check at1(double expected) {
  return [expected](const Tensor& t) {
    const double v = t.to_vector()[1];
    return v == expected || (std::isnan(v) && std::isnan(expected));
  };
}

// A function applied elementwise (or along the last axis): the same seven rows for each.
// inf_ok checks the output when input element 1 is +inf (IEEE through the formula); scalar_ok
// says whether a rank-0 input is valid (a last-axis op has no axis there).
void elementwise_rows(std::vector<Case>& rows, const std::string& op, const Unary& f, Check inf_ok,
                      bool scalar_ok = true) {
  rows.push_back(fails(op + ": int32 input", [f] { return f(ints({2, 3})); }, op));
  rows.push_back(fails(op + ": int32 input, shape named", [f] { return f(ints({2, 3})); }, "int32(2, 3)"));
  rows.push_back(fails(op + ": bool input", [f] { return f(Tensor::from_bools({true, false}, {2})); }, op));
  rows.push_back(works(op + ": empty (0, 3)", [f] { return f(input({0, 3})); }, shape_is({0, 3})));
  rows.push_back(works(op + ": empty (2, 0)", [f] { return f(input({2, 0})); }, shape_is({2, 0})));
  if (scalar_ok) rows.push_back(works(op + ": rank 0", [f] { return f(input({})); }, shape_is({})));
  else rows.push_back(fails(op + ": rank 0", [f] { return f(input({})); }, op));
  rows.push_back(works(op + ": NaN propagates", [f] { return f(with({2, 3}, 1, kNaN)); },
                       [](const Tensor& t) { return std::isnan(t.to_vector()[1]); }));
  rows.push_back(works(op + ": +inf", [f] { return f(with({2, 3}, 1, kInf)); }, inf_ok));
}

using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;

void binary_rows(std::vector<Case>& rows, const std::string& op, const Binary& f) {
  rows.push_back(fails(op + ": shapes (2, 3) and (4) do not broadcast", [f] { return f(input({2, 3}), input({4})); }, op));
  rows.push_back(fails(op + ": float32 with float64", [f] { return f(input({2}), Tensor::ones({2}, DType::F64)); }, op));
  rows.push_back(fails(op + ": int32 inputs", [f] { return f(ints({2}), ints({2})); }, op));
  rows.push_back(works(op + ": empty (0, 3) with (3)", [f] { return f(input({0, 3}), input({3})); }, shape_is({0, 3})));
  rows.push_back(fails(op + ": empty (0, 3) with (2, 3)", [f] { return f(input({0, 3}), input({2, 3})); }, op));
  rows.push_back(works(op + ": rank 0 with (2, 3)", [f] { return f(input({}), input({2, 3})); }, shape_is({2, 3})));
  rows.push_back(works(op + ": NaN propagates", [f] { return f(with({2, 3}, 1, kNaN), input({3})); }, at1(kNaN)));
  rows.push_back(works(op + ": inf with inf (inf - inf, inf / inf are NaN)", [f] { return f(with({3}, 1, kInf), with({3}, 1, kInf)); },
                       [op](const Tensor& t) {
                         const double v = t.to_vector()[1];
                         return op == "add" || op == "mul" ? v == kInf : std::isnan(v);
                       }));
}

// ---- attention inputs: B = 1, H = 2, T = 3, S = 4, dh = 2 ----

AttentionMask no_mask() { return AttentionMask(); }
AttentionMask padding(const Tensor& kp) {
  AttentionMask m;
  m.key_padding = kp;
  return m;
}

std::vector<Case> op_rows() {
  std::vector<Case> rows;
  Generator gen(3);

  // elementwise math and activations
  elementwise_rows(rows, "exp", [](const Tensor& x) { return exp(x); }, at1(kInf));
  elementwise_rows(rows, "log", [](const Tensor& x) { return log(x); }, at1(kInf));
  elementwise_rows(rows, "sqrt", [](const Tensor& x) { return sqrt(x); }, at1(kInf));
  elementwise_rows(rows, "pow", [](const Tensor& x) { return pow(x, 2.0); }, at1(kInf));
  elementwise_rows(rows, "abs", [](const Tensor& x) { return abs(x); }, at1(kInf));
  elementwise_rows(rows, "neg", [](const Tensor& x) { return neg(x); }, at1(-kInf));
  elementwise_rows(rows, "clamp", [](const Tensor& x) { return clamp(x, -1, 1); }, at1(1));
  elementwise_rows(rows, "add_scalar", [](const Tensor& x) { return x + 1.0; }, at1(kInf));
  elementwise_rows(rows, "mul_scalar", [](const Tensor& x) { return x * 0.0; }, at1(kNaN));
  elementwise_rows(rows, "rsub", [](const Tensor& x) { return 1.0 - x; }, at1(-kInf));
  elementwise_rows(rows, "rdiv", [](const Tensor& x) { return 1.0 / x; }, at1(0));
  elementwise_rows(rows, "relu", [](const Tensor& x) { return relu(x); }, at1(kInf));
  elementwise_rows(rows, "gelu", [](const Tensor& x) { return gelu(x); }, at1(kInf));
  elementwise_rows(rows, "gelu", [](const Tensor& x) { return gelu(x, GeluApprox::Tanh); }, at1(kInf));
  elementwise_rows(rows, "silu", [](const Tensor& x) { return silu(x); }, at1(kInf));
  elementwise_rows(rows, "sigmoid", [](const Tensor& x) { return sigmoid(x); }, at1(1));
  elementwise_rows(rows, "tanh", [](const Tensor& x) { return tanh(x); }, at1(1));
  rows.push_back(works("gelu: -inf is 0 * inf", [] { return gelu(with({3}, 1, -kInf)); }, at1(kNaN)));
  rows.push_back(works("sigmoid: -inf", [] { return sigmoid(with({3}, 1, -kInf)); }, at1(0)));
  rows.push_back(works("exp: -inf", [] { return exp(with({3}, 1, -kInf)); }, at1(0)));
  rows.push_back(fails("clamp: lo > hi", [] { return clamp(input({2}), 1, -1); }, "clamp"));
  rows.push_back(fails("undefined tensor", [] { return exp(Tensor()); }, "undefined"));

  binary_rows(rows, "add", [](const Tensor& a, const Tensor& b) { return a + b; });
  binary_rows(rows, "sub", [](const Tensor& a, const Tensor& b) { return a - b; });
  binary_rows(rows, "mul", [](const Tensor& a, const Tensor& b) { return a * b; });
  binary_rows(rows, "div", [](const Tensor& a, const Tensor& b) { return a / b; });

  // dropout: elementwise, mask drawn from a generator
  auto drop = [gen](const Tensor& x) mutable { return dropout(x, 0.5, gen, true); };
  elementwise_rows(rows, "dropout", drop, [](const Tensor& t) { return t.shape() == Shape{2, 3}; });
  rows.push_back(fails("dropout: p = 1", [gen]() mutable { return dropout(input({2}), 1.0, gen, true); }, "dropout"));
  rows.push_back(fails("dropout: p < 0", [gen]() mutable { return dropout(input({2}), -0.1, gen, true); }, "dropout"));
  rows.push_back(works("dropout: eval mode is the identity", [gen]() mutable { return dropout(input({2}), 0.3, gen, false); },
                       values({0.5, 0.5})));

  // softmax family: the last axis; rank 0 has no axis
  elementwise_rows(rows, "softmax", [](const Tensor& x) { return softmax(x); }, at1(kNaN), false);
  elementwise_rows(rows, "log_softmax", [](const Tensor& x) { return log_softmax(x); }, at1(kNaN), false);
  rows.push_back(works("softmax: -inf logit gets 0", [] { return softmax(Tensor::from_vector({0, -kInf, 0}, {3}).requires_grad_()); },
                       values({0.5, 0, 0.5})));
  rows.push_back(works("softmax: every logit -inf is an empty row", [] { return softmax(Tensor::full({2}, -kInf).requires_grad_()); },
                       values({0, 0})));
  rows.push_back(fails("softmax: int32 mask", [] { return softmax(input({2, 3}), ints({2, 3})); }, "softmax"));
  rows.push_back(fails("softmax: mask (2) for (2, 3)", [] { return softmax(input({2, 3}), Tensor::from_bools({true, false}, {2})); }, "softmax"));
  rows.push_back(works("log_softmax: all masked row", [] { return log_softmax(input({1, 2}), Tensor::from_bools({true, true}, {1, 2})); },
                       values({0, 0})));

  // normalisation over the last axis
  elementwise_rows(rows, "layer_norm", [](const Tensor& x) { return layer_norm(x, Tensor(), Tensor()); }, at1(kNaN), false);
  elementwise_rows(rows, "rms_norm", [](const Tensor& x) { return rms_norm(x, Tensor()); }, at1(kNaN), false);
  rows.push_back(fails("layer_norm: weight (4) for (2, 3)", [] { return layer_norm(input({2, 3}), input({4}), input({3})); }, "layer_norm"));
  rows.push_back(fails("layer_norm: bias float64", [] { return layer_norm(input({2, 3}), input({3}), Tensor::ones({3}, DType::F64)); }, "layer_norm"));
  rows.push_back(fails("rms_norm: weight (2, 3)", [] { return rms_norm(input({2, 3}), input({2, 3})); }, "rms_norm"));
  rows.push_back(works("layer_norm: a constant row is 0, not NaN", [] { return layer_norm(input({1, 3}), Tensor(), Tensor()); }, values({0, 0, 0})));
  rows.push_back(works("rms_norm: a zero row is 0, not NaN", [] { return rms_norm(input({1, 3}, 0.0), Tensor()); }, values({0, 0, 0})));

  // reductions
  rows.push_back(fails("sum: axis 2 of (2, 3)", [] { return sum(input({2, 3}), {2}); }, "sum"));
  rows.push_back(fails("sum: axis given twice", [] { return sum(input({2, 3}), {1, -1}); }, "sum"));
  rows.push_back(fails("sum: int32", [] { return sum(ints({2, 3})); }, "sum"));
  rows.push_back(works("sum: over an empty axis is 0", [] { return sum(input({2, 0}), {1}); }, values({0, 0})));
  rows.push_back(works("sum: of an empty tensor is 0", [] { return sum(input({0, 3})); }, values({0})));
  rows.push_back(works("sum: keeping an empty axis", [] { return sum(input({0, 3}), {1}); }, shape_is({0})));
  rows.push_back(works("sum: rank 0", [] { return sum(input({})); }, values({0.5})));
  rows.push_back(works("sum: NaN propagates", [] { return sum(with({2, 3}, 4, kNaN), {1}); }, at1(kNaN)));
  rows.push_back(works("sum: inf - inf is NaN", [] { return sum(Tensor::from_vector({kInf, -kInf}, {2}).requires_grad_()); }, values({kNaN})));
  rows.push_back(works("mean: over nothing is NaN", [] { return mean(input({2, 0}), {1}); }, values({kNaN, kNaN})));
  rows.push_back(works("mean: NaN propagates", [] { return mean(with({2, 3}, 4, kNaN), {1}); }, at1(kNaN)));
  rows.push_back(fails("mean: bool", [] { return mean(Tensor::from_bools({true}, {1})); }, "mean"));
  rows.push_back(fails("max: axis 5", [] { return max(input({2, 3}), 5); }, "max"));
  rows.push_back(fails("max: over an empty axis", [] { return max(input({2, 0}), 1); }, "max"));
  rows.push_back(works("max: of an empty batch", [] { return max(input({0, 3}), 1); }, shape_is({0})));
  rows.push_back(fails("max: int32", [] { return max(ints({2, 3}), 1); }, "max"));
  rows.push_back(works("max: NaN first in the row propagates", [] { return max(with({2, 3}, 3, kNaN), 1); }, at1(kNaN)));
  rows.push_back(works("max: NaN later in the row propagates", [] { return max(with({2, 3}, 4, kNaN), 1); }, at1(kNaN)));
  rows.push_back(works("max: +inf wins", [] { return max(with({2, 3}, 4, kInf), 1); }, at1(kInf)));
  rows.push_back(fails("var: one element (n - 1 = 0)", [] { return var(input({2, 1}), {1}); }, "var"));
  rows.push_back(works("var: population variance of one element", [] { return var(input({2, 1}), {1}, false, 0); }, values({0, 0})));
  rows.push_back(works("var: NaN propagates", [] { return var(with({2, 3}, 4, kNaN), {1}); }, at1(kNaN)));

  // shape ops
  rows.push_back(fails("reshape: 6 elements to (4)", [] { return reshape(input({2, 3}), {4}); }, "reshape"));
  rows.push_back(fails("reshape: two -1", [] { return reshape(input({2, 3}), {-1, -1}); }, "reshape"));
  rows.push_back(fails("reshape: -2", [] { return reshape(input({2, 3}), {-2, -3}); }, "reshape"));
  rows.push_back(fails("reshape: -1 next to 0 is ambiguous", [] { return reshape(input({0, 3}), {-1, 0}); }, "reshape"));
  rows.push_back(works("reshape: empty with -1", [] { return reshape(input({0, 3}), {-1, 3}); }, shape_is({0, 3})));
  rows.push_back(works("reshape: one element to rank 0", [] { return reshape(input({1, 1}), {}); }, shape_is({})));
  rows.push_back(fails("transpose: axis 2 of (2, 3)", [] { return transpose(input({2, 3}), 0, 2); }, "transpose"));
  rows.push_back(fails("transpose: rank 0", [] { return transpose(input({}), 0, 1); }, "transpose"));
  rows.push_back(works("transpose: empty", [] { return transpose(input({0, 3}), 0, 1); }, shape_is({3, 0})));
  rows.push_back(fails("permute: repeated axis", [] { return permute(input({2, 3}), {0, 0}); }, "permute"));
  rows.push_back(fails("permute: too few axes", [] { return permute(input({2, 3, 4}), {1, 0}); }, "permute"));
  rows.push_back(fails("permute: axis out of range", [] { return permute(input({2, 3}), {0, 2}); }, "permute"));
  rows.push_back(fails("slice: end past the axis", [] { return slice(input({2, 3}), 1, 0, 4); }, "slice"));
  rows.push_back(fails("slice: start after end", [] { return slice(input({2, 3}), 1, 2, 1); }, "slice"));
  rows.push_back(fails("slice: axis out of range", [] { return slice(input({2, 3}), 2, 0, 1); }, "slice"));
  rows.push_back(works("slice: empty range", [] { return slice(input({2, 3}), 1, 1, 1); }, shape_is({2, 0})));
  rows.push_back(works("slice: of an empty axis", [] { return slice(input({0, 3}), 0, 0, 0); }, shape_is({0, 3})));
  rows.push_back(fails("concat: nothing", [] { return concat({}, 0); }, "concat"));
  rows.push_back(fails("concat: other axes differ", [] { return concat({input({2, 3}), input({2, 4})}, 0); }, "concat"));
  rows.push_back(fails("concat: ranks differ", [] { return concat({input({2, 3}), input({3})}, 0); }, "concat"));
  rows.push_back(fails("concat: dtypes differ", [] { return concat({input({2}), Tensor::ones({2}, DType::F64)}, 0); }, "concat"));
  rows.push_back(fails("concat: axis out of range", [] { return concat({input({2})}, 1); }, "concat"));
  rows.push_back(works("concat: with an empty piece", [] { return concat({input({0, 3}), input({2, 3})}, 0); }, shape_is({2, 3})));
  rows.push_back(works("concat: int32 pieces", [] { return concat({ints({1}), ints({2}, 7)}, 0); }, values({0, 7, 7})));
  rows.push_back(fails("split: sizes do not add up", [] { return split(input({2, 3}), {1, 1}, 1)[0]; }, "split"));
  rows.push_back(fails("split: negative size", [] { return split(input({2, 3}), {4, -1}, 1)[0]; }, "split"));
  rows.push_back(works("split: an empty piece", [] { return split(input({2, 3}), {0, 3}, 1)[0]; }, shape_is({2, 0})));
  rows.push_back(fails("index_select: index out of range", [] { return index_select(input({2, 3}), 1, Tensor::from_ints({3}, {1})); }, "index_select"));
  rows.push_back(fails("index_select: negative index", [] { return index_select(input({2, 3}), 1, Tensor::from_ints({-1}, {1})); }, "index_select"));
  rows.push_back(fails("index_select: float index", [] { return index_select(input({2, 3}), 1, input({1})); }, "index_select"));
  rows.push_back(fails("index_select: index (1, 1)", [] { return index_select(input({2, 3}), 1, ints({1, 1})); }, "index_select"));
  rows.push_back(fails("index_select: from an empty axis", [] { return index_select(input({2, 0}), 1, ints({1})); }, "index_select"));
  rows.push_back(works("index_select: no indices", [] { return index_select(input({2, 3}), 1, ints({0})); }, shape_is({2, 0})));
  rows.push_back(fails("masked_fill: float mask", [] { return masked_fill(input({2, 3}), input({2, 3}), 0); }, "masked_fill"));
  rows.push_back(fails("masked_fill: mask (2) for (2, 3)", [] { return masked_fill(input({2, 3}), Tensor::from_bools({true, false}, {2}), 0); }, "masked_fill"));
  rows.push_back(fails("masked_fill: int32 input", [] { return masked_fill(ints({2}), Tensor::from_bools({true, false}, {2}), 0); }, "masked_fill"));
  rows.push_back(works("masked_fill: empty", [] { return masked_fill(input({0, 3}), Tensor::from_bools({true, false, true}, {3}), 0); }, shape_is({0, 3})));
  rows.push_back(works("masked_fill: NaN fill value", [] { return masked_fill(input({2}), Tensor::from_bools({false, true}, {2}), kNaN); }, at1(kNaN)));

  // matmul
  rows.push_back(fails("matmul: rank 1", [] { return matmul(input({3}), input({3, 2})); }, "matmul"));
  rows.push_back(fails("matmul: inner sizes 3 and 4", [] { return matmul(input({2, 3}), input({4, 2})); }, "matmul"));
  rows.push_back(fails("matmul: batch 2 and 3", [] { return matmul(input({2, 2, 3}), input({3, 3, 2})); }, "matmul"));
  rows.push_back(fails("matmul: float32 with float64", [] { return matmul(input({2, 3}), Tensor::ones({3, 2}, DType::F64)); }, "matmul"));
  rows.push_back(fails("matmul: int32", [] { return matmul(ints({2, 3}), ints({3, 2})); }, "matmul"));
  rows.push_back(works("matmul: M = 0", [] { return matmul(input({0, 3}), input({3, 2})); }, shape_is({0, 2})));
  rows.push_back(works("matmul: K = 0 gives zeros", [] { return matmul(input({2, 0}), input({0, 2})); }, values({0, 0, 0, 0})));
  rows.push_back(works("matmul: empty batch with a shared 2-D matrix", [] { return matmul(input({2, 0, 3}), input({3, 2})); }, shape_is({2, 0, 2})));
  rows.push_back(works("matmul: batch 0", [] { return matmul(input({0, 2, 3}), input({0, 3, 2})); }, shape_is({0, 2, 2})));
  rows.push_back(works("matmul: NaN propagates", [] { return matmul(with({2, 3}, 0, kNaN), input({3, 2})); }, at1(kNaN)));
  rows.push_back(works("matmul: inf times 0 is NaN", [] { return matmul(with({1, 2}, 0, kInf), input({2, 2}, 0.0)); }, at1(kNaN)));

  // cross_entropy
  rows.push_back(fails("cross_entropy: target out of range", [] { return cross_entropy(input({2, 3}), Tensor::from_ints({0, 3}, {2})); }, "cross_entropy"));
  rows.push_back(fails("cross_entropy: negative target", [] { return cross_entropy(input({2, 3}), Tensor::from_ints({0, -2}, {2})); }, "cross_entropy"));
  rows.push_back(fails("cross_entropy: float targets", [] { return cross_entropy(input({2, 3}), input({2})); }, "cross_entropy"));
  rows.push_back(fails("cross_entropy: targets (3) for (2, 3)", [] { return cross_entropy(input({2, 3}), ints({3})); }, "cross_entropy"));
  rows.push_back(fails("cross_entropy: rank 0 logits", [] { return cross_entropy(input({}), ints({})); }, "cross_entropy"));
  rows.push_back(fails("cross_entropy: no classes", [] { return cross_entropy(input({2, 0}), ints({2})); }, "cross_entropy"));
  rows.push_back(fails("cross_entropy: int32 logits", [] { return cross_entropy(ints({2, 3}), ints({2})); }, "cross_entropy"));
  rows.push_back(works("cross_entropy: empty batch is 0", [] { return cross_entropy(input({0, 3}), ints({0})); }, values({0})));
  rows.push_back(works("cross_entropy: every target ignored is 0", [] { return cross_entropy(input({2, 3}), ints({2}, -100)); }, values({0})));
  rows.push_back(works("cross_entropy: NaN logit propagates", [] { return cross_entropy(with({2, 3}, 1, kNaN), ints({2})); }, values({kNaN})));
  rows.push_back(works("cross_entropy: -inf logit of another class is fine", [] { return cross_entropy(with({2, 3}, 1, -kInf), ints({2})); }, all_finite));
  rows.push_back(works("cross_entropy: -inf logit of the target is an infinite loss", [] { return cross_entropy(with({2, 3}, 0, -kInf), ints({2})); }, values({kInf})));

  // embedding
  rows.push_back(fails("embedding: id out of range", [] { return embedding(input({4, 2}), Tensor::from_ints({1, 4}, {2})); }, "embedding"));
  rows.push_back(fails("embedding: negative id", [] { return embedding(input({4, 2}), Tensor::from_ints({-1}, {1})); }, "embedding"));
  rows.push_back(fails("embedding: float ids", [] { return embedding(input({4, 2}), input({2})); }, "embedding"));
  rows.push_back(fails("embedding: table rank 1", [] { return embedding(input({4}), ints({2})); }, "embedding"));
  rows.push_back(fails("embedding: int32 table", [] { return embedding(ints({4, 2}), ints({2})); }, "embedding"));
  rows.push_back(works("embedding: no ids", [] { return embedding(input({4, 2}), ints({0})); }, shape_is({0, 2})));
  rows.push_back(works("embedding: ids (2, 0)", [] { return embedding(input({4, 2}), ints({2, 0})); }, shape_is({2, 0, 2})));
  rows.push_back(works("embedding: rank 0 id", [] { return embedding(input({4, 2}), ints({})); }, shape_is({2})));
  rows.push_back(fails("embedding: empty table", [] { return embedding(input({0, 2}), ints({1})); }, "embedding"));

  // broadcasting helpers
  rows.push_back(fails("broadcast_shapes: (2, 3) and (3, 2)", [] { return Tensor::zeros(broadcast_shapes({2, 3}, {3, 2}, "op_x")); }, "op_x"));
  rows.push_back(works("broadcast_shapes: (0, 1) and (3)", [] { return Tensor::zeros(broadcast_shapes({0, 1}, {3}, "op_x")); }, shape_is({0, 3})));

  // attention ops: q (1, 2, 3, 2), k and v (1, 2, 4, 2)
  auto q = [] { return rnd({1, 2, 3, 2}, 1); };
  auto k = [] { return rnd({1, 2, 4, 2}, 2); };
  auto v = [] { return rnd({1, 2, 4, 2}, 3); };
  const Tensor kp = Tensor::from_bools({true, true, true, true}, {1, 4});  // every key padded
  rows.push_back(fails("sdpa: rank 3 q", [=] { return scaled_dot_product_attention(rnd({2, 3, 2}), k(), v(), no_mask()); }, "scaled_dot_product_attention"));
  rows.push_back(fails("sdpa: dh of q and k differ", [=] { return scaled_dot_product_attention(rnd({1, 2, 3, 3}), k(), v(), no_mask()); }, "scaled_dot_product_attention"));
  rows.push_back(fails("sdpa: S of k and v differ", [=] { return scaled_dot_product_attention(q(), k(), rnd({1, 2, 5, 2}), no_mask()); }, "scaled_dot_product_attention"));
  rows.push_back(fails("sdpa: heads differ", [=] { return scaled_dot_product_attention(q(), rnd({1, 1, 4, 2}), rnd({1, 1, 4, 2}), no_mask()); }, "scaled_dot_product_attention"));
  rows.push_back(fails("sdpa: float64 v", [=] { return scaled_dot_product_attention(q(), k(), Tensor::ones({1, 2, 4, 2}, DType::F64), no_mask()); }, "scaled_dot_product_attention"));
  rows.push_back(fails("sdpa: int32", [=] { return scaled_dot_product_attention(ints({1, 2, 3, 2}), ints({1, 2, 4, 2}), ints({1, 2, 4, 2}), no_mask()); }, "scaled_dot_product_attention"));
  rows.push_back(fails("sdpa: key padding (1, 3)", [=] { return scaled_dot_product_attention(q(), k(), v(), padding(Tensor::from_bools({true, false, false}, {1, 3}))); }, "scaled_dot_product_attention"));
  rows.push_back(fails("sdpa: float key padding", [=] { return scaled_dot_product_attention(q(), k(), v(), padding(input({1, 4}))); }, "scaled_dot_product_attention"));
  rows.push_back(works("sdpa: T = 0", [=] { return scaled_dot_product_attention(rnd({1, 2, 0, 2}), k(), v(), no_mask()); }, shape_is({1, 2, 0, 2})));
  rows.push_back(works("sdpa: S = 0 gives zeros", [=] { return scaled_dot_product_attention(q(), rnd({1, 2, 0, 2}), rnd({1, 2, 0, 2}), no_mask()); },
                       and_(shape_is({1, 2, 3, 2}), all_zero)));
  rows.push_back(works("sdpa: B = 0", [=] { return scaled_dot_product_attention(rnd({0, 2, 3, 2}), rnd({0, 2, 4, 2}), rnd({0, 2, 4, 2}), no_mask()); }, shape_is({0, 2, 3, 2})));
  rows.push_back(works("sdpa: dh = 0 scores every key 0, so attends uniformly", [=] { return scaled_dot_product_attention(rnd({1, 2, 3, 0}), rnd({1, 2, 4, 0}), v(), no_mask()); },
                       and_(shape_is({1, 2, 3, 2}), all_finite)));
  rows.push_back(works("sdpa: every key padded gives zeros", [=] { return scaled_dot_product_attention(q(), k(), v(), padding(kp)); }, all_zero));
  rows.push_back(works("sdpa: NaN in a key propagates", [=] { return scaled_dot_product_attention(q(), with({1, 2, 4, 2}, 0, kNaN), v(), no_mask()); }, has_nan));
  rows.push_back(works("sdpa: NaN in a padded key's value still reaches the output (0 * NaN)", [=] { return scaled_dot_product_attention(q(), k(), with({1, 2, 4, 2}, 6, kNaN), padding(Tensor::from_bools({false, false, false, true}, {1, 4}))); },
                       has_nan));
  rows.push_back(works("sdpa: +inf in a query is NaN (inf - inf in the softmax)", [=] { return scaled_dot_product_attention(with({1, 2, 3, 2}, 0, kInf), k(), v(), no_mask()); }, has_nan));
  rows.push_back(fails("sdpa: negative query_offset", [=] {
    AttentionMask m;
    m.causal = true;
    m.query_offset = -1;
    return scaled_dot_product_attention(q(), k(), v(), m);
  }, "scaled_dot_product_attention"));

  // relational attention (RCA form when q_rel, k_rel, wr are undefined); sv per position (B, H, S, dh)
  auto sv = [] { return rnd({1, 2, 4, 2}, 4); };
  auto qr = [] { return rnd({1, 3, 2, 3}, 5); };  // (B, T, d_r, dp)
  auto kr = [] { return rnd({1, 4, 2, 3}, 6); };
  auto wr = [] { return rnd({2, 2, 2}, 7); };     // (H, dh, d_r)
  rows.push_back(works("relational_attention: valid", [=] { return relational_attention(q(), k(), qr(), kr(), wr(), sv()); }, shape_is({1, 2, 3, 2})));
  rows.push_back(fails("relational_attention: only q_rel given", [=] { return relational_attention(q(), k(), qr(), Tensor(), Tensor(), sv()); }, "relational_attention"));
  rows.push_back(fails("relational_attention: k_rel S wrong", [=] { return relational_attention(q(), k(), qr(), rnd({1, 3, 2, 3}), wr(), sv()); }, "relational_attention"));
  rows.push_back(fails("relational_attention: wr (2, 2, 3)", [=] { return relational_attention(q(), k(), qr(), kr(), rnd({2, 2, 3}), sv()); }, "relational_attention"));
  rows.push_back(fails("relational_attention: no sv", [=] { return relational_attention(q(), k(), Tensor(), Tensor(), Tensor(), Tensor()); }, "relational_attention"));
  rows.push_back(fails("relational_attention: sv rank 2", [=] { return relational_attention(q(), k(), Tensor(), Tensor(), Tensor(), rnd({4, 2})); }, "relational_attention"));
  rows.push_back(fails("relational_attention: relative table of even length", [=] { return relational_attention(q(), k(), Tensor(), Tensor(), Tensor(), rnd({2, 4, 2})); }, "relational_attention"));
  rows.push_back(fails("relational_attention: float64 sv", [=] { return relational_attention(q(), k(), Tensor(), Tensor(), Tensor(), Tensor::ones({1, 2, 4, 2}, DType::F64)); }, "relational_attention"));
  rows.push_back(fails("relational_attention: d_r = 0", [=] { return relational_attention(q(), k(), rnd({1, 3, 0, 3}), rnd({1, 4, 0, 3}), rnd({2, 2, 0}), sv()); }, "relational_attention"));
  rows.push_back(works("relational_attention: S = 0 gives zeros", [=] { return relational_attention(q(), rnd({1, 2, 0, 2}), Tensor(), Tensor(), Tensor(), rnd({1, 2, 0, 2})); }, all_zero));
  rows.push_back(works("relational_attention: T = 0", [=] { return relational_attention(rnd({1, 2, 0, 2}), k(), rnd({1, 0, 2, 3}), kr(), wr(), sv()); }, shape_is({1, 2, 0, 2})));
  rows.push_back(works("relational_attention: NaN relation propagates", [=] { return relational_attention(q(), k(), with({1, 3, 2, 3}, 0, kNaN), kr(), wr(), sv()); }, has_nan));
  rows.push_back(works("relational_attention: all keys padded gives zeros", [=] { return relational_attention(q(), k(), qr(), kr(), wr(), sv(), padding(kp)); }, all_zero));

  // daGPAM: wneg (H, dh, dh), lam (H)
  rows.push_back(works("gpam_attention: valid", [=] { return gpam_attention(q(), k(), v(), rnd({2, 2, 2}), input({2}, 0.2), no_mask()); }, shape_is({1, 2, 3, 2})));
  rows.push_back(fails("gpam_attention: wneg (2, 2, 3)", [=] { return gpam_attention(q(), k(), v(), rnd({2, 2, 3}), input({2}, 0.2), no_mask()); }, "gpam_attention"));
  rows.push_back(fails("gpam_attention: lam (3)", [=] { return gpam_attention(q(), k(), v(), rnd({2, 2, 2}), input({3}), no_mask()); }, "gpam_attention"));
  rows.push_back(fails("gpam_attention: float64 lam", [=] { return gpam_attention(q(), k(), v(), rnd({2, 2, 2}), Tensor::ones({2}, DType::F64), no_mask()); }, "gpam_attention"));
  rows.push_back(fails("gpam_attention: rank 3 q", [=] { return gpam_attention(rnd({2, 3, 2}), k(), v(), rnd({2, 2, 2}), input({2}), no_mask()); }, "gpam_attention"));
  rows.push_back(works("gpam_attention: S = 0 gives zeros", [=] { return gpam_attention(q(), rnd({1, 2, 0, 2}), rnd({1, 2, 0, 2}), rnd({2, 2, 2}), input({2}, 0.2), no_mask()); }, all_zero));
  rows.push_back(works("gpam_attention: NaN lam propagates", [=] { return gpam_attention(q(), k(), v(), rnd({2, 2, 2}), with({2}, 1, kNaN), no_mask()); }, has_nan));
  rows.push_back(works("gpam_attention: all keys padded gives zeros", [=] { return gpam_attention(q(), k(), v(), rnd({2, 2, 2}), input({2}, 0.2), padding(kp)); }, all_zero));

  // differential attention: lam has one element
  rows.push_back(works("differential_attention: valid", [=] { return differential_attention(q(), k(), q(), k(), v(), input({1}, 0.3), no_mask()); }, shape_is({1, 2, 3, 2})));
  rows.push_back(fails("differential_attention: q2 differs from q1", [=] { return differential_attention(q(), k(), rnd({1, 2, 2, 2}), k(), v(), input({1}), no_mask()); }, "differential_attention"));
  rows.push_back(fails("differential_attention: lam (2)", [=] { return differential_attention(q(), k(), q(), k(), v(), input({2}), no_mask()); }, "differential_attention"));
  rows.push_back(fails("differential_attention: int32 lam", [=] { return differential_attention(q(), k(), q(), k(), v(), ints({1}), no_mask()); }, "differential_attention"));
  rows.push_back(works("differential_attention: S = 0 gives zeros", [=] {
    const Tensor k0 = rnd({1, 2, 0, 2});
    return differential_attention(q(), k0, q(), k0, rnd({1, 2, 0, 2}), input({1}), no_mask());
  }, all_zero));
  rows.push_back(works("differential_attention: NaN lam propagates", [=] { return differential_attention(q(), k(), q(), k(), v(), input({1}, kNaN), no_mask()); }, has_nan));
  return rows;
}

// ---- modules: d = 4 unless said otherwise, x (B, T, d) ----

std::vector<Case> module_rows() {
  std::vector<Case> rows;
  Generator gen(9);
  auto lin = std::make_shared<Linear>(3, 2, gen);
  rows.push_back(fails("Linear: in_features 4 for 3", [=] { return lin->forward(input({2, 4})); }, "Linear"));
  rows.push_back(fails("Linear: rank 0", [=] { return lin->forward(input({})); }, "Linear"));
  rows.push_back(fails("Linear: float64 input", [=] { return lin->forward(Tensor::ones({2, 3}, DType::F64)); }, "linear"));
  rows.push_back(fails("Linear: int32 input", [=] { return lin->forward(ints({2, 3})); }, "linear"));
  rows.push_back(works("Linear: empty batch", [=] { return lin->forward(input({0, 3})); }, shape_is({0, 2})));
  rows.push_back(works("Linear: rank 1", [=] { return lin->forward(input({3})); }, shape_is({2})));
  rows.push_back(works("Linear: NaN propagates", [=] { return lin->forward(with({2, 3}, 0, kNaN)); }, has_nan));
  rows.push_back(fails("Linear: zero features", [] { Generator gen(1); return Linear(0, 2, gen).forward(input({1, 0})); }, "Linear"));

  auto emb = std::make_shared<Embedding>(5, 3, gen);
  rows.push_back(fails("Embedding: id 5 of 5", [=] { return emb->forward(Tensor::from_ints({5}, {1})); }, "embedding"));
  rows.push_back(fails("Embedding: float ids", [=] { return emb->forward(input({2})); }, "embedding"));
  rows.push_back(works("Embedding: no ids", [=] { return emb->forward(ints({2, 0})); }, shape_is({2, 0, 3})));

  auto ln = std::make_shared<LayerNorm>(3);
  auto rms = std::make_shared<RMSNorm>(3);
  rows.push_back(fails("LayerNorm: last axis 4 for 3", [=] { return ln->forward(input({2, 4})); }, "LayerNorm"));
  rows.push_back(fails("RMSNorm: last axis 4 for 3", [=] { return rms->forward(input({2, 4})); }, "RMSNorm"));
  rows.push_back(works("LayerNorm: empty batch", [=] { return ln->forward(input({0, 3})); }, shape_is({0, 3})));
  rows.push_back(works("RMSNorm: NaN propagates", [=] { return rms->forward(with({2, 3}, 1, kNaN)); }, at1(kNaN)));
  rows.push_back(fails("LayerNorm: zero features", [] { return LayerNorm(0).forward(input({1, 0})); }, "LayerNorm"));

  rows.push_back(fails("Dropout: p = 1", [] { return Dropout(1.0).forward(input({2})); }, "Dropout"));
  auto drop = std::make_shared<Dropout>(0.5, 1);
  rows.push_back(works("Dropout: empty", [=] { return drop->forward(input({0, 3})); }, shape_is({0, 3})));

  for (FFNKind kind : {FFNKind::ReLU, FFNKind::GELU, FFNKind::SwiGLU}) {
    auto ffn = std::make_shared<FeedForward>(4, 8, kind, gen);
    rows.push_back(fails("FeedForward: width 3 for 4", [=] { return ffn->forward(input({2, 3})); }, "Linear"));
    rows.push_back(works("FeedForward: empty batch", [=] { return ffn->forward(input({0, 2, 4})); }, shape_is({0, 2, 4})));
    rows.push_back(works("FeedForward: NaN propagates", [=] { return ffn->forward(with({2, 4}, 0, kNaN)); }, has_nan));
  }

  auto mha = std::make_shared<MultiHeadAttention>(4, 2, gen);
  const Tensor x = rnd({2, 3, 4}, 11), y = rnd({2, 5, 4}, 12);
  rows.push_back(fails("MultiHeadAttention: 3 heads for d = 4", [] { Generator gen(1); return MultiHeadAttention(4, 3, gen).forward(input({1, 2, 4}), input({1, 2, 4})); }, "MultiHeadAttention"));
  rows.push_back(fails("MultiHeadAttention: rank 2 x", [=] { return mha->forward(input({3, 4}), input({3, 4})); }, "MultiHeadAttention"));
  rows.push_back(fails("MultiHeadAttention: width 3", [=] { return mha->forward(input({2, 3, 3}), y); }, "MultiHeadAttention"));
  rows.push_back(fails("MultiHeadAttention: batch of y differs", [=] { return mha->forward(x, rnd({3, 5, 4})); }, "MultiHeadAttention"));
  rows.push_back(fails("MultiHeadAttention: float64 x", [=] { return mha->forward(Tensor::ones({2, 3, 4}, DType::F64), y); }, "linear"));
  rows.push_back(fails("MultiHeadAttention: padding (2, 3) for S = 5", [=] { return mha->forward(x, y, padding(Tensor::from_bools(std::vector<bool>(6, false), {2, 3}))); }, "scaled_dot_product_attention"));
  rows.push_back(works("MultiHeadAttention: T = 0", [=] { return mha->forward(rnd({2, 0, 4}), y); }, shape_is({2, 0, 4})));
  rows.push_back(works("MultiHeadAttention: S = 0 is attention to nothing", [=] { return mha->forward(x, rnd({2, 0, 4})); }, shape_is({2, 3, 4})));
  rows.push_back(works("MultiHeadAttention: NaN in one batch item stays there", [=] { return mha->forward(with({2, 3, 4}, 0, kNaN), with({2, 3, 4}, 0, kNaN)); },
                       [](const Tensor& t) { return has_nan(slice(t, 0, 0, 1)) && !has_nan(slice(t, 0, 1, 2)); }));
  rows.push_back(fails("MultiHeadAttention: cache batch changes", [] { Generator gen(1);
    MultiHeadAttention m(4, 2, gen);
    KVCache cache;
    AttentionMask causal;
    causal.causal = true;
    m.forward(input({2, 1, 4}), input({2, 1, 4}), causal, &cache);
    return m.forward(input({3, 1, 4}), input({3, 1, 4}), causal, &cache);
  }, "KVCache: this step's keys float32(3, 2, 1, 2) do not continue the cached float32(2, 2, 1, 2)"));

  RelationalAttentionOptions ra_options;
  auto ra = std::make_shared<RelationalAttention>(4, 2, gen, ra_options);
  auto pos = std::make_shared<PositionalSymbols>(PositionalSymbolsOptions().with_d(4).with_max_len(3), gen);
  rows.push_back(fails("RelationalAttention: width 3", [=] { return ra->forward(input({2, 3, 3}), pos->forward(x)); }, "RelationalAttention"));
  rows.push_back(fails("RelationalAttention: symbols (3, 5)", [=] { return ra->forward(x, Symbols{rnd({3, 5})}); }, "Linear"));
  rows.push_back(fails("RelationalAttention: no symbols", [=] { return ra->forward(x, Symbols{}); }, "RelationalAttention: symbols must be"));
  rows.push_back(works("RelationalAttention: T = 0", [=] { return ra->forward(rnd({2, 0, 4}), Symbols{rnd({0, 4})}); }, shape_is({2, 0, 4})));
  rows.push_back(fails("RelationalAttention: cache batch changes", [=] {
    RelationalKVCache cache;
    ra->forward(input({2, 1, 4}), pos->forward(input({2, 1, 4})), {}, &cache);
    return ra->forward(input({3, 1, 4}), pos->forward(input({3, 1, 4}), 1), {}, &cache);
  }, "RelationalKVCache: this step's keys k_attn float32(3, 2, 1, 2) do not continue the cached float32(2, 2, 1, 2)"));
  rows.push_back(fails("RelationalAttention: cache of a layer with other heads", [=] { Generator gen(1);
    RelationalAttention one_head(4, 1, gen);
    RelationalKVCache cache;
    ra->forward(input({2, 1, 4}), pos->forward(input({2, 1, 4})), {}, &cache);
    return one_head.forward(input({2, 1, 4}), pos->forward(input({2, 1, 4}), 1), {}, &cache);
  }, "RelationalKVCache: this step's keys k_attn float32(2, 1, 1, 4) do not continue the cached float32(2, 2, 1, 2)"));
  rows.push_back(fails("PositionalSymbols: offset -1", [=] { return pos->forward(rnd({1, 2, 4}), -1).s; }, "PositionalSymbols: positions -1 to 0"));
  rows.push_back(fails("PositionalSymbols: T = 4 > max_len 3", [=] { return pos->forward(rnd({1, 4, 4})).s; }, "PositionalSymbols"));
  rows.push_back(fails("PositionalSymbols: width 3", [=] { return pos->forward(rnd({1, 2, 3})).s; }, "PositionalSymbols"));
  rows.push_back(fails("PositionRelativeSymbols: negative max offset", [] { Generator gen(1); return PositionRelativeSymbols(PositionRelativeSymbolsOptions().with_d(4).with_max_offset(-1), gen).symbols; }, "PositionRelativeSymbols"));
  rows.push_back(fails("SymbolicAttention: 3 heads for d = 4", [] { Generator gen(1); return SymbolicAttention(SymbolicAttentionOptions().with_d(4).with_n_symbols(2).with_heads(3), gen).symbols; }, "SymbolicAttention"));
  auto symbolic = std::make_shared<SymbolicAttention>(SymbolicAttentionOptions().with_d(4).with_n_symbols(3).with_heads(2), gen);
  rows.push_back(fails("SymbolicAttention: rank 2 x", [=] { return symbolic->forward(rnd({3, 4})).s; }, "SymbolicAttention"));
  rows.push_back(works("SymbolicAttention: empty batch", [=] { return symbolic->forward(rnd({0, 3, 4})).s; }, shape_is({0, 3, 4})));

  auto dual = std::make_shared<DualAttention>(DualAttentionOptions().with_d(4).with_n_sa(1).with_n_ra(1), gen);
  rows.push_back(fails("DualAttention: no heads", [] { Generator gen(1); return DualAttention(DualAttentionOptions().with_d(4).with_n_sa(0).with_n_ra(0), gen).forward(input({1, 2, 4}), Symbols{}); }, "DualAttention"));
  rows.push_back(fails("DualAttention: width 3", [=] { return dual->forward(input({2, 3, 3}), pos->forward(x)); }, "DualAttention"));
  rows.push_back(works("DualAttention: NaN propagates", [=] { return dual->forward(with({2, 3, 4}, 0, kNaN), pos->forward(x)); }, has_nan));

  auto gp = std::make_shared<GPAMAttention>(4, 2, gen);
  rows.push_back(fails("GPAMAttention: width 3", [=] { return gp->forward(input({2, 3, 3}), y); }, "GPAMAttention"));
  rows.push_back(fails("GPAMAttention: trainable lam outside (0, lam_max)", [] { Generator gen(1); return GPAMAttention(4, 2, gen, GPAMOptions().with_lam(1.5).with_trainable(true)).lam(); }, "GPAMAttention"));
  rows.push_back(works("GPAMAttention: S = 0", [=] { return gp->forward(x, rnd({2, 0, 4})); }, shape_is({2, 3, 4})));

  auto diff = std::make_shared<DifferentialAttention>(DifferentialAttentionOptions().with_d(8).with_heads(2).with_layer(0), gen);
  rows.push_back(fails("DifferentialAttention: d = 6 for 2 heads of two halves", [] { Generator gen(1); return DifferentialAttention(DifferentialAttentionOptions().with_d(6).with_heads(2).with_layer(0), gen).lam(); }, "DifferentialAttention"));
  rows.push_back(fails("DifferentialAttention: width 4 for 8", [=] { return diff->forward(x, x); }, "DifferentialAttention"));
  rows.push_back(works("DifferentialAttention: T = 0", [=] { return diff->forward(rnd({2, 0, 8}), rnd({2, 3, 8})); }, shape_is({2, 0, 8})));

  auto sin = std::make_shared<SinusoidalPositionalEncoding>(3, 4);
  auto learned = std::make_shared<LearnedPositionalEncoding>(3, 4, gen);
  rows.push_back(fails("SinusoidalPositionalEncoding: T = 4 > 3", [=] { return sin->forward(input({1, 4, 4})); }, "SinusoidalPositionalEncoding"));
  rows.push_back(fails("SinusoidalPositionalEncoding: width 5", [=] { return sin->forward(input({1, 2, 5})); }, "SinusoidalPositionalEncoding"));
  rows.push_back(fails("LearnedPositionalEncoding: rank 1", [=] { return learned->forward(input({4})); }, "LearnedPositionalEncoding"));
  rows.push_back(works("LearnedPositionalEncoding: T = 0", [=] { return learned->forward(input({2, 0, 4})); }, shape_is({2, 0, 4})));

  // diagnostics return doubles; wrapped as scalars
  auto scalar = [](double v) { return Tensor::scalar(v, DType::F64); };
  rows.push_back(fails("relative_residual: rank 1", [=] { return scalar(relative_residual(input({4}))); }, "relative_residual"));
  rows.push_back(works("relative_residual: NaN propagates", [=] { return scalar(relative_residual(with({3, 4}, 0, kNaN))); }, values({kNaN})));
  rows.push_back(works("relative_residual: zero matrix is 0", [=] { return scalar(relative_residual(input({3, 4}, 0.0))); }, values({0})));
  rows.push_back(fails("mean_cosine_similarity: one token", [=] { return scalar(mean_cosine_similarity(input({1, 4}))); }, "mean_cosine_similarity"));
  rows.push_back(works("mean_cosine_similarity: NaN propagates", [=] { return scalar(mean_cosine_similarity(with({3, 4}, 0, kNaN))); }, values({kNaN})));
  return rows;
}

}  // namespace

TEST_CASE("bad input: every op rejects or handles it by the documented rule", "[bad_input]") {
  for (const Case& c : op_rows()) run_case(c);
}

TEST_CASE("bad input: every module rejects or handles it by the documented rule", "[bad_input]") {
  for (const Case& c : module_rows()) run_case(c);
}
