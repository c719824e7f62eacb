#include "examples/common/objectives.h"

#include <algorithm>
#include "examples/common/sequence_tasks.h"
#include "ops/ops.h"

namespace dl::train {

using tasks::Split;

std::vector<int32_t> argmax_rows(const Tensor& logits) {
  const int64_t C = logits.size(-1);
  const std::vector<double> v = logits.to_vector();
  std::vector<int32_t> out(v.size() / C);
  for (size_t r = 0; r < out.size(); ++r)
    out[r] = static_cast<int32_t>(std::max_element(v.begin() + r * C, v.begin() + (r + 1) * C) - (v.begin() + r * C));
  return out;
}

namespace {

// The fraction of examples (rows of target (B, ...)) that predicted (row-major) gets right at
// every position whose target is not pad (-1: every position counts).
double sequence_accuracy(const std::vector<int32_t>& predicted, const Tensor& target, int32_t pad) {
  const int64_t B = target.size(0), T = target.numel() / B;
  const std::vector<double> y = target.to_vector();
  int64_t right = 0;
  for (int64_t b = 0; b < B; ++b) {
    bool ok = true;
    for (int64_t t = 0; t < T; ++t) {
      const int32_t want = static_cast<int32_t>(y[b * T + t]);
      ok = ok && (want == pad || predicted[b * T + t] == want);
    }
    right += ok;
  }
  return static_cast<double>(right) / B;
}

}  // namespace

std::pair<Tensor, double> ClassifierObjective::train_batch(const Split& batch) {
  const Tensor logits = model_.forward(batch.x);  // (B, C)
  return {cross_entropy(logits, batch.y), sequence_accuracy(argmax_rows(logits), batch.y, -1)};
}

Score ClassifierObjective::eval_batch(const Split& batch) {
  const auto [loss, accuracy] = train_batch(batch);  // the same computation, not recorded
  return {loss.item(), accuracy};
}

std::pair<Tensor, double> Seq2SeqObjective::train_batch(const Split& batch) {
  const Tensor logits = model_.forward(batch.x, tasks::shift_right(batch.y, start_), padding(batch.x));  // (B, T, V)
  return {cross_entropy(logits, batch.y, pad_ >= 0 ? pad_ : -100), sequence_accuracy(argmax_rows(logits), batch.y, pad_)};
}

Score Seq2SeqObjective::eval_batch(const Split& batch) {
  const double loss = train_batch(batch).first.item();  // not recorded here
  const Decoded out = model_.greedy_decode(batch.x, start_, batch.y.size(1), padding(batch.x));
  const std::vector<double> tokens = out.tokens.to_vector();
  return {loss, sequence_accuracy(std::vector<int32_t>(tokens.begin(), tokens.end()), batch.y, pad_)};
}

Tensor Seq2SeqObjective::padding(const Tensor& src) const {
  return pad_ >= 0 && src.dtype() == DType::I32 ? padding_mask(src, pad_) : Tensor();
}

}  // namespace dl::train
