"""Interop golden of the shipped token LMs: transformers' LlamaForCausalLM and PreTrainedTokenizerFast on
models/mirlens-midi-small and models/mirlens-caption-small.

For each model folder (the final weights and every checkpoint under checkpoints/), loads the model with
`LlamaForCausalLM.from_pretrained(dir, torch_dtype=float32)` and the tokenizer with
`PreTrainedTokenizerFast(tokenizer_file=dir/tokenizer.json)`, encodes one fixed text per model (no special
tokens; BOS prepended by hand, as mirlens' pretraining does), and writes to lm_pretrained.safetensors:

    <model>.<ckpt>.ids               int64 token ids of BOS + text
    <model>.<ckpt>.hidden_<i>        hidden state i, [T, d] (transformers' output_hidden_states convention)
    <model>.final.logits             next-token logits [T, V] of the final weights

Metadata: `texts` (model -> text) and `sha256` (<model>.<ckpt> -> SHA-256 of its model.safetensors), so a test can tell a stale golden from a wrong
loader.

Run from the repository root:  python tests/golden/lm_pretrained/generate.py
Versions used: python 3.11.7, numpy 2.4.6, torch 2.15.0 (run on CPU), transformers 4.57.6, tokenizers 0.22.2,
safetensors 0.8.0.
"""

import hashlib
import json
import pathlib

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

ROOT = pathlib.Path(__file__).resolve().parents[3]
OUT = pathlib.Path(__file__).resolve().parent / "lm_pretrained.safetensors"
TEXTS = {
    "mirlens-midi-small": (
        "BOS_None",
        "Bar_None TimeSig_3/4 Position_0 Pitch_67 Velocity_79 Duration_1.0.8 Position_8 Pitch_71 Velocity_79 "
        "Duration_1.0.8 Position_16 Pitch_74 Velocity_79 Duration_1.0.8 Bar_None TimeSig_3/4 Position_0 Pitch_72 "
        "Velocity_63 Duration_2.0.8",
    ),
    "mirlens-caption-small": (
        "<s>",
        "A moderato piece in G major, 3/4 at 112 BPM, featuring flute and keyboard; the chords cycle through G, C, D.",
    ),
}


def folders(model_dir):
    out = [("final", model_dir)]
    ck = model_dir / "checkpoints"
    if ck.is_dir():
        out += [(p.name, p) for p in sorted(ck.iterdir()) if (p / "config.json").is_file()]
    return out


def main():
    torch.manual_seed(0)
    tensors = {}
    meta = {"texts": json.dumps({k: v[1] for k, v in TEXTS.items()})}
    hashes = {}
    for name, (bos, text) in TEXTS.items():
        for ck, d in folders(ROOT / "models" / name):
            tok = PreTrainedTokenizerFast(tokenizer_file=str(d / "tokenizer.json"))
            ids = [tok.convert_tokens_to_ids(bos)] + tok(text, add_special_tokens=False)["input_ids"]
            model = LlamaForCausalLM.from_pretrained(d, torch_dtype=torch.float32)
            model.eval()
            with torch.no_grad():
                out = model(torch.tensor([ids]), output_hidden_states=True)
            key = f"{name}.{ck}"
            tensors[f"{key}.ids"] = np.asarray(ids, dtype=np.int64)
            for i, h in enumerate(out.hidden_states):
                tensors[f"{key}.hidden_{i}"] = h[0].numpy().astype(np.float32)
            if ck == "final":
                tensors[f"{key}.logits"] = out.logits[0].numpy().astype(np.float32)
            hashes[key] = hashlib.sha256((d / "model.safetensors").read_bytes()).hexdigest()
            print(key, len(ids), "tokens,", len(out.hidden_states), "hidden states")
    meta["sha256"] = json.dumps(hashes, sort_keys=True)
    save_file(tensors, str(OUT), metadata=meta)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
