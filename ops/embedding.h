// Embedding lookup: out[..., :] = table[ids[...], :].
//   dtable[v] = sum of g[...] over every position whose id is v (a scatter-add)
// ids: int32, any shape, each in [0, V). table: (V, C). out: ids.shape + (C).
#pragma once
#include "autograd/tensor.h"

namespace dl {

Tensor embedding(const Tensor& table, const Tensor& ids);

}  // namespace dl
