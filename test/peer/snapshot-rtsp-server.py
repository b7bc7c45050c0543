#!/usr/bin/python3
"""A GStreamer RTSP test server on 127.0.0.1 for the snapshot tests.

usage: snapshot-rtsp-server.py PORT {h264|mjpeg} [WIDTH HEIGHT]
Serves rtsp://127.0.0.1:PORT/door and prints READY once it listens.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

port, codec = sys.argv[1], sys.argv[2]
width = sys.argv[3] if len(sys.argv) > 3 else "640"
height = sys.argv[4] if len(sys.argv) > 4 else "480"
src = f"videotestsrc is-live=true ! video/x-raw,width={width},height={height},framerate=15/1"
if codec == "h264":
    launch = f"( {src} ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
else:
    launch = f"( {src},format=I420 ! jpegenc ! rtpjpegpay name=pay0 pt=26 )"

Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(launch)
factory.set_shared(True)
server.get_mount_points().add_factory("/door", factory)
if server.attach(None) == 0:
    print("attach failed", flush=True)
    sys.exit(1)
print("READY", flush=True)
GLib.MainLoop().run()
