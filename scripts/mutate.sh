#!/usr/bin/env bash
# make mutate: mutation testing of the suite. Each mutation in mutations/*.txt is one small,
# plausible bug (a file, an exact original text, its replacement, the bug it models). For each,
# this script copies the tree and the already built build/ into a scratch folder, applies the
# edit there, rebuilds (only the mutated file and the links redo), runs the whole suite and prints
#   caught by N tests     N test cases failed (or the suite crashed or timed out: also caught)
#   SURVIVED              every test passed: the suite cannot tell this bug from the real code
# and ends with the plain line "N passed, N failed" (a survivor, or a mutation whose original
# text is not found exactly once, or that does not compile, is a failure).
#
# Environment: MUTATIONS=regex (names to run, default all), MUTATE_TIMEOUT=seconds per suite
# run (default 300; an endless loop counts as caught), JOBS (make -j, default nproc),
# MUTATE_DIR (the scratch folder, default a fresh one under /tmp, removed at the end),
# MUTATE_CHECK=1 (only check that no mutation is stale), MUTATE_TESTS (a Catch2 test spec: run
# only those tests, e.g. to see which tests catch a mutation; the default is the whole suite).
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
timeout_s=${MUTATE_TIMEOUT:-300}
only=${MUTATIONS:-.}
scratch=${MUTATE_DIR:-$(mktemp -d /tmp/dl-mutate.XXXXXX)}
trap 'rm -rf "$scratch"' EXIT
export OPENBLAS_NUM_THREADS=1

# 1. Split every mutation into scratch/list/NNN/{name,file,bug,original,replacement}. A record:
#      name: <id>            file: <path>          bug: <what it models>
#      original:             (verbatim lines up to "replacement:")
#      replacement:          (verbatim lines up to "end"; none = delete the original)
#      end
#    The original is the exact text between its markers without the final newline, so it may be
#    part of a line. Lines outside records that start with # are comments.
mkdir -p "$scratch/list"
awk -v out="$scratch/list" '
  function fail(msg) { printf "%s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"; bad = 1; exit 1 }
  function put(key, text,  path) { path = dir "/" key; printf "%s", text > path; close(path) }
  FNR == 1 && state != "" { fail("the record before this file is not closed by end") }
  state == "" && /^name: / { dir = out "/" sprintf("%03d", ++n); system("mkdir -p " dir)
                             put("name", substr($0, 7)); put("source", FILENAME ":" FNR); state = "head"; next }
  state == "head" && /^file: / { put("file", substr($0, 7)); next }
  state == "head" && /^bug: / { put("bug", substr($0, 6)); next }
  state == "head" && /^original:$/ { state = "original"; text = ""; first = 1; next }
  state == "original" && /^replacement:$/ { put("original", text); state = "replacement"; text = ""; first = 1; next }
  state == "replacement" && /^end$/ { put("replacement", text); state = ""; next }
  state == "original" || state == "replacement" { text = first ? $0 : text "\n" $0; first = 0; next }
  state == "" && (/^#/ || /^[ \t]*$/) { next }
  { fail("unexpected line: " $0) }
  END { if (!bad && state != "") fail("the last record is not closed by end") }
' mutations/*.txt || exit 1
for dir in "$scratch"/list/*; do
  for key in file bug original; do
    [ -s "$dir/$key" ] || { echo "$(cat "$dir/source"): mutation $(cat "$dir/name") has no $key"; exit 1; }
  done
done

# apply FILE ORIGINAL REPLACEMENT: replaces the one occurrence; exit 2 when the original text is
# not found exactly once (the mutation is stale)
apply() {
  perl -e '
    local $/; open my $fh, "<", $ARGV[0] or die; my $s = <$fh>; close $fh;
    open $fh, "<", $ARGV[1] or die; my $o = <$fh>; close $fh;
    open $fh, "<", $ARGV[2] or die; my $r = <$fh> // ""; close $fh;
    my $n = () = $s =~ /\Q$o\E/g;
    if ($n != 1) { print "$n\n"; exit 2 }
    $s =~ s/\Q$o\E/$r/;
    open $fh, ">", $ARGV[0] or die; print $fh $s; close $fh;
  ' "$@"
}

# MUTATE_CHECK=1: only check that every original is found exactly once, build nothing
if [ -n "${MUTATE_CHECK:-}" ]; then
  stale=0
  for dir in "$scratch"/list/*; do
    file=$(cat "$dir/file")
    cp "$file" "$scratch/probe"
    if ! count=$(apply "$scratch/probe" "$dir/original" "$dir/replacement"); then
      echo "$(cat "$dir/name") ($file): ERROR stale: its original text is found ${count:-0} times, not once ($(cat "$dir/source"))"
      stale=$((stale + 1))
    fi
  done
  echo "$(( $(ls "$scratch/list" | wc -l) - stale )) passed, $stale failed"
  [ "$stale" -eq 0 ]
  exit
fi

# 2. The scratch tree: the sources as they are now (committed or not) and the build, up to date.
echo "mutate: building the unmutated tree"
# the programs' object files too, so a mutation relinks the programs without recompiling them
program_objects=$(ls examples/*.cpp | sed -E 's|^(.*)\.cpp$|build/\1.o|')
make --no-print-directory -j"$jobs" build-tests $program_objects >/dev/null || { echo "the unmutated tree does not build"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$scratch/src"
git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$scratch/src"
cp -a build "$scratch/pristine"
cd "$scratch/src"
cp -a "$scratch/pristine" build
start=$(date +%s)
if ! timeout "$timeout_s" ./build/run_tests >/dev/null 2>&1; then
  echo "the unmutated suite fails: nothing to measure"; echo "0 passed, 1 failed"; exit 1
fi
echo "mutate: the unmutated suite passes in $(( $(date +%s) - start )) s"

# 3. One mutation at a time.
test_spec=()
[ -n "${MUTATE_TESTS:-}" ] && test_spec=("$MUTATE_TESTS")
passed=0
failed=0
total=$(ls "$scratch/list" | wc -l)
for dir in "$scratch"/list/*; do
  name=$(cat "$dir/name")
  [[ "$name" =~ $only ]] || continue
  file=$(cat "$dir/file")
  label="[$(basename "$dir")/$total] $name ($file)"
  t0=$(date +%s)
  rm -rf build && cp -a "$scratch/pristine" build
  cp -p "$file" "$scratch/saved"
  if ! count=$(apply "$file" "$dir/original" "$dir/replacement"); then
    echo "$label: ERROR stale: its original text is found ${count:-0} times, not once ($(cat "$dir/source"))"
    failed=$((failed + 1))
    rm -f "$scratch/saved"
    continue
  fi
  touch "$file"
  if ! make --no-print-directory -j"$jobs" build-tests >"$scratch/make.log" 2>&1; then
    echo "$label: ERROR does not compile ($(cat "$dir/source"))"
    failed=$((failed + 1))
  else
    timeout "$timeout_s" ./build/run_tests "${test_spec[@]}" >"$scratch/run.log" 2>&1
    rc=$?
    line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed$' "$scratch/run.log" | tail -n 1)
    caught=$(echo "$line" | sed -E 's/.*, ([0-9]+) failed/\1/')
    secs=$(( $(date +%s) - t0 ))
    if [ "$rc" -eq 124 ]; then
      echo "$label: caught by the time limit (the suite ran over ${timeout_s} s) [${secs} s]"
      passed=$((passed + 1))
    elif [ -z "$line" ]; then
      echo "$label: caught by a crash (the suite stopped with exit status $rc) [${secs} s]"
      passed=$((passed + 1))
    elif [ "$line" = "0 passed, 0 failed" ]; then
      echo "$label: ERROR no test ran (MUTATE_TESTS='${MUTATE_TESTS:-}' matches nothing?)"
      failed=$((failed + 1))
    elif [ "$caught" -gt 0 ]; then
      echo "$label: caught by $caught tests [${secs} s]"
      passed=$((passed + 1))
    else
      echo "$label: SURVIVED: $(cat "$dir/bug") [${secs} s]"
      failed=$((failed + 1))
    fi
  fi
  cp -p "$scratch/saved" "$file"  # the original back, with its old time stamp
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
