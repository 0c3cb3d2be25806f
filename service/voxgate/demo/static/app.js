// voxgate demo page: plain JavaScript, no build step, no third-party code.
// Talks to the bridge (`voxgate demo`) over HTTP and WebSockets; the protocol is documented in
// service/voxgate/demo/__init__.py and docs/demo.md.
"use strict";

const $ = (id) => document.getElementById(id);

// Everything a test (or a curious user in the console) may want to look at.
const stats = {
  mic: { pieces: 0, rate: 0 },
  tokenize: { messages: 0, groups: 0, linguistic: 0, semantic: 0, ended: false, error: null, firstTokensMs: null },
  roundtrip: { requests: 0, groups: 0, seconds: 0, error: null },
  synth: { pieces: 0, samples: 0, firstAudioMs: null, endMs: null, ended: false, error: null, report: null },
  chat: { turns: 0, audioPieces: 0, transcripts: [], replies: [], interrupted: 0, events: [], timeline: [], filesSpoken: 0, error: null, open: false },
  clone: { voice: null, error: null },
};

// --- audio output ----------------------------------------------------------------------------

let sharedContext = null;
function audioContext() {
  if (!sharedContext) sharedContext = new (window.AudioContext || window.webkitAudioContext)({ latencyHint: "interactive" });
  if (sharedContext.state === "suspended") sharedContext.resume();
  return sharedContext;
}

function pcm16ToFloat(buffer) {
  const pcm = new Int16Array(buffer);
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
  return out;
}

// Plays pieces back to back on the shared AudioContext as they arrive.
class Player {
  constructor(name) {
    this.name = name;
    this.sources = new Set();
    this.next = 0;
    this.stats = { chunks: 0, scheduledSamples: 0, playedSamples: 0, playedSeconds: 0, startedAt: null };
    this.onidle = null;
  }

  get playing() { return this.sources.size > 0; }

  playPcm16(buffer, rate) { return this.playFloat(pcm16ToFloat(buffer), rate); }

  playFloat(samples, rate) {
    const ctx = audioContext();
    const buf = ctx.createBuffer(1, Math.max(1, samples.length), rate);
    buf.copyToChannel(samples, 0);
    return this.playBuffer(buf);
  }

  // Schedules `buf` right after what is already queued; returns its start time (context clock).
  playBuffer(buf) {
    const ctx = audioContext();
    const src = ctx.createBufferSource();
    src.buffer = buf;
    src.connect(ctx.destination);
    const when = Math.max(ctx.currentTime + 0.05, this.next);
    src.start(when);
    this.next = when + buf.duration;
    if (this.stats.startedAt === null) this.stats.startedAt = performance.now();
    this.stats.chunks += 1;
    this.stats.scheduledSamples += buf.length;
    this.sources.add(src);
    src.onended = () => {
      this.sources.delete(src);
      this.stats.playedSamples += buf.length;
      this.stats.playedSeconds += buf.duration;
      if (!this.sources.size && this.onidle) this.onidle();
    };
    return when;
  }

  stop() {
    for (const src of this.sources) {
      src.onended = null;
      try { src.stop(); } catch (e) { /* not started yet */ }
    }
    this.sources.clear();
    this.next = 0;
  }
}

const players = {
  roundtrip: new Player("roundtrip"),
  original: new Player("original"),
  synth: new Player("synth"),
  chat: new Player("chat"),
};

// --- microphone ------------------------------------------------------------------------------

// One microphone stream for the whole page; recorders and the chat subscribe to its pieces
// (PCM16 mono at the context's native rate, 100 ms each).
const Mic = {
  rate: 0,
  sinks: new Set(),
  opening: null,

  open() {
    if (!this.opening) this.opening = this._open().catch((err) => { this.opening = null; throw err; });
    return this.opening;
  },

  async _open() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("no microphone API: open the page as http://127.0.0.1 or localhost, or over HTTPS");
    }
    const ctx = audioContext();
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false },
    });
    const source = ctx.createMediaStreamSource(stream);
    const silent = ctx.createGain();
    silent.gain.value = 0;
    silent.connect(ctx.destination);
    const chunk = Math.round(ctx.sampleRate / 10);
    if (ctx.audioWorklet && window.AudioWorkletNode) {
      await ctx.audioWorklet.addModule("/static/capture-worklet.js");
      const node = new AudioWorkletNode(ctx, "voxgate-capture", {
        numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
        processorOptions: { chunkSamples: chunk },
      });
      node.port.onmessage = (e) => this._emit(e.data.pcm, e.data.rms);
      source.connect(node);
      node.connect(silent);
      this.node = node;
    } else { // older browsers: ScriptProcessorNode (main thread)
      const node = ctx.createScriptProcessor(4096, 1, 1);
      node.onaudioprocess = (e) => {
        const f = e.inputBuffer.getChannelData(0);
        const pcm = new Int16Array(f.length);
        let energy = 0;
        for (let i = 0; i < f.length; i++) {
          const s = Math.max(-1, Math.min(1, f[i]));
          energy += s * s;
          pcm[i] = s < 0 ? s * 32768 : s * 32767;
        }
        this._emit(pcm.buffer, Math.sqrt(energy / f.length));
      };
      source.connect(node);
      node.connect(silent);
      this.node = node;
    }
    this.stream = stream;
    this.rate = ctx.sampleRate;
    stats.mic.rate = this.rate;
    $("mic-rate").textContent = `${this.rate} Hz`;
  },

  _emit(buffer, rms) {
    stats.mic.pieces += 1;
    $("mic-level").style.width = `${Math.min(100, Math.round(rms * 400))}%`;
    for (const sink of this.sinks) sink(buffer);
  },

  subscribe(fn) {
    this.sinks.add(fn);
    return () => this.sinks.delete(fn);
  },
};

// --- helpers ---------------------------------------------------------------------------------

function wsUrl(path) {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}

// A WebSocket that queues what is sent before it opens (the `start` message goes first).
function openSocket(path, start, handlers) {
  const ws = new WebSocket(wsUrl(path));
  ws.binaryType = "arraybuffer";
  const queue = [JSON.stringify(start)];
  let pendingAudio = null; // the `audio` message whose binary frame comes next
  ws.sendNow = (data) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(data);
    else if (ws.readyState === WebSocket.CONNECTING) queue.push(data);
  };
  ws.sendJson = (obj) => ws.sendNow(JSON.stringify(obj));
  ws.onopen = () => { for (const item of queue.splice(0)) ws.send(item); };
  ws.onmessage = (e) => {
    if (typeof e.data === "string") {
      const msg = JSON.parse(e.data);
      if (msg.type === "audio") pendingAudio = msg;
      else handlers.message(msg);
    } else if (pendingAudio) {
      const meta = pendingAudio;
      pendingAudio = null;
      handlers.audio(meta, e.data);
    }
  };
  ws.onclose = (e) => handlers.close && handlers.close(e);
  ws.onerror = () => handlers.close && handlers.close({ code: -1 });
  return ws;
}

function setStatus(id, text, error = false) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle("error", !!error);
}

function describeError(msg) { return `${msg.code}: ${msg.message}`; }

function concatPcm(chunks) {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Int16Array(total / 2);
  let at = 0;
  for (const c of chunks) { out.set(new Int16Array(c), at); at += c.byteLength / 2; }
  return out;
}

function wavFile(pcm, rate) {
  const data = pcm.byteLength;
  const buf = new ArrayBuffer(44 + data);
  const v = new DataView(buf);
  const text = (at, s) => { for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF"); v.setUint32(4, 36 + data, true); text(8, "WAVE");
  text(12, "fmt "); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  text(36, "data"); v.setUint32(40, data, true);
  new Int16Array(buf, 44).set(pcm);
  return buf;
}

async function fetchJson(url, options) {
  const reply = await fetch(url, options);
  const body = await reply.json();
  if (!reply.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : reply.statusText);
  return body;
}

// --- server info and voices ------------------------------------------------------------------

let serverInfo = null;

async function loadInfo() {
  try {
    serverInfo = await fetchJson("/api/info");
    const services = (serverInfo.implemented_services || []).map((s) => s.replace("voxgate.v1.", "")).join(", ");
    const rate = serverInfo.token_spec ? serverInfo.token_spec.output_sample_rate_hz : "?";
    setStatus("server-status", `voxgate ${serverInfo.version || ""} at ${serverInfo.address} · ${services} · output ${rate} Hz`);
    $("footer-address").textContent = `bridge to ${serverInfo.address}`;
  } catch (err) {
    setStatus("server-status", `voxgate unreachable: ${err.message}`, true);
  }
  await loadVoices();
}

async function loadVoices(select) {
  try {
    const { voices } = await fetchJson("/api/voices");
    for (const id of ["synth-voice", "chat-voice"]) {
      const el = $(id);
      const keep = el.value;
      el.innerHTML = "";
      for (const v of voices) {
        const opt = document.createElement("option");
        opt.value = v.id;
        opt.textContent = v.builtin ? v.name : `${v.name} (cloned, ${Number(v.prompt_seconds).toFixed(1)} s)`;
        el.appendChild(opt);
      }
      el.value = select || keep || (voices[0] && voices[0].id) || "";
    }
  } catch (err) {
    setStatus("synth-status", `voices: ${err.message}`, true);
  }
}

// --- tokenize: record / upload -> live lanes -> round trip --------------------------------------

const tokens = { interleaved: [], groups: 0 };
let tokenSession = null; // {ws, unsubscribe, chunks, rate, started}
let lastRecording = null; // {wav: ArrayBuffer} for cloning and "play original"

function tokenColor(id, vocab) {
  const hue = Math.round(((id * 137.508) % vocab) / vocab * 360);
  return `hsl(${hue}, 60%, 86%)`;
}

function resetLanes() {
  for (const id of ["lane-ruler", "lane-linguistic", "lane-semantic"]) $(id).innerHTML = "";
  tokens.interleaved = [];
  tokens.groups = 0;
  Object.assign(stats.tokenize, { messages: 0, groups: 0, linguistic: 0, semantic: 0, ended: false, error: null, firstTokensMs: null });
  $("tok-counts").textContent = "no tokens yet";
  $("play-roundtrip").disabled = true;
}

function addChip(lane, id, vocab, title) {
  const el = document.createElement("span");
  el.className = "tok fresh";
  el.textContent = id;
  el.title = title;
  el.style.background = tokenColor(id, vocab);
  lane.appendChild(el);
}

function showTokens(msg) {
  const s = stats.tokenize;
  if (s.firstTokensMs === null && tokenSession) s.firstTokensMs = Math.round(performance.now() - tokenSession.started);
  s.messages += 1;
  const ruler = $("lane-ruler"), ling = $("lane-linguistic"), sem = $("lane-semantic");
  for (let g = 0; g < msg.group_count; g++) {
    const group = msg.group_offset + g;
    const mark = document.createElement("span");
    mark.className = "grp";
    mark.textContent = group;
    mark.title = `group ${group}: ${(group * 0.12).toFixed(2)}–${((group + 1) * 0.12).toFixed(2)} s`;
    ruler.appendChild(mark);
    for (let k = 0; k < 2; k++) addChip(ling, msg.linguistic[2 * g + k], 1024, `group ${group}, linguistic ${k}`);
    for (let k = 0; k < 3; k++) addChip(sem, msg.semantic[3 * g + k], 4096, `group ${group}, semantic ${k}`);
  }
  tokens.interleaved.push(...msg.interleaved);
  tokens.groups = msg.group_offset + msg.group_count;
  s.groups = tokens.groups;
  s.linguistic = ling.childElementCount;
  s.semantic = sem.childElementCount;
  $("tok-counts").textContent = `${s.groups} groups · ${s.linguistic} linguistic · ${s.semantic} semantic · ${(s.groups * 0.12).toFixed(2)} s`;
  const scroll = $("lane-scroll");
  scroll.scrollLeft = scroll.scrollWidth;
}

function tokenizeHandlers(label) {
  return {
    message(msg) {
      if (msg.type === "tokens") showTokens(msg);
      else if (msg.type === "end") {
        stats.tokenize.ended = true;
        setStatus("tok-status", `${label}: ${msg.groups} groups`);
        $("play-roundtrip").disabled = tokens.interleaved.length === 0;
      } else if (msg.type === "error") {
        stats.tokenize.error = describeError(msg);
        setStatus("tok-status", `${label}: ${describeError(msg)}`, true);
      }
    },
    audio() {},
    close() { recordButtons(false); },
  };
}

function recordButtons(recording) {
  $("rec-start").disabled = recording;
  $("rec-stop").disabled = !recording;
  $("file-input").disabled = recording;
}

async function startRecording() {
  if (tokenSession) return;
  try {
    await Mic.open();
  } catch (err) {
    setStatus("tok-status", `microphone: ${err.message}`, true);
    return;
  }
  resetLanes();
  const ws = openSocket("/ws/tokenize", { type: "start", audio: "pcm16", sample_rate: Mic.rate }, tokenizeHandlers("recorded"));
  const session = { ws, chunks: [], rate: Mic.rate, started: performance.now() };
  session.unsubscribe = Mic.subscribe((buffer) => {
    session.chunks.push(buffer);
    ws.sendNow(buffer);
    setStatus("tok-status", `recording ${((performance.now() - session.started) / 1000).toFixed(1)} s · live to StreamTokenize`);
  });
  tokenSession = session;
  recordButtons(true);
}

function stopRecording() {
  const session = tokenSession;
  if (!session) return;
  tokenSession = null;
  session.unsubscribe();
  session.ws.sendJson({ type: "end" });
  const pcm = concatPcm(session.chunks);
  lastRecording = { wav: wavFile(pcm, session.rate), seconds: pcm.length / session.rate };
  setStatus("tok-status", `recorded ${lastRecording.seconds.toFixed(1)} s · waiting for the last groups…`);
  $("play-original").disabled = false;
  $("clone-button").disabled = false;
  $("rec-stop").disabled = true;
}

async function uploadFile(file) {
  if (!file || tokenSession) return;
  resetLanes();
  const bytes = await file.arrayBuffer();
  lastRecording = { wav: bytes.slice(0), seconds: null };
  const ws = openSocket("/ws/tokenize", { type: "start", audio: "file" }, tokenizeHandlers(file.name));
  tokenSession = { ws, started: performance.now(), upload: true };
  ws.addEventListener("close", () => { if (tokenSession && tokenSession.ws === ws) tokenSession = null; });
  recordButtons(true);
  $("rec-stop").disabled = true;
  for (let at = 0; at < bytes.byteLength; at += 32768) ws.sendNow(bytes.slice(at, at + 32768));
  ws.sendJson({ type: "end" });
  setStatus("tok-status", `${file.name}: streaming ${(bytes.byteLength / 1024).toFixed(0)} KB…`);
  $("play-original").disabled = false;
  $("clone-button").disabled = false;
}

async function playRoundTrip() {
  if (!tokens.interleaved.length) return;
  setStatus("roundtrip-status", "Detokenize…");
  stats.roundtrip.requests += 1;
  try {
    const reply = await fetch("/api/detokenize", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ids: tokens.interleaved }),
    });
    if (!reply.ok) {
      const body = await reply.json();
      throw new Error(`${body.error.code}: ${body.error.message}`);
    }
    const wav = await reply.arrayBuffer();
    const link = $("roundtrip-download");
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([wav], { type: "audio/wav" }));
    link.classList.remove("hidden");
    const buf = await audioContext().decodeAudioData(wav.slice(0));
    stats.roundtrip.groups = Number(reply.headers.get("X-Group-Count"));
    stats.roundtrip.seconds = buf.duration;
    players.roundtrip.stop();
    players.roundtrip.playBuffer(buf);
    setStatus("roundtrip-status", `playing ${buf.duration.toFixed(2)} s decoded from ${stats.roundtrip.groups} groups (${buf.sampleRate} Hz)`);
  } catch (err) {
    stats.roundtrip.error = err.message;
    setStatus("roundtrip-status", err.message, true);
  }
}

async function playOriginal() {
  if (!lastRecording) return;
  try {
    const buf = await audioContext().decodeAudioData(lastRecording.wav.slice(0));
    players.original.stop();
    players.original.playBuffer(buf);
  } catch (err) {
    setStatus("roundtrip-status", `original: ${err.message}`, true);
  }
}

async function cloneVoice() {
  if (!lastRecording) return;
  const q = new URLSearchParams({
    name: $("clone-name").value.trim(),
    transcript: $("clone-transcript").value.trim(),
    consent: $("clone-consent").value.trim(),
  });
  setStatus("clone-status", "CreateVoice…");
  try {
    const { voice } = await fetchJson(`/api/voices?${q}`, { method: "POST", body: lastRecording.wav });
    await loadVoices(voice.id);
    stats.clone.voice = voice;
    setStatus("clone-status", `registered ${voice.id} · ${Number(voice.pitch_median_hz).toFixed(0)} Hz, ${Number(voice.speaking_rate).toFixed(1)} syll/s — selected below`);
  } catch (err) {
    stats.clone.error = err.message;
    setStatus("clone-status", err.message, true);
  }
}

// --- synthesize: streamed playback ---------------------------------------------------------------

let synthSocket = null;

function speak() {
  stopSpeaking();
  const started = performance.now();
  Object.assign(stats.synth, { pieces: 0, samples: 0, firstAudioMs: null, endMs: null, ended: false, error: null, report: null });
  $("synth-report").textContent = "";
  $("synth-words").innerHTML = "";
  setStatus("synth-status", "Synthesize…");
  const player = players.synth;
  audioContext();
  const ws = openSocket("/ws/synthesize", {
    type: "start", text: $("synth-text").value, voice: $("synth-voice").value, style: $("synth-style").value,
  }, {
    message(msg) {
      if (msg.type === "report") {
        stats.synth.report = msg;
        const notApplied = (msg.not_applied || []).length ? ` · not applied: ${msg.not_applied.join("; ")}` : "";
        $("synth-report").textContent = `engine ${msg.engine} · voice ${msg.voice} · “${msg.normalized_text}”${notApplied}`;
      } else if (msg.type === "end") {
        stats.synth.ended = true;
        stats.synth.endMs = Math.round(performance.now() - started);
        setStatus("synth-status", `${stats.synth.pieces} pieces · first audio after ${stats.synth.firstAudioMs} ms · all in ${stats.synth.endMs} ms`);
      } else if (msg.type === "error") {
        stats.synth.error = describeError(msg);
        setStatus("synth-status", describeError(msg), true);
      }
    },
    audio(meta, data) {
      if (stats.synth.firstAudioMs === null) stats.synth.firstAudioMs = Math.round(performance.now() - started);
      stats.synth.pieces += 1;
      stats.synth.samples += data.byteLength / 2;
      const when = player.playPcm16(data, meta.sample_rate);
      const ctx = audioContext();
      for (const w of meta.words) {
        const el = document.createElement("span");
        el.textContent = w.word;
        $("synth-words").appendChild(el);
        const at = when + (w.start_ms / 1000 - meta.start_seconds);
        setTimeout(() => el.classList.add("spoken"), Math.max(0, (at - ctx.currentTime) * 1000));
      }
      if (!stats.synth.ended) setStatus("synth-status", `playing piece ${stats.synth.pieces} while the rest is generated…`);
    },
    close() {
      $("synth-speak").disabled = false;
      if (synthSocket === ws) synthSocket = null;
      if (!player.playing) $("synth-stop").disabled = true;
    },
  });
  player.onidle = () => { if (!synthSocket) $("synth-stop").disabled = true; };
  synthSocket = ws;
  $("synth-speak").disabled = true;
  $("synth-stop").disabled = false;
}

function stopSpeaking() {
  if (synthSocket) { synthSocket.close(); synthSocket = null; } // cancels the gRPC call
  players.synth.stop();
  $("synth-speak").disabled = false;
  $("synth-stop").disabled = true;
}

// --- chat ---------------------------------------------------------------------------------------

const chat = {
  ws: null,
  mode: "ptt",
  talking: false,
  unsubscribe: null,
  dropBelow: 0,          // audio of turns below this was cut off by barge-in
  replying: new Set(),   // turns whose reply has not ended
  playback: new Map(),   // turn -> {start, seconds} on the context clock
  ackTimer: null,
  bubbles: new Map(),    // `${role}${turn}` -> element
  feeding: null,         // a file being spoken into the conversation (the mic waits)
};

function chatState(name, text) {
  const el = $("chat-state");
  el.className = `state ${name}`;
  el.textContent = text || name;
}

function bubble(role, turn) {
  const key = `${role}${turn}`;
  let el = chat.bubbles.get(key);
  if (!el) {
    el = document.createElement("div");
    el.className = `bubble ${role}`;
    el.dataset.turn = turn;
    el.innerHTML = '<span class="text"></span><span class="meta"></span>';
    const log = $("chat-log");
    // the user's words of a turn go before the assistant's reply to them
    const reply = role === "user" ? chat.bubbles.get(`assistant${turn}`) : null;
    if (reply) log.insertBefore(el, reply); else log.appendChild(el);
    chat.bubbles.set(key, el);
  }
  return el;
}

function bubbleText(role, turn, text, cls) {
  const el = bubble(role, turn);
  el.querySelector(".text").textContent = text;
  if (cls !== undefined) el.classList.toggle("interim", cls === "interim");
  $("chat-log").scrollTop = $("chat-log").scrollHeight;
  return el;
}

function chatControls(open) {
  $("chat-start").disabled = open;
  $("chat-stop").disabled = !open;
  $("chat-talk").disabled = !open || chat.mode !== "ptt" || $("chat-text-only").checked;
  $("chat-interrupt").disabled = !open;
  $("chat-input").disabled = !open;
  $("chat-send").disabled = !open;
  $("chat-file").disabled = !open || $("chat-text-only").checked;
  $("chat-mode").disabled = open;
  $("chat-text-only").disabled = open;
  $("chat-voice").disabled = open;
}

function playedMs(turn) {
  const p = chat.playback.get(turn);
  if (!p) return 0;
  const t = audioContext().currentTime - p.start;
  return Math.round(Math.max(0, Math.min(t, p.seconds)) * 1000);
}

function stopReplyAudio() {
  if (players.chat.playing) players.chat.stop();
}

async function chatStart() {
  if (chat.ws) return;
  chat.mode = $("chat-mode").value;
  const textOnly = $("chat-text-only").checked;
  const start = {
    type: "start",
    turn_detection: chat.mode === "vad" ? "server_vad" : "manual",
    voice: $("chat-voice").value,
    text_only: textOnly,
  };
  if (!textOnly) {
    // PCM16 at the audio context's rate, from the microphone or from a file ("speak a file").
    start.audio = "pcm16";
    start.sample_rate = audioContext().sampleRate;
    try {
      await Mic.open();
    } catch (err) {
      chatState("error", `microphone: ${err.message} (typed turns and files still work)`);
    }
  }
  Object.assign(stats.chat, { error: null, open: true });
  chat.dropBelow = 0;
  chat.replying.clear();
  chat.playback.clear();
  const ws = openSocket("/ws/chat", start, { message: chatMessage, audio: chatAudio, close: () => chatClosed(ws) });
  chat.ws = ws;
  if (start.audio) {
    chat.unsubscribe = Mic.subscribe((buffer) => {
      if ((chat.mode === "vad" || chat.talking) && !chat.feeding) ws.sendNow(buffer);
    });
  }
  chat.ackTimer = setInterval(() => {
    for (const [turn] of chat.playback) {
      if (chat.replying.has(turn) || players.chat.playing) ws.sendJson({ type: "playback", turn_index: turn, played_ms: playedMs(turn) });
    }
  }, 250);
  players.chat.onidle = chatReady;
  chatControls(true);
  chatReady();
}

// Waiting for the user: once no reply is being generated or played.
function chatReady() {
  if (!chat.ws || chat.replying.size || chat.talking) return;
  if (players.chat.playing) chatState("replying", "speaking");
  else if (chat.mode === "vad") chatState("listening", "listening");
  else chatState("idle", "ready: hold to talk");
}

// Sends a recording as the user's voice, in 100 ms pieces at real-time pace (in push-to-talk
// mode as if the button were held for its length). The microphone is not sent meanwhile.
async function speakFile(file) {
  if (!file || !chat.ws || chat.feeding) return;
  const ctx = audioContext();
  let samples;
  try {
    samples = (await ctx.decodeAudioData(await file.arrayBuffer())).getChannelData(0);
  } catch (err) {
    chatState("error", `${file.name}: ${err.message}`);
    return;
  }
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    pcm[i] = s < 0 ? s * 32768 : s * 32767;
  }
  const ws = chat.ws;
  const piece = Math.round(ctx.sampleRate / 10);
  if (chat.mode === "ptt") talkDown();
  let at = 0;
  chat.feeding = setInterval(() => {
    if (chat.ws !== ws || at >= pcm.length) {
      clearInterval(chat.feeding);
      chat.feeding = null;
      stats.chat.filesSpoken += 1;
      if (chat.mode === "ptt") talkUp();
      return;
    }
    ws.sendNow(pcm.slice(at, at + piece).buffer);
    at += piece;
  }, 100);
}

function chatClosed(ws) {
  if (chat.ws !== ws) return;
  chat.ws = null;
  if (chat.feeding) { clearInterval(chat.feeding); chat.feeding = null; }
  stats.chat.open = false;
  if (chat.unsubscribe) chat.unsubscribe();
  chat.unsubscribe = null;
  clearInterval(chat.ackTimer);
  chat.talking = false;
  $("chat-talk").classList.remove("active");
  chatControls(false);
  if (!stats.chat.error) chatState("idle", "conversation ended");
}

function chatStop() {
  if (chat.ws) chat.ws.close(); // cancels the gRPC call: the server frees the conversation
  stopReplyAudio();
}

function chatMessage(msg) {
  stats.chat.events.push(msg.type);
  stats.chat.timeline.push([msg.type, msg.turn_index, !!msg.interrupted]);
  switch (msg.type) {
    case "speech_started":
      if (players.chat.playing || chat.replying.size) stopReplyAudio(); // barge-in
      chat.dropBelow = msg.turn_index;
      bubbleText("user", msg.turn_index, "…", "interim");
      chatState("speaking-user", "you are speaking");
      break;
    case "speech_stopped":
      chatState("thinking", "thinking…");
      break;
    case "transcript":
      bubbleText("user", msg.turn_index, msg.text || "…", msg.is_final ? "final" : "interim");
      if (msg.is_final) stats.chat.transcripts.push(msg.text);
      break;
    case "text_delta": {
      chat.replying.add(msg.turn_index);
      const el = bubble("assistant", msg.turn_index);
      const span = el.querySelector(".text");
      span.textContent = (span.textContent + msg.text).replace(/^\s+/, "");
      $("chat-log").scrollTop = $("chat-log").scrollHeight;
      chatState("replying", "replying");
      break;
    }
    case "turn_end": {
      chat.replying.delete(msg.turn_index);
      stats.chat.turns += 1;
      stats.chat.replies.push(msg.text);
      if (msg.user_transcript && !chat.bubbles.has(`user${msg.turn_index}`)) bubbleText("user", msg.turn_index, msg.user_transcript, "final");
      const el = bubble("assistant", msg.turn_index);
      const span = el.querySelector(".text");
      if (msg.interrupted) {
        stats.chat.interrupted += 1;
        span.textContent = "";
        const heard = document.createElement("span");
        heard.textContent = msg.heard_text;
        const rest = document.createElement("span");
        rest.className = "unheard";
        rest.textContent = msg.text.slice(msg.heard_text.length);
        span.append(heard, rest);
      } else {
        span.textContent = msg.text;
      }
      if (!msg.text) span.textContent = msg.interrupted ? "(interrupted before it replied)" : "(no reply)";
      const lat = msg.latency || {};
      const parts = [];
      if (lat.transcript_ms) parts.push(`transcript ${lat.transcript_ms} ms`);
      if (lat.first_text_ms) parts.push(`first text ${lat.first_text_ms} ms`);
      if (lat.first_audio_ms) parts.push(`first audio ${lat.first_audio_ms} ms`);
      parts.push(`${msg.reply_tokens} tokens`);
      if (msg.interrupted) parts.push("interrupted");
      el.querySelector(".meta").textContent = parts.join(" · ");
      if (!chat.replying.size) chatReady();
      break;
    }
    case "end":
      chatState("idle", "conversation ended");
      break;
    case "error":
      stats.chat.error = describeError(msg);
      chatState("error", describeError(msg));
      break;
    default:
      break;
  }
}

function chatAudio(meta, data) {
  if (meta.turn_index < chat.dropBelow) return; // cut off by barge-in
  stats.chat.audioPieces += 1;
  const when = players.chat.playPcm16(data, meta.sample_rate);
  const seconds = data.byteLength / 2 / meta.sample_rate;
  const p = chat.playback.get(meta.turn_index);
  if (!p) chat.playback.set(meta.turn_index, { start: when, seconds });
  else p.seconds += seconds;
}

function talkDown(e) {
  if (e) e.preventDefault();
  if (!chat.ws || chat.mode !== "ptt" || chat.talking) return;
  if (players.chat.playing || chat.replying.size) { // barge-in by the client
    chat.ws.sendJson({ type: "interrupt" });
    chat.dropBelow = Math.max(chat.dropBelow, ...[...chat.replying].map((t) => t + 1));
    stopReplyAudio();
  }
  chat.talking = true;
  $("chat-talk").classList.add("active");
  chatState("listening", "listening… release to send");
}

function talkUp() {
  if (!chat.talking) return;
  chat.talking = false;
  $("chat-talk").classList.remove("active");
  if (chat.ws) chat.ws.sendJson({ type: "end_of_turn" });
  chatState("thinking", "thinking…");
}

function sendText() {
  const text = $("chat-input").value.trim();
  if (!text || !chat.ws) return;
  if (players.chat.playing || chat.replying.size) { chat.ws.sendJson({ type: "interrupt" }); stopReplyAudio(); }
  chat.ws.sendJson({ type: "text", text, end_of_turn: true });
  $("chat-input").value = "";
  chatState("thinking", "thinking…");
}

function interrupt() {
  if (!chat.ws) return;
  chat.ws.sendJson({ type: "interrupt" });
  stopReplyAudio();
}

// --- wiring ----------------------------------------------------------------------------------------

function wire() {
  $("rec-start").addEventListener("click", startRecording);
  $("rec-stop").addEventListener("click", stopRecording);
  $("file-input").addEventListener("change", (e) => uploadFile(e.target.files[0]));
  $("play-roundtrip").addEventListener("click", playRoundTrip);
  $("play-original").addEventListener("click", playOriginal);
  $("clone-button").addEventListener("click", cloneVoice);
  $("synth-speak").addEventListener("click", speak);
  $("synth-stop").addEventListener("click", stopSpeaking);
  $("chat-start").addEventListener("click", chatStart);
  $("chat-stop").addEventListener("click", chatStop);
  $("chat-interrupt").addEventListener("click", interrupt);
  $("chat-send").addEventListener("click", sendText);
  $("chat-input").addEventListener("keydown", (e) => { if (e.key === "Enter") sendText(); });
  $("chat-file").addEventListener("change", (e) => { speakFile(e.target.files[0]); e.target.value = ""; });
  const talk = $("chat-talk");
  talk.addEventListener("pointerdown", talkDown);
  talk.addEventListener("pointerup", talkUp);
  talk.addEventListener("pointerleave", talkUp);
  talk.addEventListener("pointercancel", talkUp);
  document.addEventListener("keydown", (e) => {
    if (e.code === "Space" && !e.repeat && !["INPUT", "TEXTAREA", "SELECT", "BUTTON"].includes(document.activeElement.tagName)) talkDown(e);
  });
  document.addEventListener("keyup", (e) => { if (e.code === "Space") talkUp(); });
  loadInfo();
}

window.voxgateDemo = {
  stats, players, tokens, Mic, chat,
  lastRecordingWav: () => (lastRecording ? lastRecording.wav : null),
};
wire();
