#!/bin/sh
#   The transition table of proto/PROTOCOL.md, between the lines
#   <!-- actions:begin --> and <!-- actions:end -->, must be the table the
#   daemon prints from its code (complaintd --list-actions), line for line.
#   Blank lines just inside the markers are ignored.
#   Usage: [BUILD=build] sh tests/check-actions-doc.sh
set -u
build="${BUILD:-build}"
daemon="$build/complaintd"
spec="proto/PROTOCOL.md"
begin='<!-- actions:begin -->'
end='<!-- actions:end -->'

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

if ! "$daemon" --list-actions >"$tmp/complaintd--list-actions"; then
    echo "$daemon --list-actions failed"
    exit 1
fi
#   Exactly one pair of markers, in that order
if ! awk -v begin="$begin" -v end="$end" '
    $0 == begin { begins++; if (ends) bad = 1 }
    $0 == end   { ends++; if (!begins) bad = 1 }
    END { exit (begins == 1 && ends == 1 && !bad) ? 0 : 1 }' "$spec"; then
    echo "$spec: expected one line \"$begin\" followed by one line \"$end\""
    exit 1
fi
#   The lines between the markers, without blank lines at either end
awk -v begin="$begin" -v end="$end" '
    $0 == end { inside = 0 }
    inside { line[++count] = $0 }
    $0 == begin { inside = 1 }
    END {
        first = 1
        while (first <= count && line[first] ~ /^[ \t]*$/) first++
        last = count
        while (last >= first && line[last] ~ /^[ \t]*$/) last--
        for (n = first; n <= last; n++) print line[n]
    }' "$spec" >"$tmp/PROTOCOL.md"

if ! diff -u "$tmp/PROTOCOL.md" "$tmp/complaintd--list-actions"; then
    echo "$spec: the transition table differs from $daemon --list-actions"
    echo "(paste the output of $daemon --list-actions between the markers)"
    exit 1
fi
#   Every line but the header and its separator is an action
echo "transition table documented: $(($(wc -l <"$tmp/PROTOCOL.md") - 2)) actions"
exit 0
