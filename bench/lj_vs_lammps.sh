#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs LAMMPS's in.lj and batchmd's bench_lj side by side, whole processes alternating, and prints
# each pair's CPU time (user + sys, robust on a shared machine), wall time and peak RSS, the ratio
# LAMMPS CPU / batchmd CPU (> 1: batchmd faster), and the median and range of the ratios.
# Needs lammps (scripts/setup.sh installs it).
# Usage: bench/lj_vs_lammps.sh [pairs=3] [style=opt|plain|omp] [threads=1] [bench_lj binary]
#   opt: LAMMPS lj/cut/opt (-sf opt), plain: lj/cut, omp: lj/cut/omp (-sf omp) on `threads` threads.
set -euo pipefail
cd "$(dirname "$0")/.."
pairs="${1:-3}"
style="${2:-opt}"
threads="${3:-1}"
bin="${4:-build/release/bench/bench_lj}"
[ -n "${4:-}" ] || scripts/build.sh release >/dev/null
command -v lmp >/dev/null || { echo "lmp not found: run scripts/setup.sh" >&2; exit 1; }
case "$style" in
  opt) sf=(-sf opt) ;;
  plain) sf=() ;;
  omp) sf=(-sf omp -pk omp "$threads") ;;
  *) echo "style must be opt, plain or omp" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp bench/in.lj "$tmp/"
export OMP_NUM_THREADS="$threads"
ratios=()
for r in $(seq "$pairs"); do
  l=$( cd "$tmp" && /usr/bin/time -f "TIME %U %S %e %M" lmp "${sf[@]}" -in in.lj -log none 2>&1 | awk '/^TIME/{print $2+$3, $4, $5/1024}')
  b=$(/usr/bin/time -f "TIME %U %S %e %M" "$bin" --threads "$threads" 2>&1 | awk '/^TIME/{print $2+$3, $4, $5/1024}')
  read -r lc lw lm <<<"$l"
  read -r bc bw bm <<<"$b"
  ratio=$(awk -v a="$lc" -v b="$bc" 'BEGIN{printf "%.3f", a/b}')
  ratios+=("$ratio")
  echo "pair $r: LAMMPS ($style) cpu ${lc}s wall ${lw}s rss ${lm} MB | batchmd cpu ${bc}s wall ${bw}s rss ${bm} MB | LAMMPS/batchmd cpu = ${ratio}x"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "speed ratio (LAMMPS cpu / batchmd cpu): median %.3fx, range %.3f-%.3fx over %d pairs\n", m, a[1], a[NR], NR}'
