#!/usr/bin/env bash
# Reference files for the G.711 tests (rust/src/nodes/g711.rs), written with sox without dither (-D):
# every 16-bit value from -32768 to 32767 encoded as μ-law and A-law, and every byte 0..255 decoded
# to 16-bit little-endian. Run from the repository root; the outputs are committed.
set -euo pipefail
out=rust/testdata/g711
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<65536h", *range(-32768, 32768)))' >"$tmp/all.s16"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' >"$tmp/all.u8"
raw16=(-t raw -e signed-integer -b 16 -r 8000 -c 1 -L)
for law in u-law:ulaw a-law:alaw; do
  encoding=${law%%:*} name=${law##*:}
  sox -D "${raw16[@]}" "$tmp/all.s16" -t raw -e "$encoding" -b 8 -r 8000 -c 1 "$out/${name}_encoded.bin"
  sox -D -t raw -e "$encoding" -b 8 -r 8000 -c 1 "$tmp/all.u8" "${raw16[@]}" "$out/${name}_decoded.s16"
done
ls -l "$out"
