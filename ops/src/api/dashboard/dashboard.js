// vigil dashboard. Reads only the station's API: the initial state from /v1/status and
// /v1/events, then live updates from /v1/events/stream (read with fetch so that the token
// can go in the Authorization header; EventSource cannot send one). No polling loop.
"use strict";

const TOKEN_KEY = "vigil.token";
const KEEP = { detections: 4000, power: 500, windows: 200 };
const SOURCES = ["clock", "power", "camera", "gpio", "classifier", "esp32", "pico", "ops", "journal"];
const KINDS = ["WindowOpened", "WindowClosed", "WindowsPushed", "PowerSwitched", "FrameCaptured",
  "CaptureSkipped", "TimelapseBuilt", "TimelapseFailed", "ThermalFrame", "Detection", "DetectionCompared",
  "LinkUp", "LinkDown", "LinkStats", "VerificationRan", "RetentionRan", "RecordsDestroyed",
  "ShutdownRequested", "PoweroffRun", "WatchdogTripped", "OverrideChanged", "SupervisorStarted",
  "SupervisorStopped", "UncleanStopDetected", "ConfigLoaded", "AuditQueried", "GpioEdge"];

/** Everything the page shows, rebuilt from events only. */
const state = {
  streamAfter: 0,          // the stream resumes after this seq
  lastSeq: 0, head: "", now: 0, offsetMin: 0,
  windows: new Map(),      // "name@start_us" -> {name, start, end, opened, closed}
  pushed: null,            // latest WindowsPushed payload
  power: [],               // [{ts, on, reason}] sorted by ts
  detections: [],          // [{ts, cls, conf, present, source}]
  thermal: null, thermalSeq: 0, detection: null,
  frame: null, frameSeq: 0,
  links: { esp32: {}, pico: {} },
  verify: null, status: {},
};

const $ = (id) => document.getElementById(id);
const seen = new Set();   // seqs applied (initial load and stream overlap)

class Refused extends Error {}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

function headers() {
  const t = token();
  return t ? { Authorization: "Bearer " + t } : {};
}

async function api(path) {
  const r = await fetch(path, { headers: headers(), cache: "no-store" });
  if (r.status === 401 || r.status === 403) throw new Refused(await errorText(r));
  if (!r.ok) throw new Error(path + ": " + (await errorText(r)));
  return r;
}

async function errorText(r) {
  try { return (await r.json()).error || r.statusText; } catch (_) { return r.status + " " + r.statusText; }
}

async function apiJson(path) { return (await api(path)).json(); }

function µs(ts) { return typeof ts === "number" ? ts : Date.parse(ts) * 1000; }

function fmtTime(us, withDate) {
  if (!us) return "—";
  const d = new Date(us / 1000 + state.offsetMin * 60000);
  const iso = d.toISOString();
  return (withDate ? iso.slice(0, 10) + " " : "") + iso.slice(11, 19);
}

function offsetOf(local) {
  const m = /([+-])(\d\d):(\d\d)$/.exec(local || "");
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : null;
}

// ---- applying events --------------------------------------------------------------------

function apply(env) {
  if (seen.has(env.seq)) return;
  seen.add(env.seq);
  if (seen.size > 20000) seen.clear(); // bounded; the stream never repeats a seq
  const ts = µs(env.ts), p = env.payload || {};
  if (ts > state.now) state.now = ts;
  if (env.seq > state.lastSeq) { state.lastSeq = env.seq; state.head = env.hash; }
  switch (env.kind) {
    case "WindowOpened": {
      const w = windowOf(p);
      w.opened = ts;
      const off = offsetOf(p.local_start);
      if (off !== null) state.offsetMin = off;
      break;
    }
    case "WindowClosed": windowOf(p).closed = ts; break;
    case "WindowsPushed": state.pushed = Object.assign({ ts }, p); break;
    case "PowerSwitched":
      state.power.push({ ts, on: p.on, reason: p.reason });
      state.power.sort((a, b) => a.ts - b.ts);
      trim(state.power, KEEP.power);
      break;
    case "FrameCaptured":
      if (env.seq > state.frameSeq) { state.frameSeq = env.seq; state.frame = Object.assign({ ts, seq: env.seq }, p); showFrame(); }
      break;
    case "ThermalFrame":
      if (env.seq > state.thermalSeq) { state.thermalSeq = env.seq; state.thermal = Object.assign({ ts }, p); }
      break;
    case "Detection": {
      const d = { ts, cls: p.class, conf: p.confidence_permille, present: p.person_present,
        source: env.source, frame: p.frame, engine: p.engine, seq: env.seq };
      state.detections.push(d);
      trim(state.detections, KEEP.detections);
      if (!state.detection || d.seq > state.detection.seq) state.detection = d;
      break;
    }
    case "LinkUp": case "LinkDown": case "LinkStats": {
      const board = boardOf(env.source, p.port);
      const l = state.links[board];
      if (env.kind === "LinkStats") l.stats = Object.assign({ ts }, p);
      else if (!l.changed || ts >= l.changed) {
        l.up = env.kind === "LinkUp"; l.changed = ts; l.detail = p;
      }
      break;
    }
    case "VerificationRan": state.verify = Object.assign({ ts, seq: env.seq }, p); break;
    default: break;
  }
  schedule();
}

function windowOf(p) {
  const key = p.name + "@" + p.start_us;
  let w = state.windows.get(key);
  if (!w) {
    w = { name: p.name, start: p.start_us, end: p.end_us };
    state.windows.set(key, w);
    if (state.windows.size > KEEP.windows) state.windows.delete(state.windows.keys().next().value);
  }
  return w;
}

function boardOf(source, port) {
  if (source === "pico" || source === "classifier") return "pico";
  if (source === "esp32" || source === "power") return "esp32";
  return /pico|acm/i.test(port || "") ? "pico" : "esp32";
}

function trim(a, n) { if (a.length > n) a.splice(0, a.length - n); }

// ---- rendering (at most once per animation frame) -----------------------------------------

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
}

function dayBounds() {
  const off = state.offsetMin * 60e6, day = 86400e6;
  const now = state.now || Date.now() * 1000;
  const start = Math.floor((now + off) / day) * day - off;
  return [start, start + day];
}

function render() {
  $("station-time").textContent = state.now ? fmtTime(state.now, true) + utcLabel() : "—";
  renderTimeline();
  renderWindows();
  renderThermal();
  renderDetections();
  renderLinks();
  renderChain();
  renderDisk();
  const body = document.body.dataset;
  body.windows = String(state.windows.size);
  body.detections = String(state.detections.length);
}

function utcLabel() {
  if (!state.offsetMin) return " UTC";
  const h = state.offsetMin / 60;
  return " (UTC" + (h >= 0 ? "+" : "") + h + ")";
}

function setupCanvas(c) {
  // Draw at the device's pixel density; the height in the markup is the CSS height.
  if (!c.dataset.h) c.dataset.h = String(c.height);
  const ratio = window.devicePixelRatio || 1, w = c.clientWidth || c.width, h = Number(c.dataset.h);
  c.width = Math.round(w * ratio); c.height = Math.round(h * ratio);
  c.style.height = h + "px";
  const g = c.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  return [g, w, h];
}

function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

function renderTimeline() {
  const [g, w, h] = setupCanvas($("timeline"));
  const [d0, d1] = dayBounds(), left = 120, span = w - left - 10;
  const x = (t) => left + Math.max(0, Math.min(1, (t - d0) / (d1 - d0))) * span;
  g.clearRect(0, 0, w, h);
  g.font = "12px system-ui, sans-serif";
  const lanes = [["scheduled", 18], ["window open", 58], ["ESP32 power", 98]];
  g.fillStyle = css("--dim");
  for (const [name, y] of lanes) g.fillText(name, 0, y + 14);
  g.strokeStyle = css("--line");
  for (let hr = 0; hr <= 24; hr += 3) {
    const xx = left + (hr / 24) * span;
    g.beginPath(); g.moveTo(xx, 8); g.lineTo(xx, h - 18); g.stroke();
    g.fillStyle = css("--dim"); g.fillText(String(hr).padStart(2, "0") + ":00", xx - 14, h - 4);
  }
  const bar = (a, b, y, colour) => {
    if (b < d0 || a > d1) return;
    g.fillStyle = colour;
    g.fillRect(x(a), y, Math.max(2, x(b) - x(a)), 22);
  };
  for (const win of state.windows.values()) {
    bar(win.start, win.end, lanes[0][1], css("--window"));
    if (win.opened) bar(win.opened, win.closed || state.now, lanes[1][1], css("--open"));
  }
  // Power: each switch holds until the next one.
  let on = null;
  const before = state.power.filter((p) => p.ts < d0).pop();
  if (before && before.on) on = d0;
  for (const p of state.power) {
    if (p.ts < d0) continue;
    if (p.on && on === null) on = p.ts;
    if (!p.on && on !== null) { bar(on, p.ts, lanes[2][1], css("--power")); on = null; }
  }
  if (on !== null) bar(on, state.now, lanes[2][1], css("--power"));
  if (state.now >= d0 && state.now <= d1) {
    g.strokeStyle = css("--warn"); g.lineWidth = 2;
    g.beginPath(); g.moveTo(x(state.now), 8); g.lineTo(x(state.now), h - 18); g.stroke();
    g.lineWidth = 1;
  }
}

function renderWindows() {
  const [d0, d1] = dayBounds();
  const today = [...state.windows.values()].filter((w) => w.end > d0 && w.start < d1)
    .sort((a, b) => a.start - b.start);
  const ul = $("windows");
  ul.replaceChildren(...today.map((w) => {
    const li = document.createElement("li");
    li.dataset.window = w.name;
    li.dataset.open = String(!!w.opened && !w.closed);
    const b = document.createElement("b");
    b.textContent = w.name;
    const status = w.closed ? "closed " + fmtTime(w.closed) : w.opened ? "open since " + fmtTime(w.opened) : "scheduled";
    li.append(b, " " + fmtTime(w.start) + "–" + fmtTime(w.end) + " · " + status);
    return li;
  }));
  if (state.pushed) {
    const li = document.createElement("li");
    li.textContent = "ESP32 holds " + state.pushed.count + " windows until " + fmtTime(state.pushed.last_end_us, true);
    ul.append(li);
  }
  if (!ul.children.length) {
    const li = document.createElement("li");
    li.textContent = "No window recorded today yet.";
    ul.append(li);
  }
}

// Inferno-like colour map, 5 stops.
const STOPS = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]];
function colour(f) {
  const t = Math.max(0, Math.min(1, f)) * (STOPS.length - 1), i = Math.min(STOPS.length - 2, Math.floor(t)), r = t - i;
  return STOPS[i].map((c, k) => Math.round(c + (STOPS[i + 1][k] - c) * r));
}

let heatImage = null;
function renderThermal() {
  const t = state.thermal;
  if (!t || !Array.isArray(t.centi_c) || t.centi_c.length !== 768) return;
  const c = $("heatmap"), g = c.getContext("2d");
  if (!heatImage) heatImage = g.createImageData(32, 24);
  // Colour between the 2nd and 98th percentile, so one dead pixel does not flatten the scene.
  const sorted = Float64Array.from(t.centi_c).sort();
  const lo = sorted[Math.floor(sorted.length * 0.02)], hi = sorted[Math.ceil(sorted.length * 0.98) - 1];
  const range = Math.max(1, hi - lo);
  t.centi_c.forEach((v, i) => {
    const [r, gg, b] = colour((v - lo) / range);
    heatImage.data.set([r, gg, b, 255], i * 4);
  });
  const off = document.createElement("canvas");
  off.width = 32; off.height = 24;
  off.getContext("2d").putImageData(heatImage, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(off, 0, 0, c.width, c.height);
  $("t-max").textContent = (hi / 100).toFixed(1) + " °C";
  $("t-min").textContent = (lo / 100).toFixed(1) + " °C";
  $("thermal-when").textContent = "frame " + t.frame + " · " + fmtTime(t.ts);
  const d = state.detection, box = $("detection");
  if (d) {
    box.dataset.class = d.cls;
    $("det-class").textContent = d.cls + (d.present ? " · present" : "");
    $("det-bar").style.width = d.conf / 10 + "%";
    $("det-conf").textContent = (d.conf / 10).toFixed(1) + "% (" + d.engine + ")";
  }
}

function renderDetections() {
  const [g, w, h] = setupCanvas($("det-timeline"));
  const [d0, d1] = dayBounds();
  g.clearRect(0, 0, w, h);
  const today = state.detections.filter((d) => d.ts >= d0 && d.ts < d1);
  const byClass = { person: css("--person"), object: css("--object"), background: css("--background") };
  for (const d of today) {
    const xx = ((d.ts - d0) / (d1 - d0)) * w;
    const y = d.cls === "person" ? 4 : d.cls === "object" ? 22 : 40;
    g.fillStyle = byClass[d.cls] || css("--dim");
    g.fillRect(xx, y, 2, 14);
  }
  const persons = today.filter((d) => d.cls === "person").length;
  $("det-count").textContent = today.length
    ? today.length + " classified frames, " + persons + " with a person"
    : "none";
}

function renderLinks() {
  for (const board of ["esp32", "pico"]) {
    const l = state.links[board], el = $("link-" + board);
    if (l.up === undefined && !l.stats) continue;
    el.dataset.state = l.up === false ? "down" : "up";
    el.querySelector(".state").textContent = l.up === false
      ? "down: " + (l.detail.reason || "") : "up" + (l.changed ? " since " + fmtTime(l.changed) : "");
    const rows = [];
    if (l.detail && l.detail.port) rows.push(["port", l.detail.port]);
    if (l.stats) {
      const rejects = Object.entries(l.stats.rejects || {}).map(([k, v]) => k + " " + v).join(", ") || "none";
      rows.push(["frames", String(l.stats.frames)], ["rejected", rejects], ["reconnects", String(l.stats.reconnects)]);
    }
    el.querySelector("dl").replaceChildren(...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = k; dd.textContent = v;
      return [dt, dd];
    }));
  }
}

function renderChain() {
  $("chain-seq").textContent = state.lastSeq.toLocaleString("en") + " (last seq)";
  $("chain-head").textContent = state.head ? state.head.slice(0, 32) + "…" : "—";
  $("chain-head").title = state.head;
  const v = state.verify, el = $("verify");
  if (v) {
    el.className = v.ok ? "ok" : "bad";
    el.textContent = v.ok
      ? "✓ " + v.checked.toLocaleString("en") + " records verified, " + fmtTime(v.ts, true)
      : "✗ broken at seq " + v.first_bad_seq + ": " + (v.problem || "") + " (" + fmtTime(v.ts, true) + ")";
  }
}

function renderDisk() {
  // /v1/status may report disk use; older servers do not (the panel says so).
  const d = state.status.disk;
  if (!d || typeof d !== "object") return;
  const total = d.total_bytes || d.total, free = d.free_bytes ?? d.free, floor = d.floor_bytes ?? d.min_free_bytes;
  if (!total || free === undefined) return;
  const used = total - free;
  $("disk-bar").style.width = (used / total) * 100 + "%";
  let text = gb(used) + " used of " + gb(total) + ", " + gb(free) + " free";
  if (floor) {
    const f = $("disk-floor");
    f.hidden = false;
    f.style.left = ((total - floor) / total) * 100 + "%";
    text += " · retention floor " + gb(floor) + " free";
  }
  $("disk-text").textContent = text;
}

function gb(n) { return (n / 1e9).toFixed(n > 1e10 ? 0 : 1) + " GB"; }

// ---- camera frames (fetched with the token, shown from a blob) ----------------------------

let frameUrl = null, frameLoading = false, frameWanted = 0;
async function showFrame() {
  frameWanted = state.frameSeq;
  if (frameLoading) return;
  frameLoading = true;
  try {
    while (frameWanted && frameWanted !== Number($("camera-img").dataset.seq || 0)) {
      const seq = frameWanted, f = state.frame;
      const blob = await (await api("/v1/frames/" + seq)).blob();
      const url = URL.createObjectURL(blob), img = $("camera-img");
      await new Promise((ok, bad) => { img.onload = ok; img.onerror = () => bad(new Error("frame " + seq + " is not an image")); img.src = url; });
      if (frameUrl) URL.revokeObjectURL(frameUrl);
      frameUrl = url;
      img.dataset.seq = String(seq);
      img.hidden = false;
      $("camera-none").hidden = true;
      $("camera-when").textContent = fmtTime(f.ts, true);
      $("camera-meta").textContent = f.width + "×" + f.height + " · " + (f.bytes / 1024).toFixed(0) + " KiB · seq " + seq + " · blake3 " + f.blake3.slice(0, 16) + "…";
      document.body.dataset.frame = String(seq);
    }
  } catch (e) {
    if (e instanceof Refused) showLogin(e.message);
    else $("camera-meta").textContent = e.message;
  } finally {
    frameLoading = false;
  }
}

// ---- live stream ------------------------------------------------------------------------

let streamAbort = null;
async function stream() {
  let retry = 1000;
  for (;;) {
    const ctl = new AbortController();
    streamAbort = ctl;
    try {
      const r = await fetch("/v1/events/stream?since_seq=" + state.streamAfter, { headers: headers(), signal: ctl.signal, cache: "no-store" });
      if (r.status === 401 || r.status === 403) { showLogin(await errorText(r)); return; }
      if (!r.ok || !r.body) throw new Error(await errorText(r));
      setLive("live", "live");
      retry = 1000;
      await readEvents(r.body.getReader());
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    setLive("reconnecting", "reconnecting…");
    await new Promise((ok) => setTimeout(ok, retry));
    retry = Math.min(retry * 2, 15000);
  }
}

async function readEvents(reader) {
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = "message", data = "", id = null;
      for (const line of block.split("\n")) {
        if (line.startsWith("data: ")) data += line.slice(6);
        else if (line.startsWith("id: ")) id = Number(line.slice(4));
        else if (line.startsWith("event: ")) event = line.slice(7);
      }
      if (!data) continue;
      if (event === "message") {
        apply(JSON.parse(data));
        if (id) state.streamAfter = id;
      }
      else return; // overflow / closed / error: reconnect from the last seq
    }
  }
}

function setLive(s, text) { const el = $("live"); el.dataset.state = s; el.textContent = text; }

// ---- audit view -------------------------------------------------------------------------

let auditCursor = null, auditPage = 1, auditParams = "";
async function audit(cursor) {
  const form = new FormData($("audit-form")), q = new URLSearchParams();
  for (const [k, v] of form) if (String(v).trim()) q.set(k, String(v).trim());
  if (cursor) q.set("cursor", cursor);
  $("audit-error").textContent = "";
  try {
    const page = await apiJson("/v1/events?" + q);
    const rows = page.items.map((e) => {
      const tr = document.createElement("tr");
      for (const v of [e.seq, String(e.ts).replace("T", " ").replace("Z", ""), e.source, e.kind, e.class]) {
        const td = document.createElement("td"); td.textContent = String(v); tr.append(td);
      }
      const td = document.createElement("td");
      td.className = "payload";
      const text = JSON.stringify(e.payload);
      td.textContent = text.length > 300 ? text.slice(0, 300) + "…" : text;
      tr.append(td);
      return tr;
    });
    $("audit-table").tBodies[0].replaceChildren(...rows);
    auditCursor = page.next_cursor;
    $("audit-next").disabled = auditCursor === null || auditCursor === undefined;
    $("audit-first").disabled = !cursor;
    $("audit-page").textContent = "page " + auditPage + " · " + page.items.length + " events" + (auditCursor ? " · more follow" : " · end");
  } catch (e) {
    if (e instanceof Refused) showLogin(e.message);
    else $("audit-error").textContent = e.message;
  }
}

// ---- login and start --------------------------------------------------------------------

function showLogin(why) {
  if (streamAbort) streamAbort.abort();
  document.body.dataset.view = "login";
  $("data").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = token() ? "The station refused this token: " + why : "";
  setLive("refused", "not signed in");
}

async function load() {
  document.body.dataset.view = "loading";
  try {
    const status = await apiJson("/v1/status");
    state.status = status;
    // Latest of each kind the panels need, newest first, then live from the head.
    const wanted = [["WindowOpened", 50], ["WindowClosed", 50], ["WindowsPushed", 1], ["PowerSwitched", 100],
      ["FrameCaptured", 1], ["ThermalFrame", 1], ["Detection", 1000], ["LinkUp", 4], ["LinkDown", 4],
      ["LinkStats", 4], ["VerificationRan", 1]];
    const pages = await Promise.all(wanted.map(([k, n]) => apiJson("/v1/events?kind=" + k + "&order=newest&limit=" + n)));
    for (const page of pages) for (const env of page.items.slice().reverse()) apply(env);
    state.streamAfter = status.last_seq;
    if (status.last_seq > state.lastSeq) { state.lastSeq = status.last_seq; state.head = status.head; }
  } catch (e) {
    if (e instanceof Refused) { showLogin(e.message); return; }
    setLive("reconnecting", "station unreachable");
    $("audit-error").textContent = e.message;
  }
  document.body.dataset.view = "data";
  $("login").hidden = true;
  $("data").hidden = false;
  $("logout").hidden = !token();
  schedule();
  audit(null);
  stream();
}

function init() {
  $("audit-form").querySelector("select[name=source]").append(...SOURCES.map((s) => new Option(s, s)));
  $("kinds").append(...KINDS.map((k) => new Option(k)));
  $("audit-form").addEventListener("submit", (e) => { e.preventDefault(); auditPage = 1; audit(null); });
  $("audit-next").addEventListener("click", () => { auditPage += 1; audit(auditCursor); });
  $("audit-first").addEventListener("click", () => { auditPage = 1; audit(null); });
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    load();
  });
  $("logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); });
  window.addEventListener("resize", schedule);
  load();
}

document.addEventListener("DOMContentLoaded", init);
