#!/usr/bin/python3
"""A GStreamer RTSP server on 127.0.0.1 that asks for Basic credentials (as cameras do).

usage: RTSP_PASSWORD=... security-rtsp-auth-server.py PORT USER
(the password by environment, so no `ps` shows it: the test looks for it there)
Serves MJPEG on rtsp://USER:PASSWORD@127.0.0.1:PORT/door and prints READY once it listens.
"""
import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

port, user, password = sys.argv[1], sys.argv[2], os.environ["RTSP_PASSWORD"]
Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=15/1,format=I420 ! jpegenc ! rtpjpegpay name=pay0 pt=26 )"
)
factory.set_shared(True)
auth = GstRtspServer.RTSPAuth()
token = GstRtspServer.RTSPToken()
token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
server.set_auth(auth)
factory.add_role_from_structure(
    Gst.Structure.new_from_string("viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true")
)
server.get_mount_points().add_factory("/door", factory)
if server.attach(None) == 0:
    print("attach failed", flush=True)
    sys.exit(1)
print("READY", flush=True)
GLib.MainLoop().run()
