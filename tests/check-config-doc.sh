#!/bin/sh
#   Every configuration key the daemon knows must be documented in
#   complaintd.conf and README.md, and complaintd.conf must be valid.
#   Usage: check-config-doc.sh path/to/complaintd
set -u
daemon="$1"
missing=0
keys=$("$daemon" --list-keys | cut -d' ' -f1)
for key in $keys; do
    section=${key%%/*}
    name=${key#*/}
    #   complaintd.conf: the key, indented, inside its section
    if ! awk -v section="$section" -v name="$name" '
        /^[a-z_]+[ \t]*$/ { current = $1 }
        current == section && $1 == name && $2 == "=" { found = 1 }
        END { exit found ? 0 : 1 }' complaintd.conf; then
        echo "complaintd.conf does not document $key"
        missing=1
    fi
    if ! grep -q "\`$key\`" README.md; then
        echo "README.md does not document $key"
        missing=1
    fi
done
if ! "$daemon" -c complaintd.conf --check-config >/dev/null; then
    echo "complaintd.conf is not a valid configuration"
    missing=1
fi
if [ "$missing" = 0 ]; then
    echo "configuration documented: $(echo "$keys" | wc -w) keys"
fi
exit "$missing"
