#!/usr/bin/env bash
# Tests/Soak/soak.sh MINUTES [soak.py options]: the soak of `pard run` (Tests/Soak/soak.py; README, "Soak").
# Uses .build/release/pard when built, else .build/debug/pard. Not part of `swift test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:?usage: Tests/Soak/soak.sh MINUTES [soak.py options]}
shift
pard=.build/release/pard
[[ -x $pard ]] || pard=.build/debug/pard
exec /usr/bin/python3 Tests/Soak/soak.py --minutes "$minutes" --pard "$pard" "$@"
