// The registry of attention kinds: name -> configuration -> module, one entry per kind.
//
// Everything that chooses a self-attention by name goes through this table: a config's
// "block.attention.kind" (its JSON and validate()), the blocks that build and run the module
// (models/blocks.h), the programs' --model flag (CLI::IsMember of model_names()) and bench's
// --model all. A new kind of attention is therefore one op file (ops/), one module file (nn/)
// and one entry in models/registry.cpp; nothing else names the kinds.
//
// Each kind has two names: `kind`, stored in configs and checkpoints ("standard", "dual"), and
// `model`, the programs' name for a model built of it ("transformer", "dat"), as docs/tasks.md
// and docs/bench.md call the models.
//
//   model        kind      module (nn/)                        decoding cache
//   transformer  standard  MultiHeadAttention (attention.h)    KVCache
//   dat          dual      DualAttention (dual_attention.h)    KVCache (sa), RelationalKVCache (ra);
//                                                              symbols from nn/symbols.h
//   gpam         gpam      GPAMAttention (gpam_attention.h)    KVCache
//   diff         diff      DifferentialAttention               KVCache (both key halves)
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include "models/config.h"
#include "nn/attention.h"
#include "nn/relational_attention.h"
#include "nn/symbols.h"

namespace dl {

// What one self-attention saw in its last forward, detached, for heatmaps. Undefined where the
// kind has no such tensor.
struct AttentionMaps {
  Tensor attention;   // (B, H, T, S): softmax P (standard; dual's sensory heads), daGPAM's or diff's A
  Tensor relational;  // dual: the relational heads' alpha (B, n_ra, T, T)
  Tensor relations;   // dual: r (B, T, T, d_r)
};

// What one self-attention layer keeps across greedy decoding steps, whichever its kind: kv for
// standard, daGPAM, differential attention and dual attention's sensory heads, relational for dual
// attention's relational heads. Each kind fills the parts it uses.
struct DecodingCache {
  KVCache kv;
  RelationalKVCache relational;
  int64_t length() const { return std::max(kv.length(), relational.length()); }  // positions cached
};

// The head counts the programs' flags give (--heads, --n-sa, --n-ra); a kind's preset reads the
// ones it uses.
struct HeadCounts {
  int64_t heads = 2;
  int64_t n_sa = 1, n_ra = 1;
};

// Where a self-attention module is built: the model width, the block's depth (counting from 0;
// differential attention's lam_init depends on it) and the parameters' dtype.
struct AttentionSite {
  int64_t d = 0;
  int64_t layer = 0;
  DType dtype = DType::F32;
};

struct AttentionKindEntry {
  const char* kind;   // AttentionConfig::kind
  const char* model;  // the programs' --model

  // The kind's set-up for the programs and the benchmark (docs/tasks.md, docs/bench.md).
  AttentionConfig (*preset)(const HeadCounts& h);
  int64_t (*total_heads)(const AttentionConfig& c);
  std::string (*describe)(const AttentionConfig& c);  // "2 heads", "1 sa + 1 ra heads"
  // Throws a dl::Error naming AttentionConfig and the values this kind cannot build at width d.
  void (*validate)(const AttentionConfig& c, int64_t d);
  // The model's symbol source (one per model, shared by its blocks) for inputs up to max_len
  // positions; null when the kind needs none.
  // (site.layer is unused.)
  std::shared_ptr<SymbolSource> (*symbols)(const AttentionConfig& c, int64_t max_len, const AttentionSite& site,
                                           Generator& gen);
  std::shared_ptr<Module> (*build)(const AttentionConfig& c, const AttentionSite& site, Generator& gen);
  // m: what build returned; x (B, T, d) -> (B, T, d). symbols: the model's (empty without a source).
  // With a cache, x and symbols hold the positions after the cached ones.
  Tensor (*forward)(Module& m, const Tensor& x, const Symbols& symbols, const AttentionMask& mask,
                    DecodingCache* cache);
  AttentionMaps (*maps)(const Module& m);
};

const std::vector<AttentionKindEntry>& attention_kinds();  // in the table's order
// The entry of a config kind, or of a --model name; an unknown name throws, listing the names.
const AttentionKindEntry& attention_kind(const std::string& kind);
const AttentionKindEntry& model_kind(const std::string& model);
std::vector<std::string> model_names();  // "transformer", "dat", "gpam", "diff"

// The attention of the programs' model `model` with head counts h.
AttentionConfig model_attention(const std::string& model, const HeadCounts& h);

}  // namespace dl
