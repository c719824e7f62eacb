// Encoder-decoder Transformer whose blocks' self-attention is of the configured kind (any of
// models/registry.h: standard, dual attention, daGPAM, differential; models/blocks.h):
//
//   memory = Encoder(drop(embed_src(src) + PE))                     (B, S, d)
//   logits = head(Decoder(drop(embed_tgt(tgt_in) + PE), memory))    (B, T, V)
//
// embed_src is a token table (config.src_vocab, e.g. copy and reverse) or a Linear of feature
// vectors (config.src_features, e.g. object sorting's (B, 10, 12)). Source and target have their
// own positional encodings. Pre-norm stacks end in a LayerNorm (encoder.norm, decoder_norm);
// post-norm stacks already end normalised. The source's key padding masks the encoder's
// self-attention and the decoder's cross-attention. The DAT symbol source is shared by every
// block of both stacks.
//
// Greedy decoding feeds a start token and appends each step's argmax. Every decoder layer keeps a
// DecoderCache (models/blocks.h): its self-attention's DecodingCache (models/registry.h) of the
// earlier positions' keys and values (and, with dual attention, the relational heads' relation
// keys and symbol values), so a step embeds and runs one position, and the cross-attention's keys
// and values of the memory, projected once at the first step. greedy_decode_uncached re-runs the
// whole prefix every step, the memory's projections included: the reference the cached path is
// tested against, and the baseline of build/bin/bench_decode.
//
// Parameter names: src_tokens or src_features, tgt_tokens, src_pos.weight and tgt_pos.weight
// (learned positions only), symbols (dual only), encoder.blocks.<l>.*, encoder.norm,
// decoder.<l>.*, decoder_norm, head.
#pragma once
#include <memory>
#include "models/blocks.h"
#include "nn/positional.h"

namespace dl {

// Sinusoidal or learned positions added from an offset: decoding with a cache embeds position t
// alone. Not a Module (as SelfAttention): the model registers module().
class Positions {
 public:
  Positions(PositionKind kind, int64_t max_len, int64_t d, Generator& gen, DType dtype = DType::F32);
  const std::shared_ptr<Module>& module() const { return module_; }
  Tensor forward(const Tensor& x, int64_t offset = 0) const;  // x (B, T, d) + PE[offset : offset + T]

 private:
  std::shared_ptr<SinusoidalPositionalEncoding> sinusoidal_;  // exactly one of the two is set
  std::shared_ptr<LearnedPositionalEncoding> learned_;
  std::shared_ptr<Module> module_;
  int64_t max_len_;
};

// bool (B, S), true where tokens (B, S) int32 equal pad.
Tensor padding_mask(const Tensor& tokens, int32_t pad);

struct Decoded {
  Tensor tokens;  // (B, steps) int32, the start token excluded
  Tensor logits;  // (B, steps, V), each step's logits
};

class Seq2Seq : public Module {
 public:
  using Config = Seq2SeqConfig;
  Seq2Seq(const Seq2SeqConfig& config, Generator& gen, DType dtype = DType::F32);  // dtype of the parameters

  // src: ids (B, S) int32 or features (B, S, F) float, per the config; src_padding: bool (B, S),
  // true = padded, or undefined. -> memory (B, S, d)
  Tensor encode(const Tensor& src, const Tensor& src_padding = {});
  // tgt_in (B, T) int32, the target shifted right behind a start token -> logits (B, T, V)
  Tensor decode(const Tensor& tgt_in, const Tensor& memory, const Tensor& src_padding = {});
  // teacher forcing: decode(tgt_in, encode(src))
  Tensor forward(const Tensor& src, const Tensor& tgt_in, const Tensor& src_padding = {});

  // `steps` tokens after `start`, in eval mode and without recording; steps <= max_len.
  Decoded greedy_decode(const Tensor& src, int32_t start, int64_t steps, const Tensor& src_padding = {});
  Decoded greedy_decode_uncached(const Tensor& src, int32_t start, int64_t steps, const Tensor& src_padding = {});

  // From the last forward, per layer, for heatmaps (after cached decoding: the last step's).
  AttentionMaps encoder_attention(size_t layer) const { return encoder->attention_maps(layer); }
  AttentionMaps decoder_self_attention(size_t layer) const { return (*decoder)[layer].self_attention_maps(); }
  const Tensor& decoder_cross_attention(size_t layer) const { return (*decoder)[layer].cross_attention(); }

  const Seq2SeqConfig config;
  std::shared_ptr<Embedding> src_tokens;     // token source, else null
  std::shared_ptr<Linear> src_features;      // feature source, else null
  std::shared_ptr<Embedding> tgt_tokens;
  Positions src_pos, tgt_pos;
  std::shared_ptr<SymbolSource> symbols;     // DAT only, else null
  std::shared_ptr<EncoderStack> encoder;
  std::shared_ptr<ModuleList<DecoderBlock>> decoder;
  std::shared_ptr<LayerNorm> decoder_norm;   // pre-norm only, else null
  std::shared_ptr<Linear> head;              // d -> tgt_vocab
  std::shared_ptr<Dropout> dropout;          // on the embeddings

 private:
  // Logits (B, t, V) of tgt (B, t); with caches, tgt holds the positions after the cached ones.
  Tensor run_decoder(const Tensor& tgt, const Tensor& memory, const Tensor& src_padding,
                     std::vector<DecoderCache>* caches);
  Decoded greedy(const Tensor& src, int32_t start, int64_t steps, const Tensor& src_padding, bool cached);
};

}  // namespace dl
