// Model configurations: one struct per model, with defaults from docs/tasks.md and docs/bench.md.
//
// Each struct lists its fields once, in fields(), and everything else is derived from that list:
// JSON in both directions (stored in a checkpoint's metadata, so a saved model reloads without
// its flags) and str(), one "name = value" line per field for programs to print at start.
// from_json rejects unknown keys and unknown enum names (a typo must not fall back to a default);
// a missing key keeps its default. validate() rejects impossible sizes with a dl::Error naming
// the config and the values; every model constructor calls it.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <nlohmann/json.hpp>
#include "nn/feedforward.h"

namespace dl {

enum class SymbolKind { Positional, Relative, Symbolic };  // nn/symbols.h
enum class PositionKind { Sinusoidal, Learned };
enum class Pooling { Mean, First };
enum class EmbedKind { Official, Compact };  // the classifier's embedding and head (models/classifier.h)

// The self-attention of every block of a model. kind names an entry of the registry of
// attention kinds (models/registry.h), which validates the config and builds its module; the
// other fields are the sizes and options of every kind, each used by the kinds named beside it.
struct AttentionConfig {
  std::string kind = "standard";  // "standard" | "dual" | "gpam" | "diff" (models/registry.h)
  int64_t heads = 2;            // standard, gpam and diff: H
  int64_t n_sa = 1, n_ra = 1;   // dual: sensory and relational heads, dh = d / (n_sa + n_ra)
  int64_t n_relations = 0;      // dual: d_r; 0 means n_ra
  int64_t rel_dim = 0;          // dual: dp; 0 means dh
  bool symmetric = true;        // dual: Wk_rel = Wq_rel
  SymbolKind symbols = SymbolKind::Positional;  // dual: one source shared by every layer
  int64_t max_offset = 4;       // relative symbols: D
  int64_t n_symbols = 16;       // symbolic attention: library size
  int64_t symbol_heads = 1;     // symbolic attention: H_s
  double lam = 0.2;             // gpam: fixed lam, or initial lam_h when trainable
  bool lam_trainable = false;   // gpam: lam_h = lam_max sigmoid(theta_h)
  double lam_max = 1.0;
  bool official = false;        // dual: as the DAT authors' code: wr ~ U(+-1/sqrt(dh d_r)), each
                                // block's symbols from its residual stream x (not LN1 x), the
                                // relative table Xavier-uniform (docs/relational.md)

  int64_t total_heads() const;     // as the kind counts them (dual: n_sa + n_ra)
  void validate(int64_t d) const;  // the kind's checks; an unknown kind throws, listing the kinds

  template <class C, class F> static void fields(C& c, F&& f) {
    f("kind", c.kind); f("heads", c.heads); f("n_sa", c.n_sa); f("n_ra", c.n_ra);
    f("n_relations", c.n_relations); f("rel_dim", c.rel_dim); f("symmetric", c.symmetric);
    f("symbols", c.symbols); f("max_offset", c.max_offset); f("n_symbols", c.n_symbols);
    f("symbol_heads", c.symbol_heads); f("lam", c.lam); f("lam_trainable", c.lam_trainable);
    f("lam_max", c.lam_max); f("official", c.official);
  }
};

// The attention of docs/bench.md by model name (models/registry.h's model_attention with h heads,
// split n_sa = n_ra = h/2 for "dat"): "transformer" (h standard heads), "dat" (h/2 sensory + h/2
// relational, d_r = h/2, dp = dh, symmetric, positional symbols), "gpam" (h heads, fixed lam 0.2)
// or "diff" (h differential heads). A model that cannot have h heads throws.
AttentionConfig bench_attention(const std::string& model, int64_t heads);

// What every block of a stack shares.
struct BlockConfig {
  int64_t d = 128;
  int64_t d_ff = 256;
  FFNKind ffn = FFNKind::SwiGLU;
  bool pre_norm = true;   // x + f(LN x); else LN(x + f(x))
  double dropout = 0.1;   // on each sublayer's output and on the embeddings
  AttentionConfig attention;

  void validate() const;
  template <class C, class F> static void fields(C& c, F&& f) {
    f("d", c.d); f("d_ff", c.d_ff); f("ffn", c.ffn); f("pre_norm", c.pre_norm);
    f("dropout", c.dropout); f("attention", c.attention);
  }
};

// Encoder-decoder (models/transformer.h). The source is token ids (src_vocab > 0, e.g. copy and
// reverse) or feature vectors (src_features > 0, e.g. object sorting's (B, 10, 12)): exactly one.
struct Seq2SeqConfig {
  static constexpr const char* kind = "seq2seq";
  int64_t src_vocab = 0;
  int64_t src_features = 0;
  int64_t tgt_vocab = 12;
  int64_t max_len = 32;  // of source and target
  PositionKind positions = PositionKind::Sinusoidal;
  int64_t encoder_layers = 2, decoder_layers = 2;
  BlockConfig block;  // encoder and decoder; the decoder's cross-attention is always standard

  void validate() const;
  std::string str() const;
  template <class C, class F> static void fields(C& c, F&& f) {
    f("src_vocab", c.src_vocab); f("src_features", c.src_features); f("tgt_vocab", c.tgt_vocab);
    f("max_len", c.max_len); f("positions", c.positions); f("encoder_layers", c.encoder_layers);
    f("decoder_layers", c.decoder_layers); f("block", c.block);
  }
};

// Decoder-only causal LM (models/lm.h); the defaults are docs/bench.md's configuration S.
struct LMConfig {
  static constexpr const char* kind = "lm";
  int64_t vocab = 32;
  int64_t max_len = 16;  // T
  int64_t layers = 2;
  BlockConfig block = {64, 256, FFNKind::GELU, true, 0.0, bench_attention("transformer", 4)};

  void validate() const;
  std::string str() const;
  template <class C, class F> static void fields(C& c, F&& f) {
    f("vocab", c.vocab); f("max_len", c.max_len); f("layers", c.layers); f("block", c.block);
  }
};

// docs/bench.md's model `model` (transformer | dat | gpam | diff) at size `size` (S | M | L).
LMConfig bench_lm_config(const std::string& model, const std::string& size);

// Classifier over a set or sequence of object tokens (models/classifier.h); the defaults are
// docs/tasks.md's relational-games set-up (9 tokens of 6 x 6 RGB patches, 2 layers, d 128, d_ff 256
// SwiGLU, pre-norm, dropout 0.1, mean pooling), with a Transformer of 2 heads. The embedding
// defaults to compact, so that a stored config from before the field reads back as it was built;
// the programs choose official unless told (--embed).
struct ClassifierConfig {
  static constexpr const char* kind = "classifier";
  int64_t in_features = 108;
  int64_t max_len = 9;  // tokens
  int64_t n_classes = 2;
  int64_t layers = 2;
  Pooling pooling = Pooling::Mean;
  EmbedKind embedding = EmbedKind::Compact;
  int64_t mlp_hidden = 128;  // compact's head: Linear(d, mlp_hidden), ReLU, Linear(mlp_hidden, n_classes)
  BlockConfig block;

  void validate() const;
  std::string str() const;
  template <class C, class F> static void fields(C& c, F&& f) {
    f("in_features", c.in_features); f("max_len", c.max_len); f("n_classes", c.n_classes);
    f("layers", c.layers); f("pooling", c.pooling); f("embedding", c.embedding); f("mlp_hidden", c.mlp_hidden);
    f("block", c.block);
  }
};

// Throws a dl::Error from op unless each (name, value) is positive: the configs' and the attention
// kinds' (models/registry.cpp) size checks.
void require_positive(const char* op, std::initializer_list<std::pair<const char*, int64_t>> sizes);

// c itself, after c.validate(): lets a constructor validate its config in its initializer list.
template <class C> const C& validated(const C& c) {
  c.validate();
  return c;
}

// JSON conversions (nlohmann's ADL hooks, so `json j = config;` and `j.get<LMConfig>()` work).
// from_json of a whole model config also validates it.
void to_json(nlohmann::json& j, const AttentionConfig& c);
void from_json(const nlohmann::json& j, AttentionConfig& c);
void to_json(nlohmann::json& j, const BlockConfig& c);
void from_json(const nlohmann::json& j, BlockConfig& c);
void to_json(nlohmann::json& j, const Seq2SeqConfig& c);
void from_json(const nlohmann::json& j, Seq2SeqConfig& c);
void to_json(nlohmann::json& j, const LMConfig& c);
void from_json(const nlohmann::json& j, LMConfig& c);
void to_json(nlohmann::json& j, const ClassifierConfig& c);
void from_json(const nlohmann::json& j, ClassifierConfig& c);

}  // namespace dl
