#!/usr/bin/python3
"""A small RTSP server for pard's tests: GStreamer's RTSP server through PyGObject.

Serves one H.264 stream on rtsp://127.0.0.1:PORT/PATH, either a file (an MP4 holding H.264,
optionally looped) or a test pattern encoded live with x264. Prints "READY" on stdout (flushed)
once it listens, then runs until killed. SIGTERM/SIGINT end it cleanly after printing
"FRAMES N": the access units (frames) handed to the RTP payloader over the server's life, summed over
every media it served (a file media is made per client; the test pattern is one media shared by all
clients), so that a test can compare frames decoded with frames sent.

Needs Debian's python3-gi and GStreamer packages, so run it with the system python3:

    /usr/bin/python3 Tests/Fixtures/rtsp/serve.py --port 8554 --path /cam \
        --file Tests/Fixtures/video/vtest_first100_h264.mp4 --loop
    /usr/bin/python3 Tests/Fixtures/rtsp/serve.py --port 8554 --path /cam \
        --pattern --width 1280 --height 720 --fps 25

Packages: python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-libav
"""

import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def parse_arguments():
    parser = argparse.ArgumentParser(description="Serve H.264 over RTSP on loopback for tests.")
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on (127.0.0.1)")
    parser.add_argument("--path", default="/cam", help="mount path, default /cam")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", help="an MP4 file holding H.264 video")
    source.add_argument("--pattern", action="store_true", help="videotestsrc encoded with x264")
    parser.add_argument("--loop", action="store_true", help="start the file again at its end")
    parser.add_argument("--width", type=int, default=640, help="test pattern width in pixels")
    parser.add_argument("--height", type=int, default=360, help="test pattern height in pixels")
    parser.add_argument("--fps", type=int, default=25, help="test pattern frames per second")
    parser.add_argument("--bitrate", type=int, default=0,
                        help="test pattern bitrate in kbit/s (0: x264's default)")
    arguments = parser.parse_args()
    if not arguments.path.startswith("/"):
        arguments.path = "/" + arguments.path
    return arguments


def read_access_units(path):
    """The file's H.264 access units in decode order, as (data, pts, dts, duration) in nanoseconds
    (dts may be None), with SPS/PPS repeated in band so that any client can start at a key frame."""
    pipeline = Gst.parse_launch(
        f'filesrc name=src ! qtdemux ! h264parse config-interval=-1 '
        f'! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false'
    )
    pipeline.get_by_name("src").set_property("location", path)
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    units = []
    caps = None
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        caps = caps or sample.get_caps()
        buffer = sample.get_buffer()
        ok, info = buffer.map(Gst.MapFlags.READ)
        if not ok:
            continue
        data = bytes(info.data)
        buffer.unmap(info)
        dts = buffer.dts if buffer.dts != Gst.CLOCK_TIME_NONE else None
        units.append((data, buffer.pts, dts, buffer.duration, buffer.has_flags(Gst.BufferFlags.DELTA_UNIT)))
    pipeline.set_state(Gst.State.NULL)
    if not units or caps is None:
        raise RuntimeError(f"{path}: no H.264 video found")
    return units, caps


class FileFactory(GstRtspServer.RTSPMediaFactory):
    """Plays the file's access units through an appsrc, at the file's own timestamps.

    With --loop the units are sent again and again with their timestamps shifted by one file
    duration per pass, so a client sees one continuous stream whose timestamps keep increasing.
    Without it the stream ends (EOS) after one pass. Each client connection gets a fresh media
    starting at the file's beginning.
    """

    def __init__(self, path, loop):
        super().__init__()
        self.units, self.caps = read_access_units(path)
        frame = next((u[3] for u in self.units if u[3] != Gst.CLOCK_TIME_NONE), Gst.SECOND // 25)
        self.duration = max(u[1] for u in self.units) + frame
        self.loop = loop
        self.set_launch("( appsrc name=src format=time ! h264parse config-interval=-1 "
                        "! rtph264pay name=pay0 pt=96 config-interval=-1 )")
        self.set_shared(False)
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, _factory, media):
        source = media.get_element().get_by_name("src")
        source.set_property("caps", self.caps)
        source.set_property("max-bytes", 4 * 1024 * 1024)
        state = {"index": 0, "pass": 0}

        def on_need_data(appsrc, _length):
            if state["index"] >= len(self.units):
                if not self.loop:
                    appsrc.emit("end-of-stream")
                    return
                state["index"] = 0
                state["pass"] += 1
            data, pts, dts, duration, delta = self.units[state["index"]]
            state["index"] += 1
            offset = state["pass"] * self.duration
            buffer = Gst.Buffer.new_wrapped(data)
            buffer.pts = pts + offset
            buffer.dts = dts + offset if dts is not None else Gst.CLOCK_TIME_NONE
            buffer.duration = duration
            if delta:
                buffer.set_flags(Gst.BufferFlags.DELTA_UNIT)
            appsrc.emit("push-buffer", buffer)

        source.connect("need-data", on_need_data)
        count_frames(media)


FRAMES_SENT = [0]


def count_frames(media):
    """Counts the buffers (one access unit each) entering the media's payloader into FRAMES_SENT."""
    payloader = media.get_element().get_by_name("pay0")
    if payloader is None:
        return

    def on_buffer(_pad, _info):
        FRAMES_SENT[0] += 1
        return Gst.PadProbeReturn.OK

    payloader.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_buffer)


class PatternFactory(GstRtspServer.RTSPMediaFactory):
    """videotestsrc at the given size and rate, encoded live with x264 (zero latency)."""

    def __init__(self, width, height, fps, bitrate):
        super().__init__()
        bitrate_option = f" bitrate={bitrate}" if bitrate > 0 else ""
        self.set_launch(
            f"( videotestsrc is-live=true pattern=ball "
            f"! video/x-raw,width={width},height={height},framerate={fps}/1,format=I420 "
            f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps}{bitrate_option} "
            f"! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
        self.set_shared(True)
        self.connect("media-configure", lambda _factory, media: count_frames(media))


def main():
    arguments = parse_arguments()
    Gst.init(None)
    if arguments.file is not None:
        path = os.path.abspath(arguments.file)
        if not os.path.isfile(path):
            print(f"serve.py: {path}: no such file", file=sys.stderr)
            return 2
        factory = FileFactory(path, arguments.loop)
    else:
        factory = PatternFactory(arguments.width, arguments.height, arguments.fps, arguments.bitrate)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(arguments.port))
    server.get_mount_points().add_factory(arguments.path, factory)
    if server.attach(None) == 0:
        print(f"serve.py: cannot listen on 127.0.0.1:{arguments.port}", file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    for number in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, number, lambda: (loop.quit(), False)[1])
    print("READY", flush=True)
    loop.run()
    print(f"FRAMES {FRAMES_SENT[0]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
