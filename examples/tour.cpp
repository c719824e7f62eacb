// A guided tour of attention and autograd on numbers small enough to check by hand (`make tour`).
//
// Every tensor below comes from the library's real ops (ops/sdpa.h, ops/relational_attention.h,
// ops/gpam_attention.h, ops/differential_attention.h, the tape of autograd/graph.h), so the tour
// proves the code it explains. The intermediates an op does not expose (the scores Z, dP, dZ,
// abar, Ap and An, ...) are recomputed here with plain loops, beside the formula they follow,
// and checked against the op. The math, in words: docs/attention.md, docs/relational.md,
// docs/gpam.md, docs/differential.md, docs/autograd.md; the names: docs/glossary.md.
//
// Usage: build/bin/tour [--out DIR]   (writes DIR/tour_tape.dot, and tour_tape.svg when
// Graphviz's `dot` is installed; DIR defaults to the current folder). Exits 1 when a recomputed
// value disagrees with the op's.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <vector>
#include "nn/attention.h"
#include "nn/positional.h"
#include "ops/differential_attention.h"
#include "ops/gpam_attention.h"
#include "ops/ops.h"
#include "ops/relational_attention.h"
#include "ops/sdpa.h"

using namespace dl;

namespace {

// ---- plain-loop matrices: the explanation, written the obvious way ----

using Mat = std::vector<std::vector<double>>;  // rows of numbers
const double kInf = std::numeric_limits<double>::infinity();

Mat zeros(size_t rows, size_t cols) { return Mat(rows, std::vector<double>(cols, 0.0)); }

Mat transposed(const Mat& a) {
  Mat t = zeros(a[0].size(), a.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[0].size(); ++j) t[j][i] = a[i][j];
  return t;
}

Mat product(const Mat& a, const Mat& b) {  // (n, k) x (k, m)
  Mat c = zeros(a.size(), b[0].size());
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < b[0].size(); ++j)
      for (size_t k = 0; k < b.size(); ++k) c[i][j] += a[i][k] * b[k][j];
  return c;
}

Mat scaled(const Mat& a, double s) {
  Mat c = a;
  for (auto& row : c)
    for (double& v : row) v *= s;
  return c;
}

Mat combine(const Mat& a, double sa, const Mat& b, double sb) {  // sa a + sb b
  Mat c = a;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[0].size(); ++j) c[i][j] = sa * a[i][j] + sb * b[i][j];
  return c;
}

// Z = Q K^T / sqrt(dh) + M, with M = -inf above the diagonal when causal
Mat scores(const Mat& q, const Mat& k, bool causal) {
  Mat z = scaled(product(q, transposed(k)), 1 / std::sqrt(double(q[0].size())));
  for (size_t i = 0; i < z.size(); ++i)
    for (size_t j = 0; j < z[0].size(); ++j)
      if (causal && j > i) z[i][j] = -kInf;
  return z;
}

Mat softmax_rows(const Mat& z) {  // subtract the row max, exponentiate, normalise
  Mat p = z;
  for (auto& row : p) {
    double m = -kInf, sum = 0;
    for (double v : row) m = std::max(m, v);
    for (double& v : row) sum += (v = std::exp(v - m));
    for (double& v : row) v /= sum;
  }
  return p;
}

// dZ = P * (dP - rowsum(dP * P))
Mat softmax_backward(const Mat& p, const Mat& dp) {
  Mat dz = p;
  for (size_t i = 0; i < p.size(); ++i) {
    double rowsum = 0;
    for (size_t j = 0; j < p[0].size(); ++j) rowsum += dp[i][j] * p[i][j];
    for (size_t j = 0; j < p[0].size(); ++j) dz[i][j] = p[i][j] * (dp[i][j] - rowsum);
  }
  return dz;
}

// ---- between tensors and matrices ----

// The last two axes of a tensor whose leading axes are all 1, e.g. (1, 1, T, dh) -> (T, dh).
Mat mat(const Tensor& t) {
  const int64_t rows = t.size(-2), cols = t.size(-1);
  const std::vector<double> v = t.to_vector();
  Mat m = zeros(rows, cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) m[i][j] = v[i * cols + j];
  return m;
}

// A float64 tensor of shape `shape` (leading axes 1) holding the matrix m.
Tensor tensor(const Mat& m, Shape shape, bool requires_grad = false) {
  std::vector<double> v;
  for (const auto& row : m) v.insert(v.end(), row.begin(), row.end());
  Tensor t = Tensor::from_vector(v, shape, DType::F64);
  if (requires_grad) t.requires_grad_();
  return t;
}

Shape head_shape(const Mat& m) { return {1, 1, int64_t(m.size()), int64_t(m[0].size())}; }

// ---- printing ----

int g_failures = 0;

void section(const char* title) { std::printf("\n==== %s ====\n", title); }

void show(const std::string& name, const std::string& formula, const Mat& m) {
  std::printf("%-6s = %-40s (%zu x %zu)\n", name.c_str(), formula.c_str(), m.size(), m[0].size());
  for (const auto& row : m) {
    std::printf("        [");
    for (double v : row) {
      if (std::isinf(v)) std::printf(" %8s", v < 0 ? "-inf" : "inf");
      else std::printf(" %8.4f", v);
    }
    std::printf(" ]\n");
  }
}

// Prints that the op's value equals the loop's, or counts a failure.
void agree(const std::string& what, const Mat& op, const Mat& loops) {
  double worst = 0;
  for (size_t i = 0; i < op.size(); ++i)
    for (size_t j = 0; j < op[0].size(); ++j) worst = std::max(worst, std::abs(op[i][j] - loops[i][j]));
  const bool ok = worst < 1e-12;
  if (!ok) ++g_failures;
  std::printf("        %s: the op and the loops %s (largest difference %.1e)\n", what.c_str(),
              ok ? "agree" : "DISAGREE", worst);
}

std::string row_sums(const Mat& a) {
  std::string s;
  char buf[32];
  for (const auto& row : a) {
    double sum = 0;
    for (double v : row) sum += v;
    std::snprintf(buf, sizeof buf, "%s%.4f", s.empty() ? "" : ", ", sum);
    s += buf;
  }
  return s;
}

// ---- the tiny inputs: T = 3 decoder positions, S = 4 encoder positions, dh = 2 ----

const Mat kX = {{1.0, 0.0}, {0.5, 1.0}, {-1.0, 0.5}};                  // a decoder stream (T, dh)
const Mat kMemory = {{0.0, 1.0}, {1.0, 1.0}, {-0.5, 0.0}, {1.0, -1.0}};  // an encoder output (S, dh)
const Mat kDO = {{1.0, 0.0}, {0.0, 1.0}, {0.5, 0.0}};                  // a made-up incoming dO

// 1. One attention op, three uses (Q = K = V = the stream itself, no projections, to keep the
// numbers few).
void three_uses() {
  section("1. The three attention layers of the original Transformer");
  std::printf("Q = K = V = x here (the layers' projections Wq, Wk, Wv left out).\n");
  show("x", "the decoder stream", kX);
  show("memory", "the encoder output", kMemory);
  struct Use { const char* title; const Mat& keys; bool causal; };
  for (const Use& use : {Use{"global self-attention (encoder): every query sees every key", kX, false},
                         Use{"causal self-attention (decoder): query i sees keys j <= i", kX, true},
                         Use{"cross-attention (decoder -> encoder): queries from x, keys and values from memory", kMemory, false}}) {
    std::printf("\n-- %s\n", use.title);
    AttentionMask mask;
    mask.causal = use.causal;
    Tensor probs;
    const Tensor o = scaled_dot_product_attention(tensor(kX, head_shape(kX)), tensor(use.keys, head_shape(use.keys)),
                                                  tensor(use.keys, head_shape(use.keys)), mask, &probs);
    Mat m = zeros(kX.size(), use.keys.size());
    for (size_t i = 0; i < m.size(); ++i)
      for (size_t j = 0; j < m[0].size(); ++j)
        if (use.causal && j > i) m[i][j] = -kInf;
    show("M", use.causal ? "-inf where j > i (the future)" : "no mask", m);
    const Mat p = softmax_rows(scores(kX, use.keys, use.causal));
    show("P", "softmax_j(Q K^T / sqrt(dh) + M)", mat(probs));
    agree("P", mat(probs), p);
    show("O", "P V", mat(o));
    agree("O", mat(o), product(p, use.keys));
  }
}

// 2. Sinusoidal positions, from the module, beside the formula.
void positions() {
  section("2. Sinusoidal position values, T = 4, d = 4");
  const int64_t T = 4, d = 4;
  SinusoidalPositionalEncoding pe(T, d);
  const Mat table = mat(pe.encoding(T, DType::F64));
  show("PE", "sin(pos / 10000^(2i/d)), cos(...)", table);
  Mat loops = zeros(T, d);
  for (int64_t pos = 0; pos < T; ++pos)
    for (int64_t i = 0; 2 * i < d; ++i) {
      loops[pos][2 * i] = std::sin(pos / std::pow(10000.0, 2.0 * i / d));
      loops[pos][2 * i + 1] = std::cos(pos / std::pow(10000.0, 2.0 * i / d));
    }
  agree("PE", table, loops);
  std::printf("        columns 0-1 turn fast with pos (fine position), columns 2-3 slowly (coarse)\n");
}

// 3. Heads: a view that regroups the columns, and its inverse.
void heads() {
  section("3. The multi-head split and concat, B = 1, T = 3, d = 4, H = 2, dh = 2");
  const Mat x = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
  const Tensor t = tensor(x, {1, 3, 4});
  const Tensor split = split_heads(t, 2);
  std::printf("x %s -> split_heads -> %s: head h holds columns [h dh, (h + 1) dh)\n",
              shape_str(t.shape()).c_str(), shape_str(split.shape()).c_str());
  for (int64_t h = 0; h < 2; ++h) show("head " + std::to_string(h), "x[:, " + std::to_string(2 * h) + ":" +
                                       std::to_string(2 * h + 2) + "]", mat(slice(split, 1, h, h + 1)));
  const Tensor merged = merge_heads(split);
  std::printf("merge_heads -> %s (concat_h O_h, here of the split itself)\n", shape_str(merged.shape()).c_str());
  agree("concat(split(x)) = x", mat(merged), x);
}

// 4. Scaled dot-product attention forward and backward, and a finite-difference check.
void sdpa_forward_backward() {
  section("4. Scaled dot-product attention: forward and backward (causal, T = S = 3, dh = 2)");
  const Mat q = kX, k = {{0.5, -1.0}, {1.0, 0.5}, {0.0, 1.0}}, v = {{1.0, 2.0}, {3.0, 4.0}, {-1.0, 0.0}};
  AttentionMask mask;
  mask.causal = true;
  Tensor Q = tensor(q, head_shape(q), true), K = tensor(k, head_shape(k), true), V = tensor(v, head_shape(v), true);
  const Tensor O = scaled_dot_product_attention(Q, K, V, mask);
  O.backward(tensor(kDO, head_shape(kDO)));  // dO given: the loss is L = sum(dO * O)

  const double s = 1 / std::sqrt(2.0);
  std::printf("forward\n");
  const Mat z = scores(q, k, true), p = softmax_rows(z), o = product(p, v);
  show("Z", "Q K^T / sqrt(dh) + M   (scores)", z);
  show("P", "softmax_j(Z)", p);
  show("O", "P V", o);
  agree("O", mat(O), o);
  std::printf("backward, from a given dO\n");
  show("dO", "given", kDO);
  const Mat dv = product(transposed(p), kDO), dp = product(kDO, transposed(v));
  const Mat dz = softmax_backward(p, dp);
  const Mat dq = scaled(product(dz, k), s), dk = scaled(product(transposed(dz), q), s);
  show("dV", "P^T dO", dv);
  agree("dV", mat(V.grad()), dv);
  show("dP", "dO V^T", dp);
  show("dZ", "P * (dP - rowsum(dP * P))", dz);
  std::printf("        row 0 of dZ is 0: query 0 sees one key, whose weight is 1 whatever its score\n");
  show("dQ", "dZ K / sqrt(dh)", dq);
  agree("dQ", mat(Q.grad()), dq);
  show("dK", "dZ^T Q / sqrt(dh)", dk);
  agree("dK", mat(K.grad()), dk);

  // dL/dq[1][0] by central differences: L(q) = sum(dO * O(q)), moved by +-h in that entry only.
  auto loss = [&](double shift) {
    NoGradGuard no_grad;
    Mat qs = q;
    qs[1][0] += shift;
    const Mat out = mat(scaled_dot_product_attention(tensor(qs, head_shape(qs)), tensor(k, head_shape(k)),
                                                     tensor(v, head_shape(v)), mask));
    double l = 0;
    for (size_t i = 0; i < out.size(); ++i)
      for (size_t j = 0; j < out[0].size(); ++j) l += kDO[i][j] * out[i][j];
    return l;
  };
  const double h = 1e-6, fd = (loss(h) - loss(-h)) / (2 * h), bw = Q.grad().at({0, 0, 1, 0});
  const double rel = std::abs(fd - bw) / std::max(std::abs(fd), 1e-12);
  const bool ok = rel < 1e-6;
  if (!ok) ++g_failures;
  std::printf("finite difference: dL/dQ[1][0] = (L(q + h) - L(q - h)) / 2h = %.8f, backward %.8f, "
              "relative error %.1e: %s\n", fd, bw, rel, ok ? "agree" : "DISAGREE");
}

// 5. Relational attention: what the op keeps (alpha, r) and what it computes from them.
void relational() {
  section("5. Relational attention, one head, d_r = 1 relation, dp = dh = 2, symmetric relations");
  const Mat qa = kX, ka = {{1.0, 1.0}, {0.0, -1.0}, {0.5, 0.5}};
  const Mat rel = {{1.0, 0.0}, {0.0, 1.0}, {1.0, 1.0}};    // q_rel = k_rel (symmetric)
  const Mat wr = {{1.0}, {-0.5}};                           // wr[0]: (dh, d_r), so Wr = wr[0]^T
  const Mat sv = {{0.1, 0.0}, {0.0, 0.1}, {0.1, 0.1}};     // symbol values s_j Ws (S, dh)
  const Tensor q_rel = tensor(rel, {1, 3, 1, 2});
  Tensor alpha, r;
  const Tensor a = relational_attention(tensor(qa, head_shape(qa)), tensor(ka, head_shape(ka)), q_rel, q_rel,
                                        tensor(wr, {1, 2, 1}), tensor(sv, head_shape(sv)), AttentionMask(), &alpha, &r);
  const Mat al = softmax_rows(scores(qa, ka, false));
  show("alpha", "softmax_j(q_attn k_attn^T / sqrt(dh))", mat(alpha));
  agree("alpha", mat(alpha), al);
  const Mat rr = scaled(product(rel, transposed(rel)), 1 / std::sqrt(2.0));  // r_ij1
  const Mat r_op = mat(reshape(r.contiguous(), {3, 3}));  // (B, T, S, d_r) = (1, 3, 3, 1) as (T, S)
  show("r", "<q_rel_i, k_rel_j> / sqrt(dp)   (l = 1)", r_op);
  agree("r", r_op, rr);
  agree("r = r^T (symmetric: k_rel = q_rel, a similarity kernel)", r_op, transposed(r_op));
  show("sv", "s Ws, positional symbols (S, dh)", sv);
  Mat ab = zeros(3, 1);  // abar_i = sum_j alpha_ij r_ij
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < 3; ++j) ab[i][0] += al[i][j] * rr[i][j];
  show("abar", "sum_j alpha_ij r_ij", ab);
  const Mat out = combine(product(ab, transposed(wr)), 1, product(al, sv), 1);
  show("a", "abar Wr + alpha sv", mat(a));
  agree("a", mat(a), out);

  // Position-relative symbols, D = 1: the symbol of the pair (i, j) is row clip(j - i, -1, 1) + 1
  // of a 3-row table, so the weights of the symbol values are bins, not alpha.
  std::printf("\n-- position-relative symbols, D = 1: sv is a table of 2D + 1 = 3 rows (offset -1, 0, +1)\n");
  const Mat table = {{1.0, 0.0}, {0.0, 0.0}, {0.0, 1.0}};  // "the key is before / here / after"
  const Tensor a_rel = relational_attention(tensor(qa, head_shape(qa)), tensor(ka, head_shape(ka)), q_rel, q_rel,
                                            tensor(wr, {1, 2, 1}), tensor(table, {1, 3, 2}));
  Mat bins = zeros(3, 3);  // bins_im = sum of alpha_ij over the j with clip(j - i, -1, 1) + 1 = m
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) bins[i][std::clamp(j - i, -1, 1) + 1] += al[i][j];
  show("bins", "sum of alpha_ij per offset bin", bins);
  show("a", "abar Wr + bins sv", mat(a_rel));
  agree("a", mat(a_rel), combine(product(ab, transposed(wr)), 1, product(bins, table), 1));
}

// 6. daGPAM: a second, negative attention matrix; rows still sum to 1.
void gpam() {
  section("6. daGPAM, one head, lam = 0.5: A = (1 + lam) Ap - lam An");
  const Mat q = {{2.0, 0.5}, {1.0, 2.0}, {-1.0, 1.5}}, k = {{2.0, 0.0}, {0.0, 2.0}, {-2.0, -1.0}};
  const Mat v = {{1.0, 0.0}, {0.0, 1.0}, {1.0, 1.0}}, wneg = {{-1.0, 0.1}, {0.0, -1.0}};
  const double lam = 0.5;
  Tensor A;
  const Tensor o = gpam_attention(tensor(q, head_shape(q)), tensor(k, head_shape(k)), tensor(v, head_shape(v)),
                                  tensor(wneg, {1, 2, 2}), Tensor::full({1}, lam, DType::F64), AttentionMask(), &A);
  Mat relu_q = q;
  for (auto& row : relu_q)
    for (double& x : row) x = std::max(x, 0.0);
  const Mat qn = product(relu_q, wneg);
  const Mat ap = softmax_rows(scores(q, k, false)), an = softmax_rows(scores(qn, k, false));
  show("Qn", "relu(Qp) Wneg", qn);
  show("Ap", "softmax(Qp K^T / sqrt(dh))", ap);
  show("An", "softmax(Qn K^T / sqrt(dh))", an);
  const Mat a = combine(ap, 1 + lam, an, -lam);
  show("A", "(1 + lam) Ap - lam An", mat(A));
  agree("A", mat(A), a);
  int negative = 0;
  for (const auto& row : a)
    for (double x : row) negative += x < 0;
  std::printf("        %d negative entries; row sums %s (each (1 + lam) - lam = 1)\n", negative, row_sums(a).c_str());
  show("O", "A V", mat(o));
  agree("O", mat(o), product(a, v));
}

// 7. Differential attention: the difference of two softmaxes.
void differential() {
  section("7. Differential attention, one head, lam = 0.5: A = P1 - lam P2");
  const Mat q1 = kX, k1 = {{1.0, 0.0}, {0.0, 1.0}, {1.0, 1.0}};
  const Mat q2 = {{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}}, k2 = {{1.0, 1.0}, {1.0, 1.0}, {1.0, 1.0}};
  const Mat v = {{1.0, 0.0, 0.0, 1.0}, {0.0, 1.0, 1.0, 0.0}, {1.0, 1.0, 0.0, 0.0}};  // (S, 2 dh)
  const double lam = 0.5;
  Tensor A;
  const Tensor o = differential_attention(tensor(q1, head_shape(q1)), tensor(k1, head_shape(k1)),
                                          tensor(q2, head_shape(q2)), tensor(k2, head_shape(k2)),
                                          tensor(v, head_shape(v)), Tensor::full({1}, lam, DType::F64),
                                          AttentionMask(), &A);
  const Mat p1 = softmax_rows(scores(q1, k1, false)), p2 = softmax_rows(scores(q2, k2, false));
  show("P1", "softmax(Q1 K1^T / sqrt(dh))", p1);
  show("P2", "softmax(Q2 K2^T / sqrt(dh))   (uniform: the 'noise')", p2);
  const Mat a = combine(p1, 1, p2, -lam);
  show("A", "P1 - lam P2", mat(A));
  agree("A", mat(A), a);
  std::printf("        row sums %s (each 1 - lam); the module then applies (1 - lam_init) RMSNorm per head\n",
              row_sums(a).c_str());
  show("O", "A V", mat(o));
  agree("O", mat(o), product(a, v));
}

// 8. The tape of a tiny model, as Graphviz dot.
void tape(const std::string& dir) {
  section("8. The tape of a tiny model: one causal attention layer and a loss");
  Generator gen(0);
  const Tensor x = randn({1, 3, 4}, gen, 0.0, 1.0, DType::F64);  // B = 1, T = 3, d = 4
  Tensor wq = randn({4, 4}, gen, 0.0, 0.5, DType::F64), wk = randn({4, 4}, gen, 0.0, 0.5, DType::F64);
  Tensor wv = randn({4, 4}, gen, 0.0, 0.5, DType::F64);
  for (Tensor* w : {&wq, &wk, &wv}) w->requires_grad_();
  AttentionMask mask;
  mask.causal = true;
  const Tensor o = scaled_dot_product_attention(split_heads(matmul(x, wq), 2), split_heads(matmul(x, wk), 2),
                                                split_heads(matmul(x, wv), 2), mask);
  const Tensor heads_out = merge_heads(o);                       // (1, 3, 4)
  const Tensor loss = mean(mul(heads_out, heads_out));           // used twice: its gradients add
  const std::string dot = dir + "/tour_tape.dot", svg = dir + "/tour_tape.svg";
  std::ofstream file(dot);
  file << to_dot(loss);
  if (!file.flush()) throw Error("tour: cannot write " + dot + " (does the folder exist?)");
  std::printf("loss = mean(attention(x)^2) = %.6f; its tape (one box per op, one ellipse per leaf) -> %s\n",
              loss.item(), dot.c_str());
  loss.backward();
  std::printf("after backward: dL/dWq has shape %s; the mul's two inputs are one tensor, so the walk\n"
              "summed both gradients before running merge_heads' backward; the graph is freed\n",
              shape_str(wq.grad().shape()).c_str());
  if (std::system("command -v dot >/dev/null 2>&1") == 0 &&
      std::system(("dot -Tsvg '" + dot + "' -o '" + svg + "'").c_str()) == 0)
    std::printf("drawn with Graphviz -> %s\n", svg.c_str());
  else
    std::printf("(install graphviz and run `dot -Tsvg %s -o %s` to draw it)\n", dot.c_str(), svg.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = ".";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--out" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: tour [--out DIR]   (unknown argument '%s')\n", arg.c_str());
      return 2;
    }
  }
  try {
    std::printf("A tour of attention and autograd (docs/ explains every line; names in docs/glossary.md).\n");
    three_uses();
    positions();
    heads();
    sdpa_forward_backward();
    relational();
    gpam();
    differential();
    tape(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tour: %s\n", e.what());
    return 1;
  }
  std::printf("\n%s\n", g_failures == 0 ? "every value recomputed by hand agrees with the library's ops"
                                        : "SOME VALUES DISAGREE (see above)");
  return g_failures == 0 ? 0 : 1;
}
