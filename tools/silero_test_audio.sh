#!/bin/sh
# Makes the WAVs of rust/tests/data/silero/ (the Silero VAD exactness test; reference probabilities:
# tools/silero_reference.py). Needs sox and espeak-ng. Mono 16-bit; 16 kHz unless the name says 8k.
set -eu
# sox -R: repeatable dither and noise, so the files come out byte for byte the same every run.
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/rust/tests/data/silero"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
# Clean speech: the example recording (two sentences, espeak-ng en-us), 8.6 s.
sox -R "$root/examples/data/speech.wav" -r 16000 -c 1 -b 16 "$out/speech.wav"
# The same at 8 kHz, for the 8 kHz model.
sox -R "$root/examples/data/speech.wav" -r 8000 -c 1 -b 16 "$out/speech_8k.wav"
# Speech in noise: another voice and sentence, pink noise under it from start to end (about 6 dB SNR).
espeak-ng -v en-gb+f3 -s 160 -w "$tmp/voice.wav" "Turn left at the next corner, then keep going until you reach the station."
sox -R "$tmp/voice.wav" -r 16000 -c 1 -b 16 "$tmp/voice16.wav" pad 0.6 0.6
sox -R -n -r 16000 -c 1 -b 16 "$tmp/noise.wav" synth "$(soxi -D "$tmp/voice16.wav")" pinknoise vol 0.2
sox -R -m "$tmp/voice16.wav" "$tmp/noise.wav" -b 16 "$out/speech_noise.wav"
# Music and tones: 2 s of 440 Hz, 2 s of a C-major chord (C4 E4 G4), 2 s of a plucked G-major strum.
sox -R -n -r 16000 -c 1 -b 16 "$tmp/a440.wav" synth 2 sine 440 vol 0.5
sox -R -n -r 16000 -b 16 "$tmp/chord.wav" synth 2 sine 261.63 sine 329.63 sine 392.00 remix - vol 0.5
sox -R -n -r 16000 -b 16 "$tmp/strum.wav" synth 2 pl G2 pl B2 pl D3 pl G3 pl D4 pl G4 \
  delay 0 .05 .1 .15 .2 .25 remix - fade 0 2 .1 norm -3
sox -R "$tmp/a440.wav" "$tmp/chord.wav" "$tmp/strum.wav" "$out/tones.wav"
# Silence: 1.5 s of digital zero, then 1.5 s of faint white noise (-60 dBFS).
sox -R -n -r 16000 -c 1 -b 16 "$tmp/zero.wav" trim 0 1.5
sox -R -n -r 16000 -c 1 -b 16 "$tmp/hiss.wav" synth 1.5 whitenoise vol 0.001
sox -R "$tmp/zero.wav" "$tmp/hiss.wav" "$out/silence.wav"
ls -l "$out"/*.wav
