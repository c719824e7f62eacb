"""Loads a symmetric RelationalAttention's tensors, as this library saves them, into an
equivalent PyTorch module with load_state_dict(strict=True). Not run by `make test` (PyTorch is
no dependency of the build); run it by hand with /usr/bin/python3 (python3-torch):

  build/bin/train_classifier --task occurs --model dat --d 16 --d-ff 32 --train-size 32 \
      --val-size 16 --test-size 16 --batch 16 --epochs 1 --pictures 0 --out /tmp/dat
  /usr/bin/python3 tests/pytorch_load_relational.py /tmp/dat/checkpoint.safetensors

A DAT's relational heads sit under <prefix>.self_attn.ra.; every such module of the file is
loaded. The PyTorch module ties wk_rel to wq_rel (self.wk_rel = self.wq_rel), so its state dict
holds both names: strict loading needs the file to hold wk_rel.* too, equal to wq_rel.*.
"""
import json
import struct
import sys

import torch
from torch import nn

DTYPES = {"F32": torch.float32, "F64": torch.float64}


def read_safetensors(path):
    """name -> tensor, from the safetensors layout: u64 header size, JSON header, raw data."""
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    body = data[8 + size:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        flat = torch.frombuffer(bytearray(body[begin:end]), dtype=DTYPES[info["dtype"]])
        tensors[name] = flat.reshape(info["shape"])
    return tensors


class SymmetricRelationalAttention(nn.Module):
    """The parameters of the library's RelationalAttention with symmetric=True, by name."""

    def __init__(self, d, heads, head_dim, n_relations, rel_dim):
        super().__init__()
        width = heads * head_dim
        self.wq_attn = nn.Linear(d, width)
        self.wk_attn = nn.Linear(d, width)
        self.wq_rel = nn.Linear(d, n_relations * rel_dim)
        self.wk_rel = self.wq_rel  # symmetric relations: one projection under two names
        self.wv = nn.Linear(d, width)
        self.wr = nn.Parameter(torch.empty(heads, head_dim, n_relations))
        self.wo = nn.Linear(width, width)


def main(path):
    tensors = read_safetensors(path)
    prefixes = sorted({name[:name.index("ra.") + 3] for name in tensors if ".ra.wq_rel.weight" in name})
    if not prefixes:
        sys.exit(f"{path}: no relational attention (no *.ra.wq_rel.weight)")
    for prefix in prefixes:
        state = {name[len(prefix):]: t for name, t in tensors.items() if name.startswith(prefix)}
        heads, head_dim, n_relations = state["wr"].shape
        d = state["wq_attn.weight"].shape[1]
        rel_dim = state["wq_rel.weight"].shape[0] // n_relations
        module = SymmetricRelationalAttention(d, heads, head_dim, n_relations, rel_dim).to(state["wr"].dtype)
        module.load_state_dict(state, strict=True)
        assert module.wk_rel is module.wq_rel
        assert torch.equal(module.wq_rel.weight, state["wk_rel.weight"])
        print(f"{prefix}: {len(state)} tensors loaded with strict=True "
              f"(d {d}, {heads} heads of {head_dim}, d_r {n_relations}, dp {rel_dim})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
