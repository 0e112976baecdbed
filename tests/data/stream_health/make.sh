#!/bin/sh
# Makes the labelled fault suite of the StreamHealth node (labels.json says what each file must and must
# not raise). Needs espeak-ng, sox and python3; sox runs in repeatable mode (-R), so the files come out
# the same on every run. 8 kHz, 16-bit: the faults do not need more, and the files stay small.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -s 150 -w "$tmp/a.wav" "The quick brown fox jumps over the lazy dog, twice."
espeak-ng -v en-us -s 150 -w "$tmp/b.wav" "Then it rests in the warm sun for a while."
S="sox -R -D"
$S -n -r 22050 -c 1 -b 16 "$tmp/pause.wav" trim 0 0.3
$S -n -r 22050 -c 1 -b 16 "$tmp/gap.wav" trim 0 2.0
# Speech, peak-normalised to -3 dBFS, at 8 kHz.
$S "$tmp/a.wav" "$tmp/pause.wav" "$tmp/b.wav" -r 8000 "$tmp/speech.wav" gain -n -3
$S "$tmp/a.wav" "$tmp/gap.wav" "$tmp/b.wav" -r 8000 "$tmp/speech_gap.wav" gain -n -3
# A microphone's noise floor (about -80 dBFS), so that only a real cut is digital silence.
floor() { # in out
  len=$(soxi -D "$1")
  $S -n -r 8000 -c 1 -b 16 "$tmp/noise.wav" synth "$len" whitenoise vol 0.0003
  $S -m -v 1 "$1" -v 1 "$tmp/noise.wav" -b 16 "$2"
}
floor "$tmp/speech.wav" clean.wav
floor "$tmp/speech_gap.wav" silence.wav
$S "$tmp/speech.wav" "$tmp/quiet.wav" vol -20dB
floor "$tmp/quiet.wav" quiet.wav
$S "$tmp/speech.wav" "$tmp/loud.wav" vol 3 2>/dev/null # clips (sox warns about it)
floor "$tmp/loud.wav" clipping.wav
len=$(soxi -D clean.wav)
$S -n -r 8000 -c 1 -b 16 "$tmp/right.wav" synth "$len" whitenoise vol 0.0003
$S -M clean.wav "$tmp/right.wav" one_channel.wav
# 50 ms cut to digital silence every ~400 ms, each where the audio is loud (as a lost packet does).
python3 - <<'PY'
import array, math, wave
with wave.open("clean.wav") as w:
    params = w.getparams()
    s = array.array("h", w.readframes(w.getnframes()))
rate, cut, edge = params.framerate, params.framerate // 20, params.framerate // 200
i = rate // 2
while i + cut < len(s):
    before = s[i - edge:i]
    rms = math.sqrt(sum(x * x for x in before) / edge) / 32768
    if rms > 0.05:  # about -26 dBFS
        for j in range(i, i + cut):
            s[j] = 0
        i += rate * 2 // 5
    else:
        i += edge
with wave.open("dropouts.wav", "wb") as w:
    w.setparams(params)
    w.writeframes(s.tobytes())
PY
ls -l ./*.wav
