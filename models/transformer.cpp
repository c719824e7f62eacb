#include "models/transformer.h"

#include "ops/ops.h"

namespace dl {

Positions::Positions(PositionKind kind, int64_t max_len, int64_t d, Generator& gen, DType dtype)
    : max_len_(max_len) {
  if (kind == PositionKind::Sinusoidal)
    module_ = sinusoidal_ = std::make_shared<SinusoidalPositionalEncoding>(max_len, d);
  else
    module_ = learned_ = std::make_shared<LearnedPositionalEncoding>(max_len, d, gen, dtype);
}

Tensor Positions::forward(const Tensor& x, int64_t offset) const {
  DL_CHECK(offset >= 0 && offset + x.size(1) <= max_len_, "Positions",
           "positions " + std::to_string(offset) + " to " + std::to_string(offset + x.size(1) - 1) + " of " +
               x.str() + " exceed max_len = " + std::to_string(max_len_));
  const int64_t end = offset + x.size(1);
  Tensor table = sinusoidal_ ? sinusoidal_->encoding(end, x.dtype()) : learned_->weight;
  return x + slice(table, 0, offset, end);  // (B, T, d) + (T, d)
}

Tensor padding_mask(const Tensor& tokens, int32_t pad) {
  DL_CHECK(tokens.dim() == 2 && tokens.dtype() == DType::I32, "padding_mask",
           "expected tokens (B, S) int32, got " + tokens.str());
  const Tensor t = tokens.contiguous();
  const int32_t* p = t.data<int32_t>();
  std::vector<bool> padded(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) padded[i] = p[i] == pad;
  return Tensor::from_bools(padded, t.shape());
}

namespace {

// Eval mode while alive, then the previous mode back: decoding never drops units.
class EvalScope {
 public:
  explicit EvalScope(Module& m) : m_(m), was_training_(m.training()) { m_.eval(); }
  ~EvalScope() { m_.train(was_training_); }

 private:
  Module& m_;
  bool was_training_;
};

// (B, 1, V) logits -> (B, 1) int32, the first index of each row's maximum.
Tensor argmax_last(const Tensor& logits) {
  const int64_t B = logits.size(0), V = logits.size(2);
  const std::vector<double> z = logits.to_vector();
  std::vector<int32_t> best(B, 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t v = 1; v < V; ++v)
      if (z[b * V + v] > z[b * V + best[b]]) best[b] = static_cast<int32_t>(v);
  return Tensor::from_ints(best, {B, 1});
}

// The loop both decoders share: step(prefix (B, t)) gives the logits (B, 1, V) of the position
// after the prefix, whose argmax is appended.
template <class Step>
Decoded greedy_loop(int64_t B, int32_t start, int64_t steps, Step&& step) {
  Tensor prefix = Tensor::from_ints(std::vector<int32_t>(B, start), {B, 1});  // (B, t)
  std::vector<Tensor> logits;
  for (int64_t t = 0; t < steps; ++t) {
    logits.push_back(step(prefix));
    prefix = concat({prefix, argmax_last(logits.back())}, 1);
  }
  return {slice(prefix, 1, 1, steps + 1), concat(logits, 1)};
}

}  // namespace

Seq2Seq::Seq2Seq(const Seq2SeqConfig& c, Generator& gen, DType dtype)
    : config(validated(c)),
      src_pos(c.positions, c.max_len, c.block.d, gen, dtype),
      tgt_pos(c.positions, c.max_len, c.block.d, gen, dtype) {
  const int64_t d = c.block.d;
  if (c.src_vocab > 0) src_tokens = register_module("src_tokens", std::make_shared<Embedding>(c.src_vocab, d, gen, dtype));
  else src_features = register_module("src_features", std::make_shared<Linear>(c.src_features, d, gen, true, dtype));
  tgt_tokens = register_module("tgt_tokens", std::make_shared<Embedding>(c.tgt_vocab, d, gen, dtype));
  register_module("src_pos", src_pos.module());
  register_module("tgt_pos", tgt_pos.module());
  symbols = make_symbol_source(c.block.attention, c.max_len, d, gen, dtype);
  if (symbols) register_module("symbols", symbols);
  encoder = register_module("encoder", std::make_shared<EncoderStack>(c.block, c.encoder_layers, symbols, gen, dtype));
  decoder = register_module("decoder", std::make_shared<ModuleList<DecoderBlock>>());
  for (int64_t l = 0; l < c.decoder_layers; ++l) decoder->push_back(std::make_shared<DecoderBlock>(c.block, l, symbols, gen, dtype));
  if (c.block.pre_norm) decoder_norm = register_module("decoder_norm", std::make_shared<LayerNorm>(d, 1e-5, dtype));
  head = register_module("head", std::make_shared<Linear>(d, c.tgt_vocab, gen, true, dtype));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.block.dropout, gen.next_u64()));
}

Tensor Seq2Seq::encode(const Tensor& src, const Tensor& src_padding) {
  Tensor x;  // (B, S, d)
  if (src_tokens) {
    DL_CHECK(src.dim() == 2 && src.dtype() == DType::I32, "Seq2Seq",
             "expected source ids (B, S) int32, got " + src.str());
    x = src_tokens->forward(src);
  } else {
    DL_CHECK(src.dim() == 3 && is_floating(src.dtype()) && src.size(2) == config.src_features, "Seq2Seq",
             "expected source features (B, S, " + std::to_string(config.src_features) + "), got " + src.str());
    x = src_features->forward(src);
  }
  AttentionMask mask;
  mask.key_padding = src_padding;
  return encoder->forward(dropout->forward(src_pos.forward(x)), mask);
}

Tensor Seq2Seq::run_decoder(const Tensor& tgt, const Tensor& memory, const Tensor& src_padding,
                            std::vector<DecoderCache>* caches) {
  DL_CHECK((tgt.dim() == 2 && tgt.dtype() == DType::I32 && memory.dim() == 3 && memory.size(0) == tgt.size(0)),
           "Seq2Seq", "expected target ids (B, T) int32 and memory (B, S, d), got " + tgt.str() + " and " + memory.str());
  const int64_t offset = caches ? caches->front().self.length() : 0;
  Tensor x = dropout->forward(tgt_pos.forward(tgt_tokens->forward(tgt), offset));  // (B, t, d)
  for (size_t l = 0; l < decoder->size(); ++l)
    x = (*decoder)[l].forward(x, memory, src_padding, caches ? &(*caches)[l] : nullptr);
  if (decoder_norm) x = decoder_norm->forward(x);
  return head->forward(x);
}

Tensor Seq2Seq::decode(const Tensor& tgt_in, const Tensor& memory, const Tensor& src_padding) {
  return run_decoder(tgt_in, memory, src_padding, nullptr);
}

Tensor Seq2Seq::forward(const Tensor& src, const Tensor& tgt_in, const Tensor& src_padding) {
  return decode(tgt_in, encode(src, src_padding), src_padding);
}

Decoded Seq2Seq::greedy(const Tensor& src, int32_t start, int64_t steps, const Tensor& src_padding, bool cached) {
  DL_CHECK(steps >= 1 && steps <= config.max_len, "greedy_decode",
           "steps must be in [1, max_len = " + std::to_string(config.max_len) + "], got " + std::to_string(steps));
  EvalScope eval(*this);
  NoGradGuard no_grad;
  const Tensor memory = encode(src, src_padding);
  std::vector<DecoderCache> caches(decoder->size());
  return greedy_loop(memory.size(0), start, steps, [&](const Tensor& prefix) {
    const int64_t t = prefix.size(1);
    if (cached) return run_decoder(slice(prefix, 1, t - 1, t), memory, src_padding, &caches);  // (B, 1, V)
    return slice(run_decoder(prefix, memory, src_padding, nullptr), 1, t - 1, t);
  });
}

Decoded Seq2Seq::greedy_decode(const Tensor& src, int32_t start, int64_t steps, const Tensor& src_padding) {
  return greedy(src, start, steps, src_padding, true);
}

Decoded Seq2Seq::greedy_decode_uncached(const Tensor& src, int32_t start, int64_t steps, const Tensor& src_padding) {
  return greedy(src, start, steps, src_padding, false);
}

}  // namespace dl
