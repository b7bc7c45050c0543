/* global window, document, MediaStream, AudioContext */
// window.phone: register, ring, answer, hear (tone power by WebAudio), keypad, hang up, video stats.
const SIP = await import('/sipjs/index.js');
const state = { registered: false, refused: null, rings: 0, session: null, ended: 0, events: [] };
let ua;
let analyser;

function attach(pc) {
  const stream = new MediaStream();
  for (const r of pc.getReceivers()) if (r.track) stream.addTrack(r.track);
  const audio = document.getElementById('remote');
  // PEERS: WebAudio hears a remote track only while a media element plays it.
  audio.srcObject = new MediaStream(stream.getAudioTracks());
  const vt = stream.getVideoTracks();
  if (vt.length) document.getElementById('video').srcObject = new MediaStream(vt);
  const ctx = new AudioContext({ sampleRate: 48000 });
  const src = ctx.createMediaStreamSource(new MediaStream(stream.getAudioTracks()));
  analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  src.connect(analyser);
}

window.phone = {
  state,
  async register(server, user, password) {
    ua = new SIP.UserAgent({
      uri: SIP.UserAgent.makeURI(`sip:${user}@127.0.0.1`),
      transportOptions: { server },
      authorizationUsername: user,
      authorizationPassword: password,
      logLevel: 'error',
      sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] } },
      delegate: {
        onInvite(inv) {
          state.rings++;
          state.session = inv;
          state.events.push('ring');
          inv.stateChange.addListener((s) => {
            state.events.push(s);
            if (s === 'Established') attach(inv.sessionDescriptionHandler.peerConnection);
            if (s === 'Terminated') state.ended++;
          });
        },
      },
    });
    await ua.start();
    const reg = new SIP.Registerer(ua, { expires: 600 });
    reg.stateChange.addListener((s) => (state.registered = s === 'Registered'));
    await reg.register({ requestDelegate: { onReject: (r) => (state.refused = r.message.statusCode) } });
  },
  async answer() {
    await state.session.accept({ sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } });
  },
  async call(target) {
    const inv = new SIP.Inviter(ua, SIP.UserAgent.makeURI(target), { sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } });
    state.session = inv;
    inv.stateChange.addListener((s) => {
      state.events.push(s);
      if (s === 'Established') attach(inv.sessionDescriptionHandler.peerConnection);
      if (s === 'Terminated') state.ended++;
    });
    await inv.invite();
  },
  hangup() {
    const s = state.session;
    if (s.state === 'Established') return s.bye();
    if (s instanceof SIP.Invitation) return s.reject();
    return s.cancel();
  },
  dtmf(tones) {
    return state.session.sessionDescriptionHandler.sendDtmf(tones, { duration: 160, interToneGap: 100 });
  },
  /** Power (dB) at `hz` against the median of the spectrum: a tone stands > 20 dB above it. */
  tone(hz) {
    if (!analyser) return -1;
    const bins = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(bins);
    const bin = Math.round((hz / (analyser.context.sampleRate / 2)) * bins.length);
    const peak = Math.max(bins[bin - 1], bins[bin], bins[bin + 1]);
    const sorted = [...bins].filter(Number.isFinite).sort((a, b) => a - b);
    return peak - sorted[Math.floor(sorted.length / 2)];
  },
  async video() {
    const pc = state.session?.sessionDescriptionHandler?.peerConnection;
    if (!pc) return null;
    const stats = await pc.getStats();
    for (const s of stats.values()) if (s.type === 'inbound-rtp' && s.kind === 'video') return { framesDecoded: s.framesDecoded ?? 0, width: s.frameWidth ?? 0, height: s.frameHeight ?? 0, keyFramesDecoded: s.keyFramesDecoded ?? 0, pliCount: s.pliCount ?? 0 };
    return null;
  },
  /** what the page learned from the gateway's RTCP about its audio: our SRs, our report blocks */
  async audioReports() {
    const pc = state.session?.sessionDescriptionHandler?.peerConnection;
    if (!pc) return null;
    const stats = await pc.getStats();
    const out = { srs: 0, remotePacketsSent: 0, rtt: null, remoteLost: null };
    for (const s of stats.values()) {
      if (s.kind !== 'audio') continue;
      if (s.type === 'remote-outbound-rtp') {
        out.srs = s.reportsSent ?? 0;
        out.remotePacketsSent = s.packetsSent ?? 0;
      }
      if (s.type === 'remote-inbound-rtp') {
        out.rtt = s.roundTripTime ?? null;
        out.remoteLost = s.packetsLost ?? null;
      }
    }
    return out;
  },
  async unregister() {
    await ua.stop();
  },
};
window.phoneReady = true;
