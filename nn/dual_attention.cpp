#include "nn/dual_attention.h"

#include "ops/ops.h"

namespace dl {

DualAttention::DualAttention(const DualAttentionOptions& options, Generator& gen, DType dtype)
    : d(options.d), n_sa(options.n_sa), n_ra(options.n_ra) {
  DL_CHECK(n_sa >= 0 && n_ra >= 0, "DualAttention",
           "head counts must not be negative, got n_sa " + std::to_string(n_sa) + ", n_ra " +
               std::to_string(n_ra));
  head_dim = head_size("DualAttention", d, n_sa + n_ra);
  if (n_sa > 0)
    sa = register_module("sa", std::make_shared<MultiHeadAttention>(
                                     MultiHeadAttentionOptions().with_d(d).with_heads(n_sa).with_head_dim(head_dim), gen, dtype));
  if (n_ra > 0) {
    RelationalAttentionOptions o = options.relational;
    o.head_dim = head_dim;
    ra = register_module("ra", std::make_shared<RelationalAttention>(d, n_ra, gen, o, dtype));
  }
}

Tensor DualAttention::forward(const Tensor& x, const Symbols& symbols, const AttentionMask& mask,
                             KVCache* sa_cache, RelationalKVCache* ra_cache) {
  check_module_inputs("DualAttention", x, x, d);
  DL_CHECK(!sa_cache == !ra_cache, "DualAttention",
           "decoding needs both caches, the sensory heads' and the relational heads', or neither (input " + x.str() + ")");
  if (!ra) return sa->forward(x, x, mask, sa_cache);
  if (!sa) return ra->forward(x, symbols, mask, ra_cache);
  return concat({sa->forward(x, x, mask, sa_cache), ra->forward(x, symbols, mask, ra_cache)}, 2);
}

}  // namespace dl
