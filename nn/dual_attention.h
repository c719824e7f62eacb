// DualAttention (docs/relational.md, Dual attention): n_sa sensory heads and n_ra relational heads side by side, all
// of size dh = d / (n_sa + n_ra), on x (B, T, d) with symbols from a SymbolSource:
//
//   e   = sa(x, x, mask)         MultiHeadAttention: Wq, Wk, Wv d -> n_sa dh, Wo n_sa dh -> n_sa dh
//   a   = ra(x, symbols, mask)   RelationalAttention: projections d -> n_ra dh, Wo n_ra dh -> n_ra dh
//   out = concat(e, a)           (B, T, d)
//
// Submodules `sa` (nn/attention.h) and `ra` (nn/relational_attention.h); either is absent (null)
// when its head count is 0. The mask (causal, key padding) applies to both kinds of heads. The
// attention matrices and relations of the last forward are sa->last_attention(),
// ra->last_attention() and ra->last_relations(). The relational options (d_r, dp, symmetric,
// RCA, bias) go to ra; its head_dim is always dh.
//
// Decoding: pass a KVCache for sa and a RelationalKVCache for ra (each where its heads exist),
// with x and the symbols of the new positions only; both caches grow by the same positions.
#pragma once
#include <memory>
#include "nn/attention.h"
#include "nn/relational_attention.h"

namespace dl {

// Every size set by name (no positional {...}), e.g. DualAttentionOptions().with_d(64).with_n_sa(2).with_n_ra(2).
struct DualAttentionOptions {
  explicit DualAttentionOptions() = default;
  int64_t d = 0;                          // width
  int64_t n_sa = 0, n_ra = 0;             // sensory and relational heads
  RelationalAttentionOptions relational;  // for ra; its head_dim is always dh
  DualAttentionOptions& with_d(int64_t v) { d = v; return *this; }
  DualAttentionOptions& with_n_sa(int64_t v) { n_sa = v; return *this; }
  DualAttentionOptions& with_n_ra(int64_t v) { n_ra = v; return *this; }
  DualAttentionOptions& with_relational(const RelationalAttentionOptions& v) { relational = v; return *this; }
};

class DualAttention : public Module {
 public:
  DualAttention(const DualAttentionOptions& options, Generator& gen, DType dtype = DType::F32);

  // x (B, T, d) -> (B, T, d); symbols are unused when n_ra = 0. The caches: both or neither.
  Tensor forward(const Tensor& x, const Symbols& symbols, const AttentionMask& mask = {},
                 KVCache* sa_cache = nullptr, RelationalKVCache* ra_cache = nullptr);

  int64_t d, n_sa, n_ra, head_dim;
  std::shared_ptr<MultiHeadAttention> sa;   // null when n_sa = 0
  std::shared_ptr<RelationalAttention> ra;  // null when n_ra = 0
};

}  // namespace dl
