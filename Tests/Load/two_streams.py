#!/usr/bin/python3
"""The two-stream load test of `pard run` (README, "Performance": "Under load, `pard run` ...").

Serves a 1280x720 25 fps H.264 clip on two loopback RTSP servers (Tests/Fixtures/rtsp/serve.py --loop),
runs `pard run` on both streams, and for --seconds pushes 5 tracked boxes (ids 1..5) for every newly
decoded frame into each stream's Unix socket. Then it stops the servers (their "FRAMES N" is what they
sent), stops pard with SIGTERM, and prints a summary: frames decoded vs sent, boxes received/late/
unmatched, crops/s classified during the second half of the push period, crops classified and shed by
reason, the accounting of the final `stopped` log line (accepted == classified + shed), the exit
status, VmRSS at half time and at the end, and reconnections. Exits 1 when a check fails, 2 on a setup
error. With --bench it then runs `pard bench --synthetic --batch 4 --iterations 3 --threads 2` and
prints the ratio of the two crops/s figures.

A measurement command, not part of `swift test`. Standard library and the system's PyGObject/GStreamer
only (.ci/setup installs them); run it with the system python3 from the repository root:

    /usr/bin/python3 Tests/Load/two_streams.py --bench                  # the README figure, ~4 min
    /usr/bin/python3 Tests/Load/two_streams.py \
        --checkpoint Tests/Fixtures/promptpar-tiny/checkpoint.pth --seconds 20   # a quick check
"""

import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SERVE = os.path.join(REPO, "Tests", "Fixtures", "rtsp", "serve.py")
SYSTEM_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
FULL_MODEL = "synthetic:ViT-L/14"
STREAMS = ("cam1", "cam2")
CLIP_FRAMES = 250
PUSH_INTERVAL = 0.2


class SetupError(Exception):
    """Something needed for the measurement could not be prepared (exit status 2)."""


def parse_arguments():
    parser = argparse.ArgumentParser(description="Two-stream load test of `pard run` (see the docstring).")
    parser.add_argument("--pard", default=os.path.join(REPO, ".build", "release", "pard"),
                        help="the pard binary (default .build/release/pard)")
    parser.add_argument("--checkpoint", default=FULL_MODEL,
                        help=f"model.checkpoint (default {FULL_MODEL}, the full-size model; "
                             "Tests/Fixtures/promptpar-tiny/checkpoint.pth for a quick check)")
    parser.add_argument("--batch", type=int, default=4, help="model.batch_size (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="model.threads (default 2)")
    parser.add_argument("--seconds", type=float, default=120, help="push period in seconds (default 120)")
    parser.add_argument("--track-interval", type=float, default=0,
                        help="streams' track_interval (default 0: every box is a crop, so that accepted == received)")
    parser.add_argument("--clip", help="the 1280x720 25 fps H.264 MP4 (made here if missing; "
                                       "default: cached in the temp folder)")
    parser.add_argument("--startup-timeout", type=float, default=300,
                        help="seconds for pard to load the model and decode on both streams (default 300)")
    parser.add_argument("--bench", action="store_true",
                        help="then run `pard bench --synthetic --batch 4 --iterations 3 --threads 2` and print the ratio")
    parser.add_argument("--min-ratio", type=float, default=0.9,
                        help="with --bench and the full-size model: fail under this run/bench ratio (default 0.9; 0: off)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (config, logs, events)")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    arguments = parser.parse_args()
    if arguments.seconds < 2:
        parser.error("--seconds must be at least 2")
    if not arguments.checkpoint.startswith("synthetic:"):
        arguments.checkpoint = os.path.abspath(arguments.checkpoint)
    arguments.pard = os.path.abspath(arguments.pard)
    return arguments


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Children ---------------------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child: SIGTERM when this script dies, even by SIGKILL (no leftover processes)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Children:
    """Every process started here; stopped (SIGTERM, then SIGKILL) on the way out."""

    def __init__(self):
        self.processes = []

    def start(self, arguments, **options):
        process = subprocess.Popen(arguments, preexec_fn=_die_with_parent, **options)
        self.processes.append(process)
        return process

    @staticmethod
    def stop(process, timeout):
        """SIGTERM, wait up to `timeout` seconds, then SIGKILL. The exit status."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"pid {process.pid} did not stop within {timeout:.0f} s: SIGKILL")
                process.kill()
                process.wait(10)
        return process.returncode

    def stop_all(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                self.stop(process, 10)


def _raise_on_signal(number, _frame):
    raise KeyboardInterrupt(f"signal {number}")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The clip ---------------------------------------------------------------------------------------------

def make_clip(path):
    """Encodes 250 frames of videotestsrc (1280x720, 25 fps, 8-bit 4:2:0 like a camera's) into an H.264 MP4
    at `path`, unless there. (Without the format in the caps, GStreamer picks 10-bit 4:4:4: frames four
    times as large as a camera's.)"""
    if os.path.isfile(path) and os.path.getsize(path) > 0:
        return
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = f"{path}.{os.getpid()}.partial"
    log(f"making {path} ({CLIP_FRAMES} frames, 1280x720, 25 fps, x264)")
    pipeline = Gst.parse_launch(
        f"videotestsrc num-buffers={CLIP_FRAMES} pattern=ball ! video/x-raw,format=I420,width=1280,height=720,framerate=25/1 "
        f"! x264enc ! h264parse ! mp4mux ! filesink name=sink")
    pipeline.get_by_name("sink").set_property("location", partial)
    try:
        pipeline.set_state(Gst.State.PLAYING)
        message = pipeline.get_bus().timed_pop_filtered(
            300 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if message is None:
            raise SetupError("making the clip: no end of stream within 300 s")
        if message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            raise SetupError(f"making the clip: {error.message} ({debug})")
    finally:
        pipeline.set_state(Gst.State.NULL)
    if not os.path.isfile(partial) or os.path.getsize(partial) == 0:
        raise SetupError("making the clip: empty file")
    os.replace(partial, path)


# RTSP servers -----------------------------------------------------------------------------------------

class Server:
    """One `serve.py --loop` of the clip on 127.0.0.1:port/cam."""

    def __init__(self, children, clip, work, name):
        self.port = free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/cam"
        self.stderr = open(os.path.join(work, f"serve-{name}.log"), "wb")
        self.process = children.start(
            [SYSTEM_PYTHON, SERVE, "--port", str(self.port), "--path", "/cam", "--file", clip, "--loop"],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.lines = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.strip())
            if line.strip() == "READY":
                self.ready.set()

    def wait_ready(self, timeout):
        if not self.ready.wait(timeout):
            raise SetupError(f"serve.py on port {self.port} not READY within {timeout:.0f} s "
                             f"(exit status {self.process.poll()}; see {self.stderr.name})")

    def stop(self):
        """SIGTERM; the frames it sent ("FRAMES N"), or None."""
        Children.stop(self.process, 15)
        self.reader.join(5)
        self.stderr.close()
        for line in self.lines:
            if line.startswith("FRAMES "):
                return int(line.split()[1])
        return None


# pard -------------------------------------------------------------------------------------------------

def write_config(path, arguments, work, servers, metrics_port):
    write_pard_config(path, "Tests/Load/two_streams.py", arguments.checkpoint,
                      [f"batch_size: {arguments.batch}", f"threads: {arguments.threads}"], work, servers, metrics_port,
                      [f"track_interval: {arguments.track_interval}"])


def write_pard_config(path, writer, checkpoint, model_lines, work, servers, metrics_port, stream_lines):
    """A `pard run` configuration for one stream per server (named STREAMS, detections on `<work>/<name>.sock`),
    events into `<work>/events.jsonl`; `model_lines` and `stream_lines` are further keys, one per line."""
    lines = [f"# Written by {writer}", "model:", f"  checkpoint: {json.dumps(checkpoint)}"]
    lines += ["  " + line for line in model_lines]
    lines += [
        "output:",
        f"  events: {json.dumps(os.path.join(work, 'events.jsonl'))}",
        "metrics:",
        f"  listen: 127.0.0.1:{metrics_port}",
        "streams:",
    ]
    for name, server in zip(STREAMS, servers):
        lines += [
            f"  - name: {name}",
            f"    url: {server.url}",
            f"    detections: {json.dumps('unix:' + os.path.join(work, name + '.sock'))}",
        ]
        lines += ["    " + line for line in stream_lines]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """A parsed /metrics page: value(name, stream=..., reason=...) sums the matching samples."""

    def __init__(self, text):
        self.samples = []
        for line in text.splitlines():
            match = SAMPLE.match(line)
            if match and not line.startswith("#"):
                labels = dict(LABEL.findall(match.group(3) or ""))
                try:
                    self.samples.append((match.group(1), labels, float(match.group(4))))
                except ValueError:
                    pass

    def value(self, name, **labels):
        return sum(v for n, l, v in self.samples
                   if n == name and all(l.get(k) == want for k, want in labels.items()))


def fetch_metrics(port, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as response:
        return Metrics(response.read().decode("utf-8", "replace"))


def vm_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def detection_line(frame):
    boxes = [{"x": 80 + 240 * (i - 1), "y": 200, "w": 90, "h": 240, "id": i, "score": 0.9} for i in range(1, 6)]
    return json.dumps({"frame": frame, "boxes": boxes}, separators=(",", ":")) + "\n"


def stopped_fields(log_path):
    """The key=value fields of the last `stopped` line of pard's log."""
    with open(log_path, errors="replace") as f:
        lines = [line for line in f if re.search(r"\bstopped\b", line) and "crops_accepted=" in line]
    if not lines:
        return {}
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


def run_bench(pard):
    command = [pard, "bench", "--synthetic", "--batch", "4", "--iterations", "3", "--threads", "2"]
    log("running " + " ".join(command[1:]))
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800, preexec_fn=_die_with_parent)
    if result.returncode != 0:
        raise SetupError(f"pard bench exited {result.returncode}: {result.stderr.strip()[-500:]}")
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    raise SetupError(f"pard bench printed no JSON line: {result.stdout[-500:]}")


# The measurement --------------------------------------------------------------------------------------

def measure(arguments, children, work):
    if not os.access(arguments.pard, os.X_OK):
        raise SetupError(f"{arguments.pard}: no pard binary (build it with `swift build -c release`, or pass --pard)")
    if not arguments.checkpoint.startswith("synthetic:") and not os.path.isfile(arguments.checkpoint):
        raise SetupError(f"{arguments.checkpoint}: no such checkpoint")
    clip = os.path.abspath(arguments.clip or os.path.join(tempfile.gettempdir(), "pard-load-1280x720-25fps-250-i420.mp4"))
    make_clip(clip)

    servers = [Server(children, clip, work, name) for name in STREAMS]
    for server in servers:
        server.wait_ready(60)
    log(f"RTSP servers ready: {', '.join(s.url for s in servers)}")

    metrics_port = free_port()
    config = os.path.join(work, "pard.yaml")
    write_config(config, arguments, work, servers, metrics_port)
    pard_log_path = os.path.join(work, "pard.log")
    with open(pard_log_path, "wb") as pard_log, open(os.path.join(work, "pard.stdout"), "wb") as pard_out:
        pard = children.start([arguments.pard, "run", "--config", config], stdout=pard_out, stderr=pard_log,
                              stdin=subprocess.DEVNULL)
    log(f"pard run (pid {pard.pid}, checkpoint {arguments.checkpoint}, batch {arguments.batch}); log {pard_log_path}")

    # READY: both streams decode.
    deadline = time.monotonic() + arguments.startup_timeout
    while True:
        if pard.poll() is not None:
            raise SetupError(f"pard exited {pard.returncode} during startup; see {pard_log_path}")
        try:
            m = fetch_metrics(metrics_port)
            if all(m.value("pard_frames_decoded_total", stream=s) > 0 for s in STREAMS):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SetupError(f"both streams not decoding within {arguments.startup_timeout:.0f} s; see {pard_log_path}")
        time.sleep(0.5)
    log("pard ready: both streams decode")

    sockets = {}
    for name in STREAMS:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(os.path.join(work, name + ".sock"))
        sockets[name] = s

    # Push 5 boxes for every newly decoded frame, for --seconds.
    m = fetch_metrics(metrics_port)
    last = {s: int(m.value("pard_frames_decoded_total", stream=s)) for s in STREAMS}
    pushed_lines = {s: 0 for s in STREAMS}
    start = time.monotonic()
    half_time = start + arguments.seconds / 2
    end_time = start + arguments.seconds
    half = None
    next_tick = start
    log(f"pushing detections for {arguments.seconds:.0f} s")
    while True:
        now = time.monotonic()
        if pard.poll() is not None:
            raise SetupError(f"pard exited {pard.returncode} during the run; see {pard_log_path}")
        m = fetch_metrics(metrics_port)
        sampled = time.monotonic()
        for name in STREAMS:
            decoded = int(m.value("pard_frames_decoded_total", stream=name))
            if decoded > last[name]:
                sockets[name].sendall("".join(detection_line(n) for n in range(last[name] + 1, decoded + 1)).encode())
                pushed_lines[name] += decoded - last[name]
                last[name] = decoded
        if half is None and now >= half_time:
            half = {"t": sampled, "classified": m.value("pard_crops_classified_total"), "rss_kb": vm_rss_kb(pard.pid)}
            log(f"half time: {half['classified']:.0f} crops classified, VmRSS {half['rss_kb']} kB")
        if now >= end_time:
            break
        next_tick += PUSH_INTERVAL
        time.sleep(max(0.0, next_tick - time.monotonic()))
    if half is None:  # a /metrics request slower than half the period
        raise SetupError("no half-time sample (the push period is too short for this machine)")
    end = {"t": sampled, "classified": m.value("pard_crops_classified_total"), "rss_kb": vm_rss_kb(pard.pid)}
    second_half_rate = (end["classified"] - half["classified"]) / (end["t"] - half["t"])
    reconnects_during_run = {s: m.value("pard_stream_reconnects_total", stream=s) for s in STREAMS}
    log(f"push period over: {second_half_rate:.3f} crops/s in the second half")

    # Stop the servers: their FRAMES, then what pard decoded of them (FFmpeg flushes its decoder at EOF).
    sent = {name: server.stop() for name, server in zip(STREAMS, servers)}
    decoded, stable_since = None, time.monotonic()
    wait_until = time.monotonic() + 10
    while time.monotonic() < wait_until:
        time.sleep(0.5)
        now_decoded = {s: int(fetch_metrics(metrics_port).value("pard_frames_decoded_total", stream=s)) for s in STREAMS}
        if now_decoded != decoded:
            decoded, stable_since = now_decoded, time.monotonic()
        elif time.monotonic() - stable_since >= 2 or all(decoded[s] >= (sent[s] or 0) for s in STREAMS):
            break
    final = fetch_metrics(metrics_port)
    for s in sockets.values():
        s.close()

    # Stop pard.
    stop_started = time.monotonic()
    status = Children.stop(pard, 60)
    stop_seconds = time.monotonic() - stop_started
    fields = stopped_fields(pard_log_path)

    streams = {}
    for name in STREAMS:
        streams[name] = {
            "frames_sent": sent[name],
            "frames_decoded": decoded[name] if decoded else None,
            "boxes_pushed": 5 * pushed_lines[name],
            "received": int(final.value("pard_detections_total", stream=name, result="received")),
            "late": int(final.value("pard_detections_total", stream=name, result="late")),
            "unmatched": int(final.value("pard_detections_total", stream=name, result="unmatched")),
            "invalid": int(final.value("pard_detections_total", stream=name, result="invalid")),
            "malformed": int(final.value("pard_detection_lines_malformed_total", stream=name)),
            "crops_classified": int(final.value("pard_crops_classified_total", stream=name)),
            "reconnects": int(reconnects_during_run[name]),
        }
    figures = {
        "checkpoint": arguments.checkpoint,
        "batch": arguments.batch,
        "threads": arguments.threads,
        "seconds": arguments.seconds,
        "streams": streams,
        "crops_per_s_second_half": round(second_half_rate, 3),
        "crops_classified": fields.get("crops_classified"),
        "crops_accepted": fields.get("crops_accepted"),
        "shed_queue_full": fields.get("shed_queue_full"),
        "shed_shutdown": fields.get("shed_shutdown"),
        "metrics_shed_queue_full_before_stop": int(final.value("pard_crops_shed_total", reason="queue_full")),
        "exit_status": status,
        "stop_seconds": round(stop_seconds, 1),
        "rss_kb_half": half["rss_kb"],
        "rss_kb_end": end["rss_kb"],
    }
    return figures


def checks(figures, arguments):
    """(description, passed) for every invariant."""
    result = []
    for name, s in figures["streams"].items():
        # serve.py counts a frame as it enters the payloader: the last one may still be in the server's
        # send backlog when SIGTERM ends its main loop, so one frame short is not a loss in pard.
        missing = None if s["frames_sent"] is None or s["frames_decoded"] is None else s["frames_sent"] - s["frames_decoded"]
        note = "" if missing == 0 else f"; {missing} short: the frame in flight when the server stopped" if missing == 1 else ""
        result.append((f"{name}: every frame sent was decoded ({number(s['frames_decoded'])} of {number(s['frames_sent'])}{note})",
                       missing in (0, 1)))
        result.append((f"{name}: every box pushed was received ({s['received']} of {s['boxes_pushed']})",
                       s["received"] == s["boxes_pushed"]))
        result.append((f"{name}: no late, unmatched, invalid or malformed detections",
                       s["late"] == s["unmatched"] == s["invalid"] == s["malformed"] == 0))
        result.append((f"{name}: no reconnection during the run", s["reconnects"] == 0))
    f = figures
    have = all(f[k] is not None for k in ("crops_classified", "crops_accepted", "shed_queue_full", "shed_shutdown"))
    result.append(("the `stopped` log line was written", have))
    if have:
        shed = f["shed_queue_full"] + f["shed_shutdown"]
        result.append((f"accepted == classified + shed ({f['crops_accepted']} == {f['crops_classified']} + {shed})",
                       f["crops_accepted"] == f["crops_classified"] + shed))
        if arguments.track_interval == 0:
            received = sum(s["received"] for s in f["streams"].values())
            result.append((f"accepted == received with track_interval 0 ({f['crops_accepted']} == {received})",
                           f["crops_accepted"] == received))
    result.append((f"exit status 0 (got {f['exit_status']})", f["exit_status"] == 0))
    if "ratio" in f and arguments.checkpoint == FULL_MODEL and arguments.min_ratio > 0:
        result.append((f"run/bench ratio {f['ratio']:.1%} >= {arguments.min_ratio:.0%}", f["ratio"] >= arguments.min_ratio))
    return result


def number(x):
    return "-" if x is None else f"{x:,}"


def print_summary(figures, results):
    f = figures
    print()
    print(f"pard run, two RTSP streams (1280x720 25 fps), {f['checkpoint']}, batch {f['batch']}, "
          f"threads {f['threads']}, {f['seconds']:.0f} s of 5 boxes per decoded frame")
    header = ("stream", "sent", "decoded", "boxes pushed", "received", "late", "unmatched", "invalid",
              "classified", "reconnects")
    rows = [header] + [(name, number(s["frames_sent"]), number(s["frames_decoded"]), number(s["boxes_pushed"]),
                        number(s["received"]), number(s["late"]), number(s["unmatched"]), number(s["invalid"]),
                        number(s["crops_classified"]), number(s["reconnects"]))
                       for name, s in f["streams"].items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  " + "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    rss_change = ""
    if f["rss_kb_half"] and f["rss_kb_end"]:
        rss_change = f" ({(f['rss_kb_end'] - f['rss_kb_half']) / f['rss_kb_half']:+.2%})"
    lines = [
        ("crops/s, second half", f"{f['crops_per_s_second_half']:.3f}"),
        ("crops accepted", number(f["crops_accepted"])),
        ("crops classified", number(f["crops_classified"])),
        ("shed queue_full", number(f["shed_queue_full"])),
        ("shed shutdown", number(f["shed_shutdown"])),
        ("VmRSS half / end of push", f"{number(f['rss_kb_half'])} kB / {number(f['rss_kb_end'])} kB{rss_change}"),
        ("exit status", f"{f['exit_status']} (stopped in {f['stop_seconds']} s)"),
    ]
    if "bench_crops_per_s" in f:
        lines.append(("pard bench crops/s", f"{f['bench_crops_per_s']:.3f}"))
        lines.append(("run / bench", f"{f['ratio']:.1%}"))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"  {key.ljust(width)}  {value}")
    print()
    for description, passed in results:
        print(f"  {'ok  ' if passed else 'FAIL'}  {description}")


def main():
    arguments = parse_arguments()
    for number_ in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number_, _raise_on_signal)
    children = Children()
    work = tempfile.mkdtemp(prefix="pard-load-")
    keep = arguments.keep
    try:
        figures = measure(arguments, children, work)
        if arguments.bench:
            bench = run_bench(arguments.pard)
            figures["bench_crops_per_s"] = bench["crops_per_s"]
            figures["ratio"] = figures["crops_per_s_second_half"] / bench["crops_per_s"]
        results = checks(figures, arguments)
        print_summary(figures, results)
        if arguments.json:
            print(json.dumps(figures, sort_keys=True))
        failed = [d for d, passed in results if not passed]
        if failed:
            keep = True
            log(f"{len(failed)} check(s) failed; work folder kept: {work}")
            return 1
        return 0
    except SetupError as error:
        keep = True
        log(f"error: {error} (work folder kept: {work})")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        children.stop_all()
        if keep:
            log(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
