"""Reference Silero VAD probabilities from onnxruntime, for the exactness test of rust/src/silero.

Runs silero-vad's own `OnnxWrapper` (utils_vad.py of the PyPI package) on every WAV of
rust/tests/data/silero/, window by window as a streaming caller would (512 samples at 16 kHz, 256 at
8 kHz, the last partial window padded with zeros), and writes the per-window speech probabilities to
rust/tests/data/silero/reference.json. onnxruntime is used only here, to make test data; the library
never depends on it.

    python3 -m venv target/silero-venv
    target/silero-venv/bin/pip install onnxruntime numpy packaging
    target/silero-venv/bin/pip install --no-deps silero-vad==6.2.3
    target/silero-venv/bin/python tools/silero_reference.py            # writes reference.json
    target/silero-venv/bin/python tools/silero_reference.py --bench F  # times F, prints one JSON line

torch, which silero-vad imports, is not installable here (its wheels come from outside PyPI or pull in
CUDA), and `OnnxWrapper` only uses it to hold arrays: a small numpy stand-in takes its place below. The
model file is the one vendored in rust/models/, the same bytes the Rust library embeds.

`--segments` writes rust/tests/data/silero/segments.json: silero-vad's own segmenter
(`get_speech_timestamps_from_probs`, pure Python) run on the probabilities of reference.json with the
parameter sets of SEGMENT_PARAMS, each segment as [start, end] in samples at the file's rate. The
streamed segmenter (rust/tests/silero.rs) and the `Vad` node (rust/src/nodes/vad/tests.rs) are tested
against it. Needs no onnxruntime.

`--bench F [SECONDS]` times onnxruntime at one thread (the wrapper's own session options) on the WAV F
repeated to SECONDS (default 60): every window through `OnnxWrapper.__call__`, best of 3 passes, and
prints windows per second and the real-time factor, for rust/examples/node_bench.rs (which does the
same in Rust on the same audio).
"""

import json
import pathlib
import sys
import time
import types
import wave

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "rust" / "tests" / "data" / "silero"
MODEL = ROOT / "rust" / "models" / "silero_vad.onnx"


# Parameter sets for --segments, as the `Vad` node names them. "default" is silero-vad's (and the
# node's) defaults; "tight" has minSilenceMs < 2 x speechPadMs (ends wait for the next start) and keeps
# every segment; "hysteresis" has a wide threshold band and long pads; "low" a low threshold.
SEGMENT_PARAMS = {
    "default": {"threshold": 0.5, "minSpeechMs": 250, "minSilenceMs": 100, "speechPadMs": 30},
    "tight": {"threshold": 0.5, "minSpeechMs": 0, "minSilenceMs": 0, "speechPadMs": 100},
    "hysteresis": {
        "threshold": 0.6,
        "negThreshold": 0.2,
        "minSpeechMs": 100,
        "minSilenceMs": 300,
        "speechPadMs": 200,
    },
    "low": {"threshold": 0.3, "minSpeechMs": 60, "minSilenceMs": 50, "speechPadMs": 60},
}


def segments():
    """Writes segments.json from reference.json with silero-vad's get_speech_timestamps_from_probs."""
    install_torch_stand_in()
    from silero_vad.utils_vad import get_speech_timestamps_from_probs
    import silero_vad

    reference = json.loads((DATA / "reference.json").read_text())
    out = {
        "made_by": "tools/silero_reference.py --segments",
        "silero_vad": silero_vad.__version__,
        "params": SEGMENT_PARAMS,
        "files": {},
    }
    for name, entry in reference["files"].items():
        rate = entry["sampleRate"]
        per_set = {}
        for set_name, params in SEGMENT_PARAMS.items():
            speeches = get_speech_timestamps_from_probs(
                entry["probabilities"],
                sampling_rate=rate,
                threshold=params["threshold"],
                neg_threshold=params.get("negThreshold"),
                min_speech_duration_ms=params["minSpeechMs"],
                min_silence_duration_ms=params["minSilenceMs"],
                speech_pad_ms=params["speechPadMs"],
                audio_length_samples=entry["samples"],
            )
            per_set[set_name] = [[int(s["start"]), int(s["end"])] for s in speeches]
        out["files"][name] = {"sampleRate": rate, "samples": entry["samples"], "segments": per_set}
    target = DATA / "segments.json"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {target.relative_to(ROOT)}")


def install_torch_stand_in():
    """The handful of torch names utils_vad.py touches, over numpy arrays."""

    class Tensor(np.ndarray):
        def __new__(cls, data=()):
            return np.asarray(data, dtype=np.float32).view(cls)

        def dim(self):
            return self.ndim

        def unsqueeze(self, axis):
            return np.expand_dims(self, axis).view(Tensor)

        def float(self):
            return self.astype(np.float32).view(Tensor)

        def numpy(self):
            return np.asarray(self)

        def item(self):
            return np.asarray(self).item()

    def zeros(*shape):
        if len(shape) == 1 and isinstance(shape[0], tuple):
            shape = shape[0]
        return np.zeros(shape, dtype=np.float32).view(Tensor)

    def cat(tensors, dim=0):
        return np.concatenate([np.asarray(t) for t in tensors], axis=dim).view(Tensor)

    def no_grad():
        return lambda function: function

    torch = types.ModuleType("torch")
    torch.Tensor = Tensor
    torch.zeros = zeros
    torch.cat = cat
    torch.from_numpy = lambda a: np.asarray(a).view(Tensor)
    torch.is_tensor = lambda x: isinstance(x, Tensor)
    torch.no_grad = no_grad
    torch.set_num_threads = lambda n: None
    torch.device = lambda name: name
    sys.modules["torch"] = torch
    return torch


def read_wav(path):
    """Mono 16-bit PCM as float32 in [-1, 1), the scaling torchaudio and the Rust test use."""
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, f"{path}: need mono 16-bit"
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return pcm.astype(np.float32) / 32768.0, w.getframerate()


def windows(audio, rate):
    size = 512 if rate == 16000 else 256
    padded = np.concatenate([audio, np.zeros((-len(audio)) % size, dtype=np.float32)])
    return [padded[i : i + size] for i in range(0, len(padded), size)]


def probabilities(model, torch, audio, rate):
    model.reset_states()
    return [float(model(torch.from_numpy(w), rate)[0, 0]) for w in windows(audio, rate)]


def main():
    if sys.argv[1:] == ["--segments"]:
        segments()
        return
    torch = install_torch_stand_in()
    import onnxruntime
    import silero_vad
    from silero_vad.utils_vad import OnnxWrapper

    model = OnnxWrapper(str(MODEL), force_onnx_cpu=True)
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--bench":
        audio, rate = read_wav(sys.argv[2])
        seconds = float(sys.argv[3]) if len(sys.argv) == 4 else 60.0
        audio = np.resize(audio, int(seconds * rate))
        chunks = [torch.from_numpy(w) for w in windows(audio, rate)]

        def through_wrapper():
            model.reset_states()
            for chunk in chunks:
                model(chunk, rate)

        # The session alone, without the wrapper's per-call array handling: the model's own cost.
        context = 64 if rate == 16000 else 32
        inputs = [np.concatenate([np.zeros(context, np.float32), audio])]
        starts = range(0, len(chunks) * len(chunks[0]), len(chunks[0]))
        frames = [inputs[0][None, s : s + context + len(chunks[0])] for s in starts]
        frames[-1] = np.pad(frames[-1], ((0, 0), (0, context + len(chunks[0]) - frames[-1].shape[1])))
        sr = np.array(rate, dtype=np.int64)

        def session_only():
            state = np.zeros((2, 1, 128), np.float32)
            for frame in frames:
                _, state = model.session.run(None, {"input": frame, "state": state, "sr": sr})

        figures = {"onnxruntime": onnxruntime.__version__, "windows": len(chunks)}
        for name, run in (("wrapper", through_wrapper), ("session", session_only)):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - start)
            figures[name] = {
                "windowsPerSecond": round(len(chunks) / best),
                "realTimeFactor": round(len(audio) / rate / best),
            }
        print(json.dumps(figures))
        return
    files = {}
    for path in sorted(DATA.glob("*.wav")):
        audio, rate = read_wav(path)
        files[path.name] = {
            "sampleRate": rate,
            "samples": len(audio),
            "probabilities": [round(p, 6) for p in probabilities(model, torch, audio, rate)],
        }
    reference = {
        "made_by": "tools/silero_reference.py",
        "model": MODEL.name,
        "silero_vad": silero_vad.__version__,
        "onnxruntime": onnxruntime.__version__,
        "files": files,
    }
    out = DATA / "reference.json"
    out.write_text(json.dumps(reference, separators=(",", ":")) + "\n")
    counts = ", ".join(f"{name} ({len(entry['probabilities'])})" for name, entry in files.items())
    print(f"wrote {out.relative_to(ROOT)}: {counts}")


if __name__ == "__main__":
    main()
