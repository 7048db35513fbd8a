"""Reference values for PardCheckpointTests, read with torch from ../promptpar-tiny/checkpoint.pth.

Run from this folder: python make_reference.py  (needs only torch). Writes reference.json: for a few
tensors, dtype, shape, the first and last 8 values, and the float64 sum and sum of squares of all values
converted to float32 (as pard converts them); and every tensor's dotted name in file order (the
optimizer's state excluded).
"""
import json
import sys
import types

import torch

# The checkpoint's `result` is an easydict.EasyDict; a stand-in avoids needing the package.
easydict = types.ModuleType("easydict")
easydict.EasyDict = type("EasyDict", (dict,), {})
sys.modules["easydict"] = easydict

checkpoint = torch.load("../promptpar-tiny/checkpoint.pth", map_location="cpu", weights_only=False)

names = [
    "ViT_model.visual.conv1.weight",          # float16, 4-D
    "ViT_model.visual.proj",                  # float16
    "ViT_model.visual.transformer.prompt_deep",
    "ViT_model.token_embedding.weight",       # the largest, float32
    "ViT_model.logit_scale",                  # 0-d
    "ViT_model.agg_bn.num_batches_tracked",   # int64, 0-d
    "model_state_dict.bn.weight",
    "model_state_dict.bn.running_var",
    "model_state_dict.blocks.0.attn.qkv.weight",
]

reference = {}
for name in names:
    group, key = name.split(".", 1)
    t = checkpoint[group][key]
    flat = t.detach().reshape(-1).to(torch.float32)
    reference[name] = {
        "dtype": str(t.dtype).removeprefix("torch."),
        "shape": list(t.shape),
        "head": flat[:8].tolist(),
        "tail": flat[-8:].tolist(),
        "sum": flat.to(torch.float64).sum().item(),
        "sumOfSquares": (flat.to(torch.float64) ** 2).sum().item(),
    }

all_names = [
    f"{group}.{key}"
    for group, value in checkpoint.items()
    if group != "optimizer" and isinstance(value, dict)
    for key, t in value.items()
    if isinstance(t, torch.Tensor)
]

with open("reference.json", "w") as f:
    json.dump({"epoch": checkpoint["epoch"], "names": all_names, "tensors": reference}, f, indent=1)
    f.write("\n")
