#!/usr/bin/python3
"""The soak of `pard run` (README, "Soak"): two looping RTSP streams with detections pushed for every
decoded frame, for --minutes. Every minute the event file is rotated (renamed away) and pard gets SIGHUP;
every --restart-every minutes one RTSP server (in turn) is killed and started again on its port.

Prints pard's VmRSS, open descriptors, threads, events written and crops shed at the start (after
--warmup seconds, once the allocator has settled) and at the end, then checks: VmRSS grew at most 2 %,
descriptors and threads outside libdispatch's pool (each the value held most of a minute) the same in
the first minute after the warm-up and in the last, and every accepted crop is accounted for: from
/metrics, boxes received = classified + shed + late + unmatched + invalid + skipped by the track
interval; from pard's `stopped` line, accepted = classified + shed. Exit status 1 when a check fails,
2 on a setup error.

Reuses Tests/Load/two_streams.py (children, RTSP servers, /metrics parsing). A small model (the tiny
fixture checkpoint) and the small sample clip keep the CPU low. Run from the repository root with the
system python3 (`Tests/Soak/soak.sh MINUTES` does):

    /usr/bin/python3 Tests/Soak/soak.py --minutes 30 --pard .build/debug/pard
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Load"))
import two_streams as load  # noqa: E402

REPO = load.REPO
STREAMS = load.STREAMS
CLIP = os.path.join(REPO, "Tests", "Fixtures", "video", "vtest_first100_h264.mp4")
TINY = os.path.join(REPO, "Tests", "Fixtures", "promptpar-tiny", "checkpoint.pth")


def parse_arguments():
    parser = argparse.ArgumentParser(description="Soak of `pard run` (see the docstring).")
    parser.add_argument("--minutes", type=float, default=30, help="length of the soak (default 30)")
    parser.add_argument("--pard", default=os.path.join(REPO, ".build", "release", "pard"),
                        help="the pard binary (default .build/release/pard)")
    parser.add_argument("--checkpoint", default=TINY, help="model.checkpoint (default the tiny fixture)")
    parser.add_argument("--restart-every", type=float, default=4,
                        help="minutes between RTSP server restarts, alternating streams (default 4)")
    parser.add_argument("--warmup", type=float, default=90,
                        help="seconds before the start sample (default 90; at most a fifth of the soak is used)")
    parser.add_argument("--max-rss-growth", type=float, default=2.0, help="percent (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    arguments = parser.parse_args()
    arguments.pard = os.path.abspath(arguments.pard)
    arguments.checkpoint = os.path.abspath(arguments.checkpoint)
    return arguments


def process_sample(pid, metrics):
    """VmRSS (kB), threads, open descriptors of `pid`, and the event and shed counters."""
    rss = threads = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return {
        "rss_kb": rss,
        "threads": threads,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "events": int(metrics.value("pard_events_total")),
        "shed": int(metrics.value("pard_crops_shed_total")),
        "classified": int(metrics.value("pard_crops_classified_total")),
    }


def own_threads_and_fds(pid):
    """Threads of `pid` outside libdispatch's worker pool (which names its threads after their QoS class,
    e.g. `r-initiated-qos`, and starts and ends them with the load), and its open descriptors."""
    own = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                own += "qos" not in f.read()
        except OSError:
            pass  # ended meanwhile
    return own, len(os.listdir(f"/proc/{pid}/fd"))


def show(label, sample):
    load.log(f"{label}: VmRSS {sample['rss_kb']} kB, {sample['fds']} fds, {sample['threads']} threads, "
             f"{sample['events']} events, {sample['classified']} crops classified, {sample['shed']} shed")


class Server:
    """serve.py --loop of the sample clip on a fixed port, restartable."""

    def __init__(self, children, work, name):
        self.children, self.work, self.name = children, work, name
        self.port = load.free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/cam"
        self.restarts = 0
        self.process = None
        self.start()

    def start(self):
        stderr = open(os.path.join(self.work, f"serve-{self.name}-{self.restarts}.log"), "wb")
        self.process = self.children.start(
            [load.SYSTEM_PYTHON, load.SERVE, "--port", str(self.port), "--path", "/cam", "--file", CLIP, "--loop"],
            stdout=subprocess.PIPE, stderr=stderr, text=True)
        deadline = time.monotonic() + 60
        for line in self.process.stdout:
            if line.strip() == "READY":
                break
            if time.monotonic() > deadline:
                raise load.SetupError(f"serve.py on {self.port} not READY")
        # Keep reading (FRAMES lines) so that the pipe never fills.
        threading.Thread(target=lambda p=self.process: [None for _ in p.stdout], daemon=True).start()

    def restart(self):
        self.process.kill()
        self.process.wait(10)
        self.restarts += 1
        self.start()


def write_config(path, work, checkpoint, servers, metrics_port):
    load.write_pard_config(path, "Tests/Soak/soak.py", checkpoint, ["batch_size: 4", "threads: 1"], work, servers,
                           metrics_port, ["track_interval: 0.5", "timeout: 2", "reconnect:", "  initial: 0.5", "  max: 2"])


def detection_line(frame):
    """Two tracked people of the sample clip's first frame (they stay in the picture)."""
    boxes = [{"x": 498.27, "y": 151.7, "w": 35.47, "h": 90.6, "id": 1, "score": 0.9},
             {"x": 246.13, "y": 215.87, "w": 41.07, "h": 105.6, "id": 2, "score": 0.8}]
    return json.dumps({"frame": frame, "boxes": boxes}, separators=(",", ":")) + "\n"


def connect(work, name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(os.path.join(work, name + ".sock"))
    return s


def soak(arguments, children, work):
    if not os.access(arguments.pard, os.X_OK):
        raise load.SetupError(f"{arguments.pard}: no pard binary")
    servers = [Server(children, work, name) for name in STREAMS]
    metrics_port = load.free_port()
    config = os.path.join(work, "pard.yaml")
    write_config(config, work, arguments.checkpoint, servers, metrics_port)
    log_path = os.path.join(work, "pard.log")
    with open(log_path, "wb") as pard_log:
        pard = children.start([arguments.pard, "run", "--config", config], stdout=subprocess.DEVNULL,
                              stderr=pard_log, stdin=subprocess.DEVNULL)
    load.log(f"pard run (pid {pard.pid}); work folder {work}")
    deadline = time.monotonic() + 120
    while True:
        if pard.poll() is not None:
            raise load.SetupError(f"pard exited {pard.returncode} at startup; see {log_path}")
        try:
            if all(load.fetch_metrics(metrics_port).value("pard_frames_decoded_total", stream=s) > 0 for s in STREAMS):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise load.SetupError(f"streams not decoding within 120 s; see {log_path}")
        time.sleep(0.5)

    sockets = {name: connect(work, name) for name in STREAMS}
    m = load.fetch_metrics(metrics_port)
    last = {s: int(m.value("pard_frames_decoded_total", stream=s)) for s in STREAMS}
    start = time.monotonic()
    end = start + 60 * arguments.minutes
    warmup = min(arguments.warmup, 60 * arguments.minutes / 5)
    first = None
    next_hup = start + 60
    next_restart = start + 60 * arguments.restart_every
    restarted = 0
    hups = 0
    next_tick = start
    # Threads and descriptors every tick: libdispatch's pool starts and ends threads as the load comes and
    # goes (left out), a /metrics connection holds a descriptor for a moment and a reconnecting stream
    # lacks its socket for a moment, so "constant" compares the value held most of the first minute after
    # the warm-up with the value held most of the last minute, not two single readings.
    samples = []
    load.log(f"soaking for {arguments.minutes:g} min")
    while True:
        now = time.monotonic()
        if pard.poll() is not None:
            raise load.SetupError(f"pard exited {pard.returncode} during the soak; see {log_path}")
        m = load.fetch_metrics(metrics_port)
        for name in STREAMS:
            decoded = int(m.value("pard_frames_decoded_total", stream=name))
            if decoded < last[name]:  # cannot happen: numbering is stream-wide
                last[name] = decoded
            if decoded > last[name]:
                try:
                    sockets[name].sendall("".join(detection_line(n) for n in range(last[name] + 1, decoded + 1)).encode())
                except OSError as error:
                    raise load.SetupError(f"detection socket of {name}: {error}")
                last[name] = decoded
        samples.append((now - start, *own_threads_and_fds(pard.pid)))
        if first is None and now - start >= warmup:
            first = process_sample(pard.pid, m)
            show("start", first)
        if now >= next_hup:
            events = os.path.join(work, "events.jsonl")
            if os.path.exists(events):
                os.replace(events, events + ".1")  # logrotate's rename; the old one is then removed
            pard.send_signal(signal.SIGHUP)
            hups += 1
            next_hup += 60
            time.sleep(0.5)
            if os.path.exists(events + ".1"):
                os.remove(events + ".1")
            sample = process_sample(pard.pid, m)
            show(f"minute {hups}", sample)
        if now >= next_restart:
            server = servers[restarted % len(servers)]
            load.log(f"restarting the RTSP server of {STREAMS[restarted % len(servers)]}")
            server.restart()
            restarted += 1
            next_restart += 60 * arguments.restart_every
        if now >= end:
            break
        next_tick += 0.2
        time.sleep(max(0.0, next_tick - time.monotonic()))

    # Let the queue drain, then the last sample and the accounting.
    time.sleep(3)
    final = load.fetch_metrics(metrics_port)
    last_sample = process_sample(pard.pid, final)
    show("end", last_sample)
    for s in sockets.values():
        s.close()
    received = final.value("pard_detections_total", result="received")
    accounted = {
        "classified": final.value("pard_crops_classified_total"),
        "shed": final.value("pard_crops_shed_total"),
        "late": final.value("pard_detections_total", result="late"),
        "unmatched": final.value("pard_detections_total", result="unmatched"),
        "invalid": final.value("pard_detections_total", result="invalid"),
        "skipped": final.value("pard_boxes_skipped_total"),
        "queued": final.value("pard_queue_depth"),
    }
    status = load.Children.stop(pard, 60)
    fields = load.stopped_fields(log_path)
    for server in servers:
        load.Children.stop(server.process, 10)

    growth = 100.0 * (last_sample["rss_kb"] - first["rss_kb"]) / first["rss_kb"]
    elapsed = samples[-1][0] if samples else 0
    first_minute = [x for x in samples if warmup <= x[0] < warmup + 60]
    last_minute = [x for x in samples if x[0] >= elapsed - 60]
    def usual(values):
        values = list(values)
        return max(set(values), key=values.count) if values else 0
    threads_start, threads_end = (usual(x[1] for x in w) for w in (first_minute, last_minute))
    fds_start, fds_end = (usual(x[2] for x in w) for w in (first_minute, last_minute))
    reconnects = {s: int(final.value("pard_stream_reconnects_total", stream=s)) for s in STREAMS}
    summary = {
        "minutes": arguments.minutes, "warmup_s": warmup, "sighups": hups, "server_restarts": restarted,
        "reconnects": reconnects, "start": first, "end": last_sample, "rss_growth_percent": round(growth, 2),
        "own_threads_first_minute": threads_start, "own_threads_last_minute": threads_end,
        "fds_first_minute": fds_start, "fds_last_minute": fds_end,
        "boxes_received": int(received), "accounted": {k: int(v) for k, v in accounted.items()},
        "stopped_line": fields, "exit_status": status,
    }
    print(json.dumps(summary))
    checks = [
        (growth <= arguments.max_rss_growth, f"VmRSS grew {growth:.2f} % (at most {arguments.max_rss_growth} %)"),
        (fds_end == fds_start, f"open descriptors (most of a minute) {fds_start} after the warm-up -> {fds_end} at the end"),
        (threads_end == threads_start,
         f"threads outside libdispatch's pool (most of a minute) {threads_start} after the warm-up -> {threads_end} at the end"),
        (received == sum(accounted.values()),
         f"boxes received {int(received)} = " + " + ".join(f"{int(v)} {k}" for k, v in accounted.items())),
        (fields.get("crops_accepted") == fields.get("crops_classified", -1) + fields.get("shed_queue_full", 0)
         + fields.get("shed_shutdown", 0), f"stopped line: {fields}"),
        (status == 0, f"exit status {status}"),
        (hups >= int(arguments.minutes) - 1, f"{hups} SIGHUPs"),
    ]
    failed = False
    for ok, text in checks:
        print(("ok    " if ok else "FAIL  ") + text)
        failed |= not ok
    return 1 if failed else 0


def main():
    arguments = parse_arguments()
    children = load.Children()
    signal.signal(signal.SIGTERM, load._raise_on_signal)
    work = tempfile.mkdtemp(prefix="pard-soak-")
    status = 2
    try:
        status = soak(arguments, children, work)
    except load.SetupError as error:
        print(f"soak: {error}", file=sys.stderr)
    finally:
        children.stop_all()
        if status == 0 and not arguments.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"soak: work folder kept: {work}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
