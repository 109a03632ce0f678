#!/usr/bin/env bash
# The whole suite under the configurations a contributor's or a user's machine may differ in: CPU kernels, thread
# counts, locale, screen scale, HOME, working folder and test order. Run it before a release (about 10 minutes on 2
# cores; too long for every CI run). Usage: tests/run_matrix.sh [PYTEST ARGS...]; prints one line per configuration.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-$root/.venv/bin/python}
export QT_QPA_PLATFORM=offscreen
configs=(
  "plain|"
  "one thread|OMP_NUM_THREADS=1"
  "two threads|OMP_NUM_THREADS=2"
  "ATen default kernels|ATEN_CPU_CAPABILITY=default"
  "ATen AVX2 kernels|ATEN_CPU_CAPABILITY=avx2"
  "oneDNN up to AVX2|ONEDNN_MAX_CPU_ISA=AVX2"
  "oneDNN up to SSE4.1|ONEDNN_MAX_CPU_ISA=SSE41"
  "LANG=C|LANG=C LC_ALL=C"
  "Korean locale|LANG=ko_KR.UTF-8 LC_ALL=ko_KR.UTF-8"
  "German locale (decimal comma)|LANG=de_DE.UTF-8 LC_ALL=de_DE.UTF-8"
  "2x screen scale|QT_SCALE_FACTOR=2"
  "fresh HOME, run from /|HOME=@TMP@ XDG_DATA_HOME= XDG_CONFIG_HOME= XDG_CACHE_HOME= @CWD@"
  "reverse order, no randomly|@ARGS@-p no:randomly --test-order=reverse"
  "shuffled order|@ARGS@--test-order=shuffle:20261202"
)
failed=0
for entry in "${configs[@]}"; do
  name=${entry%%|*}
  spec=${entry#*|}
  home=$(mktemp -d)
  args=()
  dir=$root
  if [[ $spec == *@CWD@* ]]; then dir=/; spec=${spec//@CWD@/}; fi
  if [[ $spec == @ARGS@* ]]; then read -ra args <<<"${spec#@ARGS@}"; spec=""; fi
  spec=${spec//@TMP@/$home}
  started=$(date +%s)
  out=$(cd "$dir" && env $spec "$python" -m pytest -q -p no:cacheprovider "$root/tests" "${args[@]}" "$@" 2>&1)
  rc=$?
  summary=$(grep -E '^(FAILED|ERROR)|[0-9]+ (passed|failed)' <<<"$out" | tail -n 8)
  printf '%-40s rc=%d %4ds  %s\n' "$name" "$rc" "$(($(date +%s) - started))" "$(tail -n 1 <<<"$summary")"
  if ((rc != 0)); then
    failed=1
    grep -E '^(FAILED|ERROR)' <<<"$out" | sed 's/^/    /'
  fi
  rm -rf "$home"
done
exit $failed
