#!/bin/sh
# Makes the turn-taking scenarios in examples/data/turns/ (committed; rerun only to change them):
# the bot's utterance and four "microphone" recordings of the user, 16 kHz mono 16-bit, made offline
# with espeak-ng and sox, plus scenarios.json with where each sound starts and ends (from the sizes
# of the pieces, not from a VAD). Needs espeak-ng and sox (`apt-get install -y espeak-ng sox`), and
# the repository's deno (`make deps`) to lay out the JSON.
#
# The microphone is assumed echo-cancelled: it carries the user (and the room), not the bot.
set -eu
export SOX_OPTS="-R" # repeatable: the same noise and dither on every run
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/examples/data/turns"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p "$out"

# Speech, trimmed to its audible extent (so the onsets below are exact) and normalised to -3 dBFS.
say() { # name voice text
  espeak-ng -v "$2" -s 165 -w "raw_$1.wav" "$3"
  sox "raw_$1.wav" -r 16000 -c 1 -b 16 "$1.wav" \
    silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse gain -n -3
}
quiet() { sox -n -r 16000 -c 1 -b 16 "$1.wav" trim 0 "$2"; } # name seconds
len() { soxi -D "$1.wav"; }
add() { echo "$1 + $2" | bc -l | sed 's/^\./0./'; }

say bot en-us "Our opening hours are from nine in the morning to six in the evening, and on Saturdays we open at ten."
say stop en-us+m3 "Wait, stop. How much does a table for two cost?"
say uhhuh en-us+m3 "uh huh"
say part1 en-us+m3 "I would like to book a table,"
say part2 en-us+m3 "for two people tomorrow."
say dog en-us+m3 "And can I bring my dog?"
# A cough: a 0.25 s burst of pink noise with a fast attack and a slower decay.
sox -n -r 16000 -c 1 -b 16 cough.wav synth 0.25 pinknoise fade q 0.005 0.25 0.18 gain -n -6
# Background music: a plucked arpeggio (C, Am, F, G) over a held chord, at -20 dBFS.
i=0
for note in C4 E4 G4 C5 A3 C4 E4 A4 F3 A3 C4 F4 G3 B3 D4 G4; do
  sox -n -r 16000 -c 1 -b 16 "n$i.wav" synth 0.3 pluck "$note" fade 0 0.3 0.1
  i=$((i + 1))
done
sox n0.wav n1.wav n2.wav n3.wav n4.wav n5.wav n6.wav n7.wav n8.wav n9.wav n10.wav n11.wav \
  n12.wav n13.wav n14.wav n15.wav arp.wav
sox arp.wav arp.wav arp2.wav
sox -n -r 16000 -c 1 -b 16 pad.wav synth 9.6 sine C3 tremolo 3 40
sox -m pad.wav arp2.wav music_full.wav
sox music_full.wav music_bed.wav trim 0 8.5 gain -n -20

cp bot.wav "$out/bot.wav"

# 1. The user interrupts the bot mid-sentence (the bot starts at 0 s).
quiet lead 1.5; quiet tail 1.2
sox lead.wav stop.wav tail.wav "$out/interrupt.wav"
stop_end=$(add 1.5 "$(len stop)")

# 2. The user coughs (1.0 s) and says "uh huh" (2.5 s) while the bot speaks.
quiet lead 1.0; quiet gap 1.25
sox lead.wav cough.wav gap.wav uhhuh.wav body.wav
quiet tail "$(echo "6.0 - $(len body)" | bc -l)"
sox body.wav tail.wav "$out/cough.wav"
uhhuh_end=$(add 2.5 "$(len uhhuh)")

# 3. Music in the background all along; the bot speaks over it, then the user speaks (5.8 s).
quiet lead 5.8
sox lead.wav dog.wav voice.wav
quiet tail "$(echo "8.5 - $(len voice)" | bc -l)"
sox voice.wav tail.wav voice_full.wav
sox -m voice_full.wav music_bed.wav "$out/music.wav"
dog_end=$(add 5.8 "$(len dog)")

# 4. No bot. Two turns; the first has a 0.45 s pause inside its sentence.
quiet lead 0.5; quiet pause 0.45; quiet between 1.5; quiet tail 1.0
sox lead.wav part1.wav pause.wav part2.wav between.wav dog.wav tail.wav "$out/pause.wav"
p1_end=$(add 0.5 "$(len part1)")
p2_start=$(add "$p1_end" 0.45)
p2_end=$(add "$p2_start" "$(len part2)")
dog2_start=$(add "$p2_end" 1.5)
dog2_end=$(add "$dog2_start" "$(len dog)")

cat > scenarios.json <<EOF
{
  "sampleRate": 16000,
  "bot": { "file": "bot.wav", "seconds": $(len bot) },
  "scenarios": {
    "interrupt": { "file": "interrupt.wav", "seconds": $(len "$out/interrupt"), "botStartsAt": 0,
      "user": [{ "what": "Wait, stop. How much does a table for two cost?", "start": 1.5, "end": $stop_end }] },
    "cough": { "file": "cough.wav", "seconds": $(len "$out/cough"), "botStartsAt": 0,
      "user": [{ "what": "(cough)", "start": 1.0, "end": 1.25 },
               { "what": "uh huh", "start": 2.5, "end": $uhhuh_end }] },
    "music": { "file": "music.wav", "seconds": $(len "$out/music"), "botStartsAt": 0,
      "user": [{ "what": "And can I bring my dog?", "start": 5.8, "end": $dog_end }] },
    "pause": { "file": "pause.wav", "seconds": $(len "$out/pause"), "botStartsAt": null,
      "user": [{ "what": "I would like to book a table,", "start": 0.5, "end": $p1_end },
               { "what": "for two people tomorrow.", "start": $p2_start, "end": $p2_end },
               { "what": "And can I bring my dog?", "start": $dog2_start, "end": $dog2_end }] }
  }
}
EOF
# In the layout `deno fmt` keeps (make lint checks it), with the repository's own deno (`make deps`).
"$root/node_modules/.bin/deno" fmt --ext json - < scenarios.json > "$out/scenarios.json"
ls -l "$out"
