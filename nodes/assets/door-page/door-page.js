// The door page in the browser (served by intercom-door-page): a sip.js phone registered
// as one of the page's users over SIP over WebSocket, and the door beside it: who rings
// with that ring's picture, then the camera live, Answer, Mute, keypad (RFC 4733 from the
// browser), Hang up, Look and Open. Open only asks Node-RED: the flow decides and answers.
// Every word shown comes from api/config (the node's locale files); nothing is written
// into the page as HTML. window.doorPage exposes the page's state for diagnostics.

const $ = (id) => document.getElementById(id);
const app = $('app');
/** the page's own URL directory, `.../door/`: every request is relative to it (httpNodeRoot, HA ingress) */
const base = new URL('./', location.href);
const storeKey = 'intercom-door-page:' + base.pathname;
const SESSION = 'X-Intercom-Session';

const page = { view: 'loading', registered: false, user: null, ringAt: [], frames: 0, opens: [], notices: [], mic: null, video: false };
window.doorPage = page;

let cfg;
let texts = {};
let SIP;
let Md5;
let creds; // { user, realm, ha1 }: kept to log in again after Node-RED restarts
let token;
let ua;
let registerer;
let ringing; // the Invitation ringing now
let call; // the answered one
let live; // AbortController of the camera stream
let audioCtx;
let bellTimer;
let lookTimer;
let stopped = false;

function t(key, params = {}) {
  let s = typeof texts[key] === 'string' ? texts[key] : key;
  for (const [k, v] of Object.entries(params)) s = s.split(`__${k}__`).join(String(v));
  return s;
}

class PageError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

// ---- views -------------------------------------------------------------------------

function setView(view) {
  page.view = view;
  app.dataset.view = view;
  $('hangup').textContent = t(view === 'ringing' ? 'decline' : 'hangup');
  $('look').textContent = t(view === 'look' ? 'stopLook' : 'look');
  if (view !== 'call') {
    $('keypad').hidden = true;
    $('keypad-toggle').setAttribute('aria-expanded', 'false');
  }
}

function status(key) {
  $('status').textContent = t(key);
  $('status').dataset.state = key;
}

function notice(text, tone = '') {
  const n = $('notice');
  n.textContent = text;
  n.dataset.tone = tone;
  page.notices.push(text);
}

function note(text) {
  $('screen-note').textContent = text;
}

function applyTexts() {
  document.documentElement.lang = cfg.lang;
  document.title = cfg.title;
  $('title').textContent = cfg.title;
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  $('picture').alt = t('picture');
}

// ---- Node-RED: config, login, requests ---------------------------------------------

async function api(path, opts = {}, again = true) {
  const headers = {};
  if (token) headers[SESSION] = token;
  let body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const r = await fetch(new URL('api/' + path, base), { method: opts.method || 'GET', headers, body, signal: opts.signal, cache: 'no-store' });
  // Node-RED redeployed (sessions end with the node): log in again with what we hold, once.
  if (r.status === 401 && again && creds) {
    await login(creds.user, { ha1: creds.ha1 });
    return api(path, opts, false);
  }
  return r;
}

function parseChallenge(header) {
  const out = {};
  for (const m of header.replace(/^\s*Digest\s+/i, '').matchAll(/([a-z0-9-]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/gi)) out[m[1].toLowerCase()] = m[2] ?? m[3];
  return out;
}

function randomHex(bytes) {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** HTTP digest (MD5, qop=auth) against the account's realm: the password never leaves the page. */
async function login(user, secret, stale = 0) {
  const post = (json) => fetch(new URL('api/login', base), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(json), cache: 'no-store' });
  const first = await post({ user });
  if (!first.ok) throw new PageError(first.status === 429 ? 'wait' : 'server');
  const c = parseChallenge((await first.json()).challenge || '');
  const ha1 = secret.ha1 || Md5.hashStr(`${user}:${c.realm}:${secret.password}`);
  const cnonce = randomHex(16);
  const nc = '00000001';
  const uri = base.pathname + 'api/login';
  const response = Md5.hashStr(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${Md5.hashStr('POST:' + uri)}`);
  const authorization = `Digest username="${user}", realm="${c.realm}", nonce="${c.nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}"${c.opaque ? `, opaque="${c.opaque}"` : ''}`;
  const r = await post({ user, authorization });
  if (r.status === 403) throw new PageError('refused');
  if (r.status === 429) throw new PageError('wait');
  if (!r.ok) throw new PageError('server');
  const j = await r.json();
  if (j.challenge) {
    if (stale > 1) throw new PageError('server');
    return login(user, { ha1 }, stale + 1);
  }
  token = j.token;
  creds = { user: j.user, realm: j.realm, ha1 };
  page.user = j.user;
}

// ---- SIP: register, ring, answer ---------------------------------------------------

/** Where the account's SIP WebSocket is, relative to this page (below httpNodeRoot) or on its own port. */
function wsUrl() {
  const s = cfg.sip;
  if (s.on === 'port') return `ws://${location.hostname}:${s.port}${s.path}`;
  const dir = base.pathname;
  const root = dir.endsWith(cfg.path + '/') ? dir.slice(0, dir.length - cfg.path.length - 1) : '';
  const u = new URL(root + s.path, location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

function audio() {
  if (!audioCtx) audioCtx = new AudioContext();
  if (audioCtx.state === 'suspended') audioCtx.resume().catch(() => undefined);
  return audioCtx;
}

/**
 * The microphone when the browser gives it (https or localhost, and allowed); else a
 * silent track, so the call still carries the keypad and the visitor is heard and seen.
 */
function mediaStream(constraints) {
  const silent = (why) => {
    page.mic = why;
    // Real (silent) samples: a track that produces none carries no RFC 4733 keys either.
    const ctx = audio();
    const dst = ctx.createMediaStreamDestination();
    const src = ctx.createConstantSource();
    src.offset.value = 0;
    src.connect(dst);
    src.start();
    return dst.stream;
  };
  if (!constraints.audio) return Promise.resolve(new MediaStream());
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) return Promise.resolve(silent('insecure'));
  return navigator.mediaDevices
    .getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }, video: false })
    .then((s) => {
      page.mic = 'on';
      return s;
    })
    .catch(() => silent('refused'));
}

async function connect() {
  const domain = cfg.sip.domain || location.hostname;
  ua = new SIP.UserAgent({
    uri: SIP.UserAgent.makeURI(`sip:${creds.user}@${domain}`),
    transportOptions: { server: wsUrl(), connectionTimeout: 10 },
    authorizationUsername: creds.user,
    authorizationHa1: creds.ha1,
    displayName: creds.user,
    logLevel: 'error',
    sessionDescriptionHandlerFactory: SIP.Web.defaultSessionDescriptionHandlerFactory(mediaStream),
    // The door is on this network: no public STUN server is asked (host candidates only).
    sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] }, iceGatheringTimeout: 2000 },
    delegate: {
      onInvite,
      onDisconnect: () => {
        page.registered = false;
        if (!stopped) {
          status('offline');
          reconnectSoon();
        }
      },
    },
  });
  registerer = new SIP.Registerer(ua, { expires: 300 });
  registerer.stateChange.addListener((s) => {
    page.registered = s === SIP.RegistererState.Registered;
    if (page.registered) status('ready');
  });
  status('connecting');
  try {
    await ua.start();
    await register();
  } catch {
    status('offline');
    reconnectSoon();
  }
}

async function register() {
  await registerer.register({
    requestDelegate: {
      onReject: (r) => {
        // The account no longer takes these credentials (password changed): log in again.
        if (r.message.statusCode === 403) logout('refusedNow');
      },
    },
  });
}

let retries = 0;
let retryTimer;
function reconnectSoon() {
  if (retryTimer || stopped) return;
  const delay = [1, 2, 5, 10, 20, 30][Math.min(retries++, 5)] * 1000;
  retryTimer = setTimeout(async () => {
    retryTimer = undefined;
    if (stopped) return;
    try {
      await ua.reconnect();
      retries = 0;
      await register();
    } catch {
      reconnectSoon();
    }
  }, delay);
}

function onInvite(inv) {
  // One call at a time: a second ring while talking gets busy.
  if (call || ringing) return void inv.reject({ statusCode: 486 }).catch(() => undefined);
  ringing = inv;
  const callId = inv.request.callId;
  inv.stateChange.addListener((s) => {
    if (s === SIP.SessionState.Established) established(inv);
    else if (s === SIP.SessionState.Terminated) ended(inv);
  });
  clearTimeout(lookTimer);
  stopLive();
  $('caller').textContent = t('ringing');
  note('');
  $('picture').removeAttribute('src');
  setView('ringing');
  bellStart();
  page.ringAt.push(performance.timeOrigin + performance.now());
  api('ring?call=' + encodeURIComponent(callId))
    .then((r) => (r.ok ? r.json() : null))
    .then((info) => {
      if (!info || ringing !== inv) return;
      const from = info.from.display || info.from.user;
      $('caller').textContent = info.door && from ? t('ringFrom', { door: info.door, from }) : info.door || from || t('ringing');
      if (info.snapshot) showSnapshot('snapshot?call=' + encodeURIComponent(callId), () => ringing === inv || call === inv);
      if (info.camera) startLive(callId);
      if (document.hidden && 'Notification' in window && Notification.permission === 'granted') new Notification(cfg.title, { body: $('caller').textContent, tag: 'intercom-door' });
    })
    .catch(() => undefined);
}

async function answer() {
  audio();
  const inv = ringing;
  if (!inv) return;
  bellStop();
  $('answer').disabled = true;
  try {
    await inv.accept({ sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } });
  } catch {
    notice(t('answerFailed'), 'bad');
  } finally {
    $('answer').disabled = false;
  }
}

function established(inv) {
  ringing = undefined;
  call = inv;
  bellStop();
  setView('call');
  if (page.mic === 'insecure') note(t('noMicHttp'));
  else if (page.mic === 'refused') note(t('noMic'));
  const pc = inv.sessionDescriptionHandler?.peerConnection;
  if (!pc) return;
  const remote = new MediaStream();
  for (const r of pc.getReceivers()) if (r.track) remote.addTrack(r.track);
  const a = $('remote-audio');
  a.srcObject = new MediaStream(remote.getAudioTracks());
  a.play().catch(() => undefined);
  const vt = remote.getVideoTracks()[0];
  if (vt) {
    const v = $('video');
    v.srcObject = new MediaStream([vt]);
    // The panel's own video, once frames come: it replaces the camera's pictures.
    v.onresize = () => {
      if (!v.videoWidth || call !== inv) return;
      page.video = true;
      app.dataset.video = 'on';
      stopLive();
    };
  }
}

function ended(inv) {
  const wasCall = call === inv;
  if (wasCall) call = undefined;
  if (ringing === inv) ringing = undefined;
  bellStop();
  stopLive();
  $('remote-audio').srcObject = null;
  $('video').srcObject = null;
  app.dataset.video = 'off';
  page.video = false;
  $('mute').setAttribute('aria-pressed', 'false');
  $('mute').textContent = t('mute');
  if (!call && !ringing) {
    setView('idle');
    $('caller').textContent = '';
    note('');
    notice(t(wasCall ? 'callEnded' : 'ringStopped'));
  }
}

function hangup() {
  if (call) return void call.bye().catch(() => undefined);
  if (ringing) ringing.reject({ statusCode: 603 }).catch(() => undefined);
}

function toggleMute() {
  const sender = call?.sessionDescriptionHandler?.peerConnection?.getSenders().find((s) => s.track?.kind === 'audio');
  if (!sender) return;
  sender.track.enabled = !sender.track.enabled;
  const muted = !sender.track.enabled;
  $('mute').setAttribute('aria-pressed', String(muted));
  $('mute').textContent = t(muted ? 'unmute' : 'mute');
}

function key(digit) {
  if (!call) return;
  const ok = call.sessionDescriptionHandler?.sendDtmf(digit, { duration: 160, interToneGap: 70 });
  note(ok ? t('sent', { digits: digit }) : t('keypadFailed'));
}

// ---- the door: Open, Look, pictures ------------------------------------------------

async function openDoor() {
  const btn = $('open');
  btn.disabled = true;
  notice(t('opening'));
  const key = randomHex(16);
  const inCall = (call || ringing)?.request.callId;
  try {
    const r = await api('open', { method: 'POST', json: inCall ? { key, call: inCall } : { key } });
    const j = await r.json().catch(() => ({}));
    page.opens.push(r.status === 429 ? 'busy' : j.result);
    if (r.status === 429) notice(t('openBusy'), 'bad');
    else if (j.result === 'ok') notice(t('opened'), 'good');
    else if (j.result === 'failed') notice(j.reason ? t('notOpenedWhy', { reason: j.reason }) : t('notOpened'), 'bad');
    else if (j.result === 'no-answer') notice(t('openNoAnswer'), 'bad');
    else notice(t('openFailed'), 'bad');
  } catch {
    page.opens.push('error');
    notice(t('openFailed'), 'bad');
  } finally {
    btn.disabled = false;
  }
}

function look() {
  audio();
  if (page.view === 'look') return stopLook();
  if (page.view !== 'idle') return;
  setView('look');
  $('caller').textContent = '';
  note('');
  showSnapshot('snapshot', () => page.view === 'look');
  startLive(null);
  clearTimeout(lookTimer);
  lookTimer = setTimeout(stopLook, cfg.lookMs);
}

function stopLook() {
  clearTimeout(lookTimer);
  stopLive();
  if (page.view === 'look') setView('idle');
}

async function showSnapshot(path, still) {
  try {
    const r = await api(path);
    if (!r.ok) return;
    const blob = await r.blob();
    // A live frame that came first wins over the (older) ring picture.
    if (still() && !page.framesSinceLive) setPicture(blob);
  } catch {
    // no picture: the caption still says who rings
  }
}

function setPicture(blob) {
  const img = $('picture');
  const url = URL.createObjectURL(blob);
  const old = img.src;
  img.onload = () => {
    if (old.startsWith('blob:')) URL.revokeObjectURL(old);
  };
  img.src = url;
}

function stopLive() {
  if (live) live.abort();
  live = undefined;
}

/** The camera live: multipart JPEG, read as a stream so a stall or an end is seen here. */
async function startLive(callId) {
  stopLive();
  const ctl = new AbortController();
  live = ctl;
  page.framesSinceLive = 0;
  try {
    const r = await api('look' + (callId ? '?call=' + encodeURIComponent(callId) : ''), { signal: ctl.signal });
    if (!r.ok || !r.body) {
      if (!callId) note(t('noCamera'));
      return;
    }
    await readFrames(r.body.getReader(), (jpeg) => {
      if (live !== ctl) return;
      page.frames++;
      page.framesSinceLive++;
      setPicture(new Blob([jpeg], { type: 'image/jpeg' }));
    });
  } catch {
    if (!ctl.signal.aborted) note(t('cameraLost'));
  } finally {
    if (live === ctl) {
      live = undefined;
      if (page.view === 'look') setView('idle');
    }
  }
}

const CRLF2 = [13, 10, 13, 10];
function find(buf, pat, from = 0) {
  outer: for (let i = from; i <= buf.length - pat.length; i++) {
    for (let j = 0; j < pat.length; j++) if (buf[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}

async function readFrames(reader, onFrame) {
  let buf = new Uint8Array(0);
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const next = new Uint8Array(buf.length + value.length);
    next.set(buf);
    next.set(value, buf.length);
    buf = next;
    for (;;) {
      const head = find(buf, CRLF2);
      if (head < 0) break;
      const len = Number(/content-length:\s*(\d+)/i.exec(dec.decode(buf.subarray(0, head)))?.[1]);
      const start = head + 4;
      if (!Number.isFinite(len)) {
        buf = buf.subarray(start);
        continue;
      }
      if (buf.length < start + len) break;
      onFrame(buf.slice(start, start + len));
      buf = buf.subarray(start + len);
    }
    if (buf.length > 8 * 1024 * 1024) throw new PageError('frame');
  }
}

// ---- the bell ------------------------------------------------------------------------

function chime() {
  const ctx = audioCtx;
  if (!ctx || ctx.state !== 'running') return;
  const now = ctx.currentTime;
  for (const [hz, at, len] of [[659, 0, 1.1], [523, 0.55, 1.6]]) {
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.frequency.value = hz;
    g.gain.setValueAtTime(0.0001, now + at);
    g.gain.exponentialRampToValueAtTime(0.35, now + at + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, now + at + len);
    o.connect(g).connect(ctx.destination);
    o.start(now + at);
    o.stop(now + at + len + 0.05);
  }
}

function bellStart() {
  bellStop();
  // Browsers play sound only after the user touched the page once.
  $('sound-hint').hidden = !!audioCtx && audioCtx.state === 'running';
  chime();
  bellTimer = setInterval(chime, 3500);
  navigator.vibrate?.([400, 200, 400]);
}

function bellStop() {
  clearInterval(bellTimer);
  bellTimer = undefined;
  $('sound-hint').hidden = true;
}

// ---- start ---------------------------------------------------------------------------

async function logout(reason) {
  stopped = true;
  clearTimeout(retryTimer);
  retryTimer = undefined;
  const was = ua;
  ua = undefined;
  await was?.stop().catch(() => undefined);
  await api('logout', { method: 'POST' }, false).catch(() => undefined);
  token = undefined;
  creds = undefined;
  localStorage.removeItem(storeKey);
  $('login-error').textContent = typeof reason === 'string' ? t(reason) : '';
  setView('login');
}

async function loginForm(ev) {
  ev.preventDefault();
  audio();
  const user = $('user').value.trim();
  const password = $('password').value;
  $('login-error').textContent = '';
  $('login-button').disabled = true;
  try {
    await login(user, { password });
    $('password').value = '';
    if ($('remember').checked) localStorage.setItem(storeKey, JSON.stringify(creds));
    await started();
  } catch (err) {
    $('login-error').textContent = t(err instanceof PageError && err.code === 'refused' ? 'loginRefused' : err instanceof PageError && err.code === 'wait' ? 'loginWait' : 'loginFailed');
  } finally {
    $('login-button').disabled = false;
  }
}

async function started() {
  stopped = false;
  $('who').textContent = t('loggedInAs', { user: creds.user });
  setView('idle');
  if (!window.isSecureContext) notice(t('noMicHttp'));
  await connect();
}

async function loadConfig() {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fetch(new URL('api/config', base), { cache: 'no-store' });
      if (r.ok) return await r.json();
      $('fatal').textContent = String(r.status);
    } catch {
      $('fatal').textContent = '…';
    }
    await new Promise((res) => setTimeout(res, Math.min(10000, 1000 * (attempt + 1))));
  }
}

async function main() {
  cfg = await loadConfig();
  $('fatal').textContent = '';
  texts = cfg.texts || {};
  applyTexts();
  SIP = await import(`./sipjs/${cfg.sipjs}/index.js`);
  ({ Md5 } = await import(`./sipjs/${cfg.sipjs}/core/messages/md5.js`));
  $('login-form').addEventListener('submit', loginForm);
  $('answer').addEventListener('click', answer);
  $('hangup').addEventListener('click', hangup);
  $('mute').addEventListener('click', toggleMute);
  $('open').addEventListener('click', openDoor);
  $('look').addEventListener('click', look);
  $('logout').addEventListener('click', () => logout());
  $('sound-button').addEventListener('click', () => {
    audio();
    $('sound-hint').hidden = true;
  });
  $('keypad-toggle').addEventListener('click', () => {
    const k = $('keypad');
    k.hidden = !k.hidden;
    $('keypad-toggle').setAttribute('aria-expanded', String(!k.hidden));
  });
  for (const b of $('keypad').querySelectorAll('button')) b.addEventListener('click', () => key(b.textContent));
  // Any touch lets the bell sound later (autoplay rules).
  addEventListener('pointerdown', () => audio(), { once: true });
  addEventListener('pagehide', () => {
    stopped = true;
    ua?.stop();
  });
  const saved = JSON.parse(localStorage.getItem(storeKey) || 'null');
  const preset = new URLSearchParams(location.search).get('user');
  if (preset) $('user').value = preset;
  if (saved?.user && saved.ha1) {
    try {
      await login(saved.user, { ha1: saved.ha1 });
      return await started();
    } catch (err) {
      if (err instanceof PageError && err.code === 'refused') localStorage.removeItem(storeKey);
      $('user').value = saved.user;
    }
  }
  setView('login');
}

main();
