#!/usr/bin/env bash
# The compiled wire core under AddressSanitizer and UBSan (gcc): the wire tests (with many more hypothesis
# examples), the compiled murmur2 against the reference, and a replay of the fuzz corpus (`make fuzz` leaves it in
# build/fuzz), any report fatal.
# The extension is rebuilt with the sanitizers into build/sanitize/, a copy of the tree; the installed one is not
# touched. Run by `make sanitize`.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
OUT=$ROOT/build/sanitize
EXAMPLES=${TOKENSTREAM_WIRE_EXAMPLES:-400}
rm -rf "$OUT" && mkdir -p "$OUT/tree"
cp -r processor tests bench pyproject.toml "$OUT/tree/"
find "$OUT/tree" -name '_core*.so' -delete
"$ROOT/.venv/bin/cython" -3 processor/wire/_core.pyx -o "$OUT/_core.c"
INCLUDE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
SUFFIX=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
gcc -shared -fPIC -I"$INCLUDE" -O1 -g -w -fno-omit-frame-pointer -fsanitize=address,undefined \
    -fno-sanitize-recover=all "$OUT/_core.c" -o "$OUT/tree/processor/wire/_core$SUFFIX"
PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
cd "$OUT/tree"
echo "sanitized build: $OUT/tree/processor/wire/_core$SUFFIX (LD_PRELOAD=$PRELOAD)"
env LD_PRELOAD="$PRELOAD" PYTHONPATH=. "$PY" -c 'from processor import wire; assert wire.IMPLEMENTATION == "native", wire.WHY; print(wire.WHY, "from", wire.native_backend().__file__)'
# --capture=sys: a sanitizer writes its report to fd 2, which pytest's default capture would take and lose with the
# process it stops.
env LD_PRELOAD="$PRELOAD" PYTHONPATH=. TOKENSTREAM_WIRE_EXAMPLES="$EXAMPLES" "$PY" -m pytest -q -p no:cacheprovider \
    --capture=sys -o addopts="--import-mode=importlib" --timeout=3600 tests/wire tests/kafka/test_partitioner.py
if [ -d "$ROOT/build/fuzz/corpus" ]; then
  for corpus in "$ROOT"/build/fuzz/corpus/*/; do
    target=$(basename "$corpus")
    echo "replaying $(ls "$corpus" | wc -l) inputs of the $target corpus"
    if ! env LD_PRELOAD="$PRELOAD" PYTHONPATH=. "$PY" -m tests.wire.fuzz_wire "$target" "$corpus" -runs=0 \
        > "$OUT/replay-$target.log" 2>&1; then
      tail -40 "$OUT/replay-$target.log"
      exit 1
    fi
    grep -E "Done [0-9]+ runs" "$OUT/replay-$target.log"
  done
fi
