#include "examples/common/sequence_tasks.h"

#include <algorithm>

namespace dl::tasks {

TaskData sequence_task(bool reverse, const Sizes& sizes, uint64_t seed, const SequenceConfig& cfg) {
  const std::string name = reverse ? "reverse" : "copy";
  check_size(name, "train", sizes.train, 1);
  check_size(name, "val", sizes.val);
  check_size(name, "test", sizes.test);
  DL_CHECK(cfg.n_symbols >= 1 && 1 <= cfg.min_length && cfg.min_length <= cfg.max_length, "make_task",
           name + ": need n_symbols >= 1 and 1 <= min_length <= max_length, got " +
               std::to_string(cfg.n_symbols) + ", " + std::to_string(cfg.min_length) + ", " +
               std::to_string(cfg.max_length));
  const int T = cfg.max_length;
  UniqueKeys seen(name);
  auto draw = [&](int64_t n, Stream stream) {
    Generator gen = split_generator(seed, stream);
    std::vector<int32_t> x(n * T, kPad), y(n * T, kPad);  // (N, T) each
    for (int64_t i = 0; i < n; ++i) {
      int32_t* src = &x[i * T];
      const int length = static_cast<int>(gen.randint(cfg.min_length, cfg.max_length + 1));
      do {
        for (int t = 0; t < length; ++t) src[t] = kFirstSymbol + static_cast<int32_t>(gen.randint(0, cfg.n_symbols));
      } while (!seen.insert(UniqueKeys::key(src, T)));
      std::copy(src, src + length, &y[i * T]);
      if (reverse) std::reverse(&y[i * T], &y[i * T] + length);
    }
    return Split{make_tensor(x, {n, T}), make_tensor(y, {n, T})};
  };
  TaskData data;
  data.test = draw(sizes.test, Stream::Test);
  data.val = draw(sizes.val, Stream::Val);
  data.train = draw(sizes.train, Stream::Train);
  return data;
}

Tensor shift_right(const Tensor& target, int32_t start) {
  DL_CHECK(target.dim() == 2 && target.dtype() == DType::I32 && target.size(1) >= 1, "shift_right",
           "expected an int32 (N, T) target with T >= 1, got " + target.str());
  const Tensor t = target.contiguous();
  const int64_t N = t.size(0), T = t.size(1);
  Tensor out = Tensor::empty({N, T}, DType::I32);  // (N, T)
  const int32_t* src = t.data<int32_t>();
  int32_t* dst = out.data<int32_t>();
  for (int64_t i = 0; i < N; ++i) {
    dst[i * T] = start;
    std::copy(src + i * T, src + (i + 1) * T - 1, dst + i * T + 1);
  }
  return out;
}

}  // namespace dl::tasks
