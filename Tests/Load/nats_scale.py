#!/usr/bin/python3
"""Remote inference throughput (README, "Remote inference": sizing M): events/s of one `pard run` edge with
local inference, then with 1 and 2 `pard worker`s through a real `nats-server -js`, each on one thread.

For each setting it starts a fresh nats-server (JetStream in a temporary folder), the workers, and an edge
whose stream is the bundled 10 frames/s clip (looping, 30 s frame buffer, track_interval 0, queue and
in-flight bounds just over the burst so nothing is shed). Once the stream has decoded past them, it pushes
--frames frames of --boxes boxes each (all at once: a backlog the model side drains as fast as it can),
and times the first push to the last attribute event. It prints, per setting: crops, seconds, events/s,
per-crop seconds, and for remote settings the bytes published per crop and the mean round trip; then
the NATS overhead per crop: the CPU seconds all processes (edge, nats-server, workers) spent per crop
during the burst, remote settings minus local (CPU time, not wall time: less sensitive to a busy machine).
Settings may repeat (--workers 0,1,2,0,1,2) to see the noise. Exits 1 when a setting does not yield one event per crop.

A measurement command, not part of `swift test`; standard library only:

    /usr/bin/python3 Tests/Load/nats_scale.py                       # promptpar-small fixture, ~1 min
    /usr/bin/python3 Tests/Load/nats_scale.py --checkpoint synthetic:ViT-L/14 --frames 3 --workers 0,1,2
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CLIP = os.path.join(REPO, "Tests", "Fixtures", "video", "vtest_first100_h264.mp4")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def metrics(port):
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return ""


def metric(text, name, labels=""):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#") and labels in line:
            total += float(line.split()[-1])
    return total


def wait(seconds, condition):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def cpu_seconds(procs):
    """utime + stime of `procs` (and their threads), seconds."""
    total = 0.0
    for p in procs:
        try:
            with open(f"/proc/{p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def attribute_events(path):
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(1 for line in f if '"type":"attributes"' in line.replace(" ", ""))


def model_lines(args, threads):
    lines = [f"  checkpoint: {args.checkpoint}", f"  threads: {threads}", f"  batch_size: {args.batch}", "  batch_wait: 50ms"]
    if args.attributes:
        lines.append(f"  attributes: {args.attributes}")
    return "\n".join(lines)


def run_setting(args, workers, folder):
    """Events/s of one setting: workers = 0 is local inference."""
    procs = []
    nats_url = None
    try:
        if workers > 0:
            nats_port = free_port()
            nats_url = f"nats://127.0.0.1:{nats_port}"
            log = os.path.join(folder, "nats.log")
            procs.append(subprocess.Popen(["nats-server", "-js", "-sd", os.path.join(folder, "js"), "-a", "127.0.0.1",
                                           "-p", str(nats_port), "-l", log]))
            if not wait(10, lambda: os.path.exists(log) and "Server is ready" in open(log).read()):
                raise RuntimeError("nats-server did not start")
        worker_ports = []
        for i in range(workers):
            port = free_port()
            worker_ports.append(port)
            config = os.path.join(folder, f"worker{i}.yaml")
            with open(config, "w") as f:
                f.write(f"model:\n{model_lines(args, 1)}\nnats:\n  url: {nats_url}\n  name: w{i}\n"
                        f"metrics:\n  listen: 127.0.0.1:{port}\n")
            procs.append(subprocess.Popen([args.pard, "worker", "--config", config],
                                          stderr=open(os.path.join(folder, f"worker{i}.log"), "w")))
        for i, port in enumerate(worker_ports):
            if not wait(300, lambda: metric(metrics(port), "pard_nats_connected") == 1):
                raise RuntimeError(f"worker {i} did not start: see {folder}/worker{i}.log")
        edge_port = free_port()
        events = os.path.join(folder, "events.jsonl")
        sock = os.path.join(folder, "cam1.sock")
        inference = (f"inference:\n  nats: {nats_url}\n  edge: bench\n  max_in_flight: 100000\n  result_timeout: 1h\n"
                     if workers > 0 else "")
        config = os.path.join(folder, "edge.yaml")
        crops = args.frames * args.boxes
        with open(config, "w") as f:
            f.write(f"model:\n{model_lines(args, 1)}\noutput:\n  events: {events}\nmetrics:\n  listen: 127.0.0.1:{edge_port}\n"
                    f"queue:\n  max_crops: {crops + 16}\n{inference}shutdown_timeout: 1\nstreams:\n  - name: cam1\n    url: {CLIP}\n"
                    f"    realtime: true\n    loop: true\n    detections: unix:{sock}\n    frame_buffer: 60\n"
                    f"    track_interval: 0\n    track_timeout: 600\n")
        env = dict(os.environ, PARD_REMOTE_PIXELS=args.pixels)
        edge = subprocess.Popen([args.pard, "run", "--config", config], stderr=open(os.path.join(folder, "edge.log"), "w"), env=env)
        procs.append(edge)
        first, last = 11, 10 + args.frames
        if not wait(300, lambda: metric(metrics(edge_port), "pard_frames_decoded_total") > last):
            raise RuntimeError(f"the edge did not decode frame {last}: {open(os.path.join(folder, 'edge.log')).read()[-2000:]}")
        lines = []
        for frame in range(first, last + 1):
            boxes = [{"x": 40.0 + 150 * (b % 5), "y": 100.0 + 20 * (b // 5), "w": 60.0, "h": 150.0, "id": b + 1, "score": 0.9}
                     for b in range(args.boxes)]
            lines.append(json.dumps({"frame": frame, "boxes": boxes}))
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        started = time.time()
        cpu_before = cpu_seconds(procs)
        s.sendall(("\n".join(lines) + "\n").encode())
        done = wait(args.timeout, lambda: attribute_events(events) >= crops)
        seconds = time.time() - started
        cpu = cpu_seconds(procs) - cpu_before
        s.close()
        text = metrics(edge_port)
        got = attribute_events(events)
        result = {"workers": workers, "crops": crops, "events": got, "seconds": seconds, "rate": got / seconds, "ok": done and got == crops,
                  "shed": metric(text, "pard_crops_shed_total"),
                  "cpu_per_crop": cpu / max(1, got)}
        if workers > 0:
            published = max(1.0, metric(text, "pard_remote_crops_published_total"))
            result["bytes_per_crop"] = metric(text, "pard_remote_published_bytes_total") / published
            result["round_trip"] = metric(text, "pard_remote_round_trip_seconds_sum") / max(1.0, metric(text, "pard_remote_round_trip_seconds_count"))
            result["per_worker"] = [metric(metrics(p), "pard_worker_crops_total", 'result="classified"') for p in worker_ports]
        return result
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pard", default=os.path.join(REPO, ".build", "debug", "pard"))
    parser.add_argument("--checkpoint", default=os.path.join(REPO, "Tests", "Fixtures", "promptpar-small", "checkpoint.pth"))
    parser.add_argument("--attributes", default=None, help="default PETA for the promptpar-small fixture")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--boxes", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--workers", default="0,1,2", help="settings, 0 = local inference")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--pixels", default="u8", choices=["u8", "f32"], help="f32: crops as float32 (PARD_REMOTE_PIXELS)")
    args = parser.parse_args()
    if args.attributes is None and "promptpar-small" in args.checkpoint:
        args.attributes = "PETA"
    results = []
    for workers in [int(w) for w in args.workers.split(",")]:
        with tempfile.TemporaryDirectory(prefix="pard-nats-scale-") as folder:
            r = run_setting(args, workers, folder)
        results.append(r)
        name = "local (1 thread)" if workers == 0 else f"{workers} worker{'s' if workers > 1 else ''} (1 thread each)"
        extra = ""
        if workers > 0:
            extra = f"  {r['bytes_per_crop']:.0f} B/crop, mean round trip {r['round_trip'] * 1000:.1f} ms, per worker {r['per_worker']}"
        print(f"{name:28s} {r['events']}/{r['crops']} events in {r['seconds']:.2f} s: {r['rate']:.1f} events/s, "
              f"{1000 / r['rate']:.1f} ms/crop, CPU {r['cpu_per_crop'] * 1000:.1f} ms/crop (all processes){extra}", flush=True)
    local = [r for r in results if r["workers"] == 0]
    remote = [r for r in results if r["workers"] > 0]
    if local and remote:
        base = sum(r["cpu_per_crop"] for r in local) / len(local)
        extra = sum(r["cpu_per_crop"] for r in remote) / len(remote) - base
        print(f"NATS overhead per crop (CPU of edge + server + workers, remote minus local): {extra * 1000:.1f} ms")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
