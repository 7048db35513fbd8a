#!/usr/bin/env python3
"""Writes the seed corpus Fuzz/corpus/<target>/ from the fixtures (small files only; run from the
repository root; deterministic, so rerunning changes nothing). Needs only the Python standard library:
the small .pth is written by pickling stand-ins for torch's classes, as torch.save lays them out."""
import io, json, os, pickle, struct, sys, types, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fuzz", "corpus")
FIX = os.path.join(ROOT, "Tests", "Fixtures")


def put(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def detections():
    with open(os.path.join(FIX, "video", "vtest_first100_det.txt")) as f:
        mot = f.read().splitlines()
    put("detections", "mot-det-40-lines.txt", "\n".join(mot[:40]) + "\n")
    with open(os.path.join(FIX, "video", "vtest_first100_tracks.txt")) as f:
        put("detections", "mot-tracks-crlf.txt", "\r\n".join(f.read().splitlines()[:30]) + "\r\n")
    lines = [
        '{"frame": 12, "boxes": [{"x": 10.5, "y": 20, "w": 30, "h": 80, "id": 7, "score": 0.9}]}',
        '{"pts": 1.5, "boxes": [{"x": 1, "y": 2, "w": 3, "h": 4}]}',
        '{"frame": 13, "boxes": []}',
        '{"frame": 14, "pts": 0.56, "boxes": [{"x": 1e3, "y": -2.5E-1, "w": 3, "h": 4, "id": null, "score": null, "other": [1, {"a": "\\u00e9\\n"}]}]}',
    ]
    put("detections", "jsonl-frames.jsonl", "\ufeff" + "\n".join(lines) + "\n")
    put("detections", "jsonl-cr-comments.jsonl", "# comment\r\r" + "\r".join(lines[:2]))
    put("detections", "mot-short-fields.txt", "1,-1,1,2,3,4\n2,5,1.5,2.5,3.5,4.5,0.5,-1,-1,-1\n  \n3 , 7 , 0x10 , 1e2 , 5 , 6 , nan\n")


class FakeStorage:
    """Stands for torch.FloatStorage: pickled as a persistent id ('storage', type, key, location, numel)."""
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


def fake_torch():
    """Modules torch._utils and torch with the globals a checkpoint pickle names."""
    torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
    def _rebuild_tensor_v2(*args): raise RuntimeError("stand-in")
    _rebuild_tensor_v2.__module__ = "torch._utils"; _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    class FloatStorage: pass
    class HalfStorage: pass
    for cls in (FloatStorage, HalfStorage):
        cls.__module__ = "torch"; cls.__qualname__ = cls.__name__
        setattr(torch, cls.__name__, cls)
    torch._utils = utils
    sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
    return torch, utils


class Tensor:
    def __init__(self, storage, shape, offset=0):
        self.storage, self.shape, self.offset = storage, shape, offset

    def __reduce__(self):
        strides, step = [], 1
        for n in reversed(self.shape):
            strides.insert(0, step); step *= n
        from collections import OrderedDict
        return (sys.modules["torch._utils"]._rebuild_tensor_v2,
                (self.storage, self.offset, tuple(self.shape), tuple(strides), False, OrderedDict()))


class CheckpointPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", sys.modules["torch"].FloatStorage if obj.key != "1" else sys.modules["torch"].HalfStorage,
                    obj.key, "cpu", obj.numel)
        return None


def small_pth(tensors, extra=None):
    """A stored zip as torch.save writes it: archive/data.pkl, byteorder, data/<key>, version."""
    fake_torch()
    state, blobs = {}, {}
    for name, (key, shape, dtype) in tensors.items():
        count = 1
        for n in shape: count *= n
        storage = FakeStorage(key, count)
        state[name] = Tensor(storage, shape)
        blobs[key] = struct.pack("<%d%s" % (count, "e" if dtype == "f16" else "f"), *[0.25 * i for i in range(count)])
    root = {"model_state_dict": state, "epoch": 3, "note": "seed"}
    if extra: root.update(extra)
    buffer = io.BytesIO()
    CheckpointPickler(buffer, protocol=2).dump(root)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buffer.getvalue())
        z.writestr("archive/byteorder", "little")
        for key, blob in blobs.items():
            z.writestr("archive/data/" + key, blob)
        z.writestr("archive/version", "3\n")
    return out.getvalue(), buffer.getvalue()


def pth():
    data, pkl = small_pth({"w": ("0", [2, 3], "f32"), "b": ("1", [3], "f16"), "prompt.ctx": ("2", [1, 2, 2], "f32")})
    put("pth", "small-state-dict.pth", data)
    put("pth", "small-state-dict.data.pkl", pkl)
    data, _ = small_pth({"x": ("0", [4], "f32")}, extra={"nested": [1, 2.5, "s", None, True, (1, 2), {"k": b"bytes"}]})
    put("pth", "nested-values.pth", data)
    with zipfile.ZipFile(os.path.join(FIX, "promptpar-tiny", "checkpoint.pth")) as z:
        put("pth", "promptpar-tiny.data.pkl", z.read("checkpoint/data.pkl"))
    put("pth", "legacy-header.bin", bytes([0x80, 0x02, 0x8A, 0x0A]) + b"\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.")


def tensors():
    for name in ("logits.npy", "probs.npy"):
        with open(os.path.join(FIX, "promptpar-tiny", name), "rb") as f:
            put("tensors", "tiny-" + name, f.read())
    header = '{"descr": "<f2", "fortran_order": False, "shape": (2, 2), }'
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    put("tensors", "half-2x2.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\x00\x3c" * 4)
    meta = {"__metadata__": {"format": "pt"},
            "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
            "b": {"dtype": "F16", "shape": [3], "data_offsets": [16, 22]},
            "c": {"dtype": "BF16", "shape": [1, 1], "data_offsets": [22, 24]}}
    text = json.dumps(meta).encode()
    text += b" " * (-len(text) % 8)
    put("tensors", "three-tensors.safetensors", struct.pack("<Q", len(text)) + text + bytes(range(24)))


def config():
    with open(os.path.join(ROOT, "configs", "pard.yaml")) as f:
        put("config", "example-pard.yaml", f.read())
    put("config", "minimal.yaml", "model:\n  checkpoint: model.pth\nstreams:\n  - name: door\n    url: rtsp://user:secret@cam/1\n    detections: unix:/run/pard/door.sock\n")
    put("config", "flow-and-durations.yaml", "model: {checkpoint: m.pth, batch_wait: 50ms, threads: 2}\n"
        "queue: {max_crops: 8, shed_policy: oldest_tracked_first}\nmetrics: {listen: '127.0.0.1:9464'}\n"
        "output: {events: -, mqtt: {broker: 'mqtt://localhost:1883', topic: pard/events}}\n"
        "shutdown_timeout: 2s\nstreams: [{name: a, url: file.mp4, detections: tcp:9000, loop: true}, {name: b, url: 'rtsp://c/2', detections: det.txt}]\n")


def tokenizer():
    with open(os.path.join(FIX, "attribute-sentences.json")) as f:
        sentences = json.load(f)
    flat = []
    def walk(v):
        if isinstance(v, str): flat.append(v)
        elif isinstance(v, list): [walk(x) for x in v]
        elif isinstance(v, dict): [walk(x) for x in v.values()]
    walk(sentences)
    for i, s in enumerate(flat[:6]):
        put("tokenizer", "sentence-%d.txt" % i, s)
    put("tokenizer", "html-and-unicode.txt", "A person &amp; a dog&#39;s   BAG&nbsp;caf\u00e9 \u4eba 12,345 don't <|startoftext|>")
    put("tokenizer", "long.txt", "a very long text " * 20)


if __name__ == "__main__":
    detections(); pth(); tensors(); config(); tokenizer()
