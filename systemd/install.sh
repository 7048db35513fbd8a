#!/usr/bin/env bash
# Installs pard as a systemd service: builds the release binary and puts in place
#   PREFIX/bin/pard                              the binary (PREFIX: /usr/local)
#   PREFIX/share/pard/attributes/*.json          the attribute presets
#   PREFIX/share/pard/bpe_simple_vocab_16e6.txt  CLIP's BPE vocabulary (bash .ci/setup fetches it)
#   /etc/systemd/system/pard.service             the unit (ExecStart pointing at PREFIX/bin/pard)
#   /etc/systemd/system/pard-worker.service      the remote inference worker's unit (not enabled)
#   /etc/pard/pard.yaml                          the example configuration, never overwriting one
#   /etc/logrotate.d/pard                        rotation of the event file
# and creates the system user and group "pard". Run as root from anywhere in the source tree.
#
# Usage: systemd/install.sh [--prefix DIR] [--destdir DIR] [--binary FILE] [--uninstall]
#   --prefix DIR    install under DIR instead of /usr/local
#   --destdir DIR   stage everything under DIR (also the DESTDIR environment variable), for packaging:
#                   no user is created, systemctl is not called
#   --binary FILE   install this pard binary instead of building one
#   --uninstall     remove what an install put in place; keeps /etc/pard, /var/log/pard, /var/lib/pard
#                   and the user
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
destdir=${DESTDIR:-}
binary=
uninstall=no
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --destdir) destdir=${2:?--destdir needs a folder}; shift 2 ;;
        --destdir=*) destdir=${1#*=}; shift ;;
        --binary) binary=${2:?--binary needs a file}; shift 2 ;;
        --binary=*) binary=${1#*=}; shift ;;
        --uninstall) uninstall=yes; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "install: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $prefix in /*) ;; *) echo "install: --prefix must be an absolute path, got $prefix" >&2; exit 2 ;; esac
destdir=${destdir%/}

bindir=$prefix/bin
datadir=$prefix/share/pard
unitdir=/etc/systemd/system
confdir=/etc/pard
vocab=bpe_simple_vocab_16e6.txt
live=no   # acting on this machine's systemd and users (not staging into a DESTDIR)
if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then live=yes; fi

say() { echo "install: $*"; }

if [ "$uninstall" = yes ]; then
    for unit in pard.service pard-worker.service; do
        if [ "$live" = yes ] && systemctl list-unit-files "$unit" >/dev/null 2>&1; then
            systemctl disable --now "$unit" >/dev/null 2>&1 && say "stopped and disabled $unit" || true
        fi
    done
    for f in "$bindir/pard" "$unitdir/pard.service" "$unitdir/pard-worker.service" /etc/logrotate.d/pard "$datadir/$vocab" "$datadir/$vocab.gz"; do
        if [ -e "$destdir$f" ]; then rm -f "$destdir$f"; say "removed $destdir$f"; fi
    done
    if [ -d "$destdir$datadir/attributes" ]; then rm -rf "$destdir$datadir/attributes"; say "removed $destdir$datadir/attributes"; fi
    if [ -d "$destdir$prefix/share/doc/pard" ]; then rm -rf "$destdir$prefix/share/doc/pard"; say "removed $destdir$prefix/share/doc/pard"; fi
    rmdir "$destdir$datadir" 2>/dev/null || true
    if [ "$live" = yes ]; then systemctl daemon-reload; say "reloaded systemd"; fi
    say "kept $confdir, /var/log/pard, /var/lib/pard and the user pard (remove them by hand if wanted)"
    exit 0
fi

# 1. The binary.
if [ -z "$binary" ]; then
    say "building the release binary (swift build -c release --product pard)"
    (cd "$root" && swift build -c release --product pard)
    binary=$(cd "$root" && swift build -c release --show-bin-path)/pard
fi
[ -x "$binary" ] || { echo "install: $binary: not an executable" >&2; exit 1; }
install -d -m 0755 "$destdir$bindir"
install -m 0755 "$binary" "$destdir$bindir/pard"
say "installed $binary as $destdir$bindir/pard"

# 2. The service user (the unit runs as pard:pard; detectors join the group to use the sockets).
group=root
if [ -z "$destdir" ]; then
    if ! getent passwd pard >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/pard --no-create-home --shell /usr/sbin/nologin \
            --comment "pard pedestrian attribute recognition" pard
        say "created the system user and group pard"
    fi
    group=pard
fi

# 3. Attribute presets and the vocabulary.
install -d -m 0755 "$destdir$datadir/attributes"
install -m 0644 "$root"/configs/attributes/*.json "$destdir$datadir/attributes/"
say "installed $(ls "$root"/configs/attributes/*.json | wc -l) attribute presets into $destdir$datadir/attributes"
if [ -s "$destdir$datadir/$vocab" ]; then
    say "kept the vocabulary already at $destdir$datadir/$vocab"
else
    existing=
    for candidate in "${PARD_VOCAB:-}" "$datadir/$vocab" /usr/local/share/pard/$vocab /usr/share/pard/$vocab; do
        if [ -n "$candidate" ] && [ -s "$candidate" ]; then existing=$candidate; break; fi
    done
    if [ -n "$existing" ]; then
        install -m 0644 "$existing" "$destdir$datadir/$vocab"
        say "copied the vocabulary from $existing to $destdir$datadir/$vocab"
    else
        say "fetching the vocabulary (bash .ci/setup --vocab-dir $destdir$datadir)"
        bash "$root/.ci/setup" --vocab-dir "$destdir$datadir"
    fi
fi
if [ -f "$root/README.md" ]; then
    install -d -m 0755 "$destdir$prefix/share/doc/pard"
    install -m 0644 "$root/README.md" "$destdir$prefix/share/doc/pard/README.md"
    say "installed the README as $destdir$prefix/share/doc/pard/README.md"
fi

# 4. The units (the service, and the remote inference worker), pointing at the installed binary.
install -d -m 0755 "$destdir$unitdir"
for unit in pard.service pard-worker.service; do
    sed -e "s#/usr/local/bin/pard#$bindir/pard#g" -e "s#/usr/local/share/doc/pard#$prefix/share/doc/pard#g" \
        "$root/systemd/$unit" > "$destdir$unitdir/$unit"
    chmod 0644 "$destdir$unitdir/$unit"
    say "installed $destdir$unitdir/$unit"
done

# 5. The configuration: camera passwords live there, so root:pard 0640; an existing one is kept.
install -d -m 0755 "$destdir$confdir"
if [ -e "$destdir$confdir/pard.yaml" ]; then
    say "kept the existing $destdir$confdir/pard.yaml (the example is $root/configs/pard.yaml)"
else
    install -m 0640 -g "$group" "$root/configs/pard.yaml" "$destdir$confdir/pard.yaml"
    say "installed the example configuration as $destdir$confdir/pard.yaml (edit it: model and streams)"
fi
if [ -e "$destdir$confdir/pard-worker.yaml" ]; then
    say "kept the existing $destdir$confdir/pard-worker.yaml (the example is $root/configs/pard-worker.yaml)"
else
    install -m 0640 -g "$group" "$root/configs/pard-worker.yaml" "$destdir$confdir/pard-worker.yaml"
    say "installed the worker's example configuration as $destdir$confdir/pard-worker.yaml (for pard-worker.service)"
fi

# 6. Log rotation.
install -d -m 0755 "$destdir/etc/logrotate.d"
install -m 0644 "$root/systemd/pard.logrotate" "$destdir/etc/logrotate.d/pard"
say "installed $destdir/etc/logrotate.d/pard"

if [ "$live" = yes ]; then
    systemctl daemon-reload
    say "reloaded systemd; next: edit $confdir/pard.yaml, check it with '$bindir/pard check-config $confdir/pard.yaml',"
    say "then 'systemctl enable --now pard' and follow it with 'journalctl -u pard -f'"
else
    say "done (no systemd running here, or staged into a DESTDIR: systemctl was not called)"
fi
