"use strict";
// tracejoin view. Every text that came from an input goes into the page with textContent (never as
// markup); the server's Content-Security-Policy forbids inline script and anything remote besides.

const H = 18;              // px per timeline row
const PAGE = 200;          // events per request
const MAXPX = 8e6;         // browsers cap element heights: beyond this the scrollbar maps proportionally
const KEEP_PAGES = 60;     // pages kept in the browser; the rest is asked again when scrolled back to
const FILTERS = ["host", "kind", "conn", "grep", "from", "to"];
const SVG = "http://www.w3.org/2000/svg";
const $ = id => document.getElementById(id);

const state = {
  filters: {}, total: 0, gen: 0, pages: new Map(), pending: new Set(),
  lastId: 0, newIds: new Set(), highlight: null, store: null, hist: null, loadTimer: 0,
};

// ---------- small helpers ----------
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined && text !== null) e.textContent = String(text); return e; }
function svg(tag, attrs, text) { const e = document.createElementNS(SVG, tag); for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v)); if (text !== undefined) e.textContent = String(text); return e; }
function base(path) { return String(path || "").split("/").pop(); }
function showError(e) { $("error").textContent = e ? String(e.message || e) : ""; }
function iso(ns) { return new Date(Number(ns) / 1e6).toISOString().replace("Z", "") + "Z"; }

async function api(path, params) {
  const q = params ? "?" + params.toString() : "";
  const r = await fetch(path + q, { headers: { accept: "application/json" } });
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

function filterParams(extra) {
  const p = new URLSearchParams();
  for (const k of FILTERS) if (state.filters[k]) p.set(k, state.filters[k]);
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  return p;
}

// ---------- URL <-> filters ----------
function readURL() {
  const q = new URLSearchParams(location.search);
  state.filters = {};
  for (const k of FILTERS) if (q.get(k)) state.filters[k] = q.get(k);
  const f = $("filters");
  for (const k of FILTERS) f.elements[k].value = state.filters[k] || "";
}

function writeURL(push) {
  const q = filterParams().toString();
  const path = location.pathname.startsWith("/conn/") && connOpen() ? location.pathname : "/";
  const url = path + (q ? "?" + q : "");
  if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
}

// ---------- timeline: virtual scrolling over the server's pages ----------
const tl = () => $("tl");
function visibleRows() { return Math.max(1, Math.ceil(tl().clientHeight / H)); }
function scaled() { return state.total * H > MAXPX; }
function spacer() { return scaled() ? MAXPX : state.total * H; }

function firstVisible() {
  const t = tl();
  if (!scaled()) return Math.floor(t.scrollTop / H);
  const maxTop = Math.max(1, spacer() - t.clientHeight);
  return Math.round(Math.min(1, t.scrollTop / maxTop) * Math.max(0, state.total - visibleRows()));
}

function scrollToIndex(i) {
  const t = tl();
  i = Math.max(0, Math.min(i, state.total - 1));
  if (!scaled()) { t.scrollTop = i * H; return; }
  const maxTop = Math.max(1, spacer() - t.clientHeight);
  t.scrollTop = i / Math.max(1, state.total - visibleRows()) * maxTop;
}

function render() {
  $("tlspace").style.height = spacer() + "px";
  const t = tl(), out = $("tlrows");
  const first = firstVisible(), n = visibleRows() + 1;
  out.style.top = (scaled() ? t.scrollTop : first * H) + "px";
  const rows = [];
  let missing = false;
  for (let i = first; i < Math.min(first + n, state.total); i++) {
    const page = state.pages.get(Math.floor(i / PAGE));
    const ev = page && page[i % PAGE];
    if (!ev) { missing = true; rows.push(el("div", "row pending", "…")); continue; }
    rows.push(rowFor(ev));
  }
  out.replaceChildren(...rows);
  $("count").textContent = state.total.toLocaleString() + " events" + (state.truncated ? " (first matches only)" : "")
    + (state.total ? " · row " + (first + 1).toLocaleString() : "");
  markHistogram(first);
  if (missing) scheduleLoad();
}

function rowFor(ev) {
  const d = el("div", "row");
  d.dataset.id = ev.id;
  d.dataset.place = base(ev.source) + ":" + ev.line;
  const time = el("span", "t", ev.ts);
  time.title = ev.ts_source_ns !== undefined
    ? "as its source wrote it: " + iso(ev.ts_source_ns) + " (its clock moved onto the reference's)"
    : "as its source wrote it (its clock is the reference's or was not moved)";
  d.append(time, el("span", "h", ev.host), el("span", "s", base(ev.source) + ":" + ev.line),
    el("span", "c", ev.conn || ""), el("span", "k", ev.kind),
    el("span", "m", (ev.label ? ev.label + " " : "") + ev.summary));
  if (ev.community_id) { d.classList.add("conn"); d.addEventListener("click", () => openConn(ev.community_id, true)); }
  if (ev.flags && ev.flags.includes("R")) d.classList.add("rst");
  if (state.newIds.has(ev.id)) d.classList.add("new");
  const h = state.highlight;
  if (h && ((h.id && h.id === ev.id) || (h.place && h.place === d.dataset.place))) d.classList.add("hit");
  return d;
}

function scheduleLoad() {
  clearTimeout(state.loadTimer);
  state.loadTimer = setTimeout(loadVisible, 40);
}

function loadVisible() {
  const first = firstVisible();
  const pages = new Set([Math.floor(first / PAGE), Math.floor((first + visibleRows()) / PAGE)]);
  for (const p of pages) loadPage(p);
}

async function loadPage(p) {
  if (state.pages.has(p) || state.pending.has(p)) return;
  const gen = state.gen;
  state.pending.add(p);
  try {
    const j = await api("/api/timeline", filterParams({ offset: p * PAGE, limit: PAGE }));
    if (gen !== state.gen) return;
    state.pages.set(p, j.events);
    state.total = j.total; state.truncated = !!j.truncated;
    // Keep memory flat: drop the pages farthest from this one.
    if (state.pages.size > KEEP_PAGES) {
      const far = [...state.pages.keys()].sort((a, b) => Math.abs(b - p) - Math.abs(a - p));
      for (const k of far.slice(0, state.pages.size - KEEP_PAGES)) state.pages.delete(k);
    }
    render();
  } catch (e) { showError(e); } finally { state.pending.delete(p); }
}

async function reload(at) {
  state.gen++; state.pages.clear(); state.pending.clear();
  showError(null);
  try {
    const extra = at !== undefined ? { at: "ns:" + at, limit: 1 } : { offset: 0, limit: PAGE };
    const j = await api("/api/timeline", filterParams(extra));
    state.total = j.total; state.truncated = !!j.truncated;
    if (at === undefined) state.pages.set(0, j.events);
    render();
    scrollToIndex(at !== undefined ? j.offset : 0);
    render();
  } catch (e) { state.total = 0; render(); showError(e); }
}

// A finding's evidence, or a click on the histogram: the first event at or after that time.
function jumpTo(ns, highlight) { state.highlight = highlight || null; reload(ns); }

// ---------- histogram: events per host over the range; drag zooms, click jumps ----------
async function loadHistogram() {
  const box = $("histogram");
  const width = Math.max(200, box.clientWidth || 800);
  const p = new URLSearchParams();
  for (const k of ["host", "from", "to"]) if (state.filters[k]) p.set(k, state.filters[k]);
  p.set("buckets", String(Math.min(2000, Math.max(20, Math.floor((width - 90) / 3)))));
  try {
    state.hist = await api("/api/histogram", p);
    drawHistogram();
  } catch (e) { showError(e); }
}

function drawHistogram() {
  const h = state.hist, box = $("histogram");
  if (!h) return;
  const width = Math.max(200, box.clientWidth || 800), height = 70, left = 90;
  const lanes = h.hosts.length || 1, laneH = height / lanes;
  box.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const parts = [];
  h.hosts.forEach((row, i) => {
    const g = svg("g", { class: "lane" });
    g.append(svg("text", { x: 2, y: i * laneH + laneH / 2 + 4 }, row.host));
    const max = Math.max(1, ...row.counts), bw = (width - left) / row.counts.length;
    row.counts.forEach((c, j) => {
      if (!c) return;
      const bh = Math.max(1, (laneH - 2) * c / max);
      const r = svg("rect", { class: "bar", x: left + j * bw, y: (i + 1) * laneH - bh, width: Math.max(1, bw - 0.5), height: bh });
      r.append(svg("title", {}, `${row.host}: ${c} events`));
      g.append(r);
    });
    parts.push(g);
  });
  parts.push(svg("line", { class: "here", x1: -10, x2: -10, y1: 0, y2: height }));
  box.replaceChildren(...parts);
  $("axisfrom").textContent = h.from; $("axisto").textContent = h.to;
}

function histTime(x) {
  const h = state.hist, box = $("histogram"), left = 90;
  const width = box.getBoundingClientRect().width;
  const f = Math.min(1, Math.max(0, (x - left * width / Math.max(200, box.clientWidth || 800)) / (width - left * width / Math.max(200, box.clientWidth || 800))));
  return Math.round(h.from_ns + f * (h.to_ns - h.from_ns));
}

function markHistogram(first) {
  const h = state.hist, line = document.querySelector("#histogram line.here");
  if (!h || !line) return;
  const page = state.pages.get(Math.floor(first / PAGE)), ev = page && page[first % PAGE];
  if (!ev) return;
  const width = Math.max(200, $("histogram").clientWidth || 800), left = 90;
  const x = left + (width - left) * (ev.ts_ns - h.from_ns) / Math.max(1, h.to_ns - h.from_ns);
  line.setAttribute("x1", x); line.setAttribute("x2", x);
}

function setupHistogram() {
  const box = $("histogram");
  let x0 = null, sel = null;
  box.addEventListener("mousedown", e => {
    if (!state.hist) return;
    x0 = e.offsetX;
    sel = svg("rect", { class: "sel", x: x0, y: 0, width: 0, height: 70 });
    box.append(sel);
  });
  box.addEventListener("mousemove", e => {
    if (x0 === null) return;
    const scale = Math.max(200, box.clientWidth || 800) / box.getBoundingClientRect().width;
    sel.setAttribute("x", Math.min(x0, e.offsetX) * scale); sel.setAttribute("width", Math.abs(e.offsetX - x0) * scale);
  });
  window.addEventListener("mouseup", e => {
    if (x0 === null) return;
    const a = x0; x0 = null; if (sel) sel.remove();
    const b = e.target === box || box.contains(e.target) ? e.offsetX : a;
    if (Math.abs(b - a) < 4) { jumpTo(histTime(a)); return; }
    const t0 = histTime(Math.min(a, b)), t1 = histTime(Math.max(a, b));
    setRange(t0, t1);
  });
  // The wheel pans a zoomed range by a tenth of its width (with Ctrl, zooms around the pointer).
  box.addEventListener("wheel", e => {
    const h = state.hist; if (!h || !(state.filters.from || e.ctrlKey)) return;
    e.preventDefault();
    const span = h.to_ns - h.from_ns;
    if (e.ctrlKey) {
      const at = histTime(e.offsetX), k = e.deltaY > 0 ? 1.5 : 1 / 1.5;
      setRange(Math.round(at - (at - h.from_ns) * k), Math.round(at + (h.to_ns - at) * k));
    } else {
      const shift = Math.round(span / 10) * Math.sign(e.deltaY || e.deltaX);
      setRange(h.from_ns + shift, h.to_ns + shift);
    }
  }, { passive: false });
  $("zoomout").addEventListener("click", () => {
    const h = state.hist; if (!h) return;
    const span = h.to_ns - h.from_ns, mid = h.from_ns + span / 2;
    setRange(Math.round(mid - span * 1.5), Math.round(mid + span * 1.5));
  });
  $("zoomreset").addEventListener("click", () => { delete state.filters.from; delete state.filters.to; applyFilters(); });
}

function setRange(t0, t1) {
  state.filters.from = "ns:" + t0; state.filters.to = "ns:" + t1;
  applyFilters();
}

// ---------- filters ----------
function applyFilters(push) {
  const f = $("filters");
  for (const k of FILTERS) f.elements[k].value = state.filters[k] || "";
  writeURL(push);
  state.highlight = null;
  reload();
  loadHistogram();
}

function setupFilters() {
  const f = $("filters");
  f.addEventListener("submit", e => {
    e.preventDefault();
    state.filters = {};
    for (const k of FILTERS) { const v = f.elements[k].value.trim(); if (v) state.filters[k] = v; }
    applyFilters(true);
  });
  $("clear").addEventListener("click", () => { state.filters = {}; applyFilters(true); });
}

// ---------- side panels: clocks and findings ----------
async function loadClocks() {
  try {
    const clocks = await api("/api/clocks");
    const body = document.querySelector("#clocks tbody");
    body.replaceChildren(...clocks.map(c => {
      const tr = el("tr");
      const off = c.offset_s === 0 ? "0" : (c.offset_s > 0 ? "+" : "") + c.offset_s.toFixed(6) + " s";
      const unc = c.uncertainty_s === null || c.uncertainty_s === undefined ? "" : c.uncertainty_s.toFixed(6);
      tr.append(el("td", "", base(c.source)), el("td", "", c.host), el("td", "", off), el("td", "", unc),
        el("td", "", (c.method || "as written") + (c.zone_guess ? ` (zone ${c.zone_guess})` : "")));
      return tr;
    }));
  } catch (e) { showError(e); }
}

async function loadFindings() {
  try {
    const findings = await api("/api/findings");
    const list = document.querySelector("#findings ol");
    if (!findings.length) { list.replaceChildren(el("li", "", "no findings")); return; }
    list.replaceChildren(...findings.map(f => {
      const li = el("li", f.severity);
      li.append(el("span", "kind", f.kind), document.createTextNode(" "), el("span", "", f.explanation));
      const ev = (f.evidence || [])[0];
      li.title = ev ? "evidence: " + base(ev.source) + (ev.line ? ":" + ev.line : "") : "";
      li.addEventListener("click", () => {
        if (!ev) return;
        // The evidence's time on the whole timeline (filters off), its row highlighted.
        state.filters = {}; writeURL(true); loadHistogram();
        jumpTo(ev.ts_ns, { place: base(ev.source) + ":" + (ev.line || 0) });
      });
      return li;
    }));
  } catch (e) { showError(e); }
}

// ---------- connection: lifecycle and ladder ----------
function connOpen() { return !$("conn").hidden; }

async function openConn(id, push) {
  try {
    const j = await api("/api/conn/" + encodeURIComponent(id));
    if (push) history.pushState(null, "", "/conn/" + encodeURIComponent(id) + location.search);
    $("conn").hidden = false;
    drawConn(j);
  } catch (e) { showError(e); }
}

function closeConn() {
  $("conn").hidden = true;
  history.pushState(null, "", "/" + location.search);
}

function drawConn(j) {
  const c = j.connection, l = j.lifecycle;
  $("conntitle").textContent = c.id + "  ·  community_id " + c.community_id;
  const facts = $("connfacts");
  const parts = [];
  if (l) {
    const line = [`${l.originator} → ${l.responder}`, `conn_state ${l.conn_state}`, `history ${l.history}`,
      l.handshake_rtt_ms !== undefined ? `handshake ${l.handshake_rtt_ms.toFixed(3)} ms` : (l.handshake_completed ? "" : "no handshake"),
      `bytes ${l.orig.bytes} → / ← ${l.resp.bytes}`, `ended: ${l.end}` + (l.end_by ? ` by ${l.end_by}` : ""),
      `${l.first} … ${l.last} (${l.duration_s} s)`].filter(Boolean);
    parts.push(el("p", "", line.join("  ·  ")));
  }
  if (c.by_capture_point) {
    const t = el("table"), head = el("tr");
    for (const h of ["capture point", "source", "packets", "conn_state", "history"]) head.append(el("th", "", h));
    t.append(head);
    for (const v of c.by_capture_point) {
      const tr = el("tr");
      tr.append(el("td", "", v.host), el("td", "", base(v.source)), el("td", "", v.packets), el("td", "", v.conn_state), el("td", "", v.history));
      t.append(tr);
    }
    parts.push(t);
  }
  for (const a of j.aliases || []) parts.push(el("p", "", `also seen as ${a.id} (NAT between capture points; ${a.evidence})`));
  facts.replaceChildren(...parts);
  drawLadder(j);
}

// One lane per endpoint (originator left, responder right) and per capture point between them; time
// goes down. A packet is an arrow on the lane of the point that saw it, pointing the way it went; the
// same packet seen at two points is joined by a dashed line; one seen on one side only is red, with
// what the joiner concluded (lost, injected, …). Other events of the connection (socket tables, ETL,
// SIP) are notes on their source's lane.
function drawLadder(j) {
  const box = $("ladder");
  const events = j.events.slice(0, 3000);
  const c = j.connection, l = j.lifecycle;
  const orig = (l && l.originator) || c.endpoints[0], resp = (l && l.responder) || c.endpoints[1];
  const points = [];
  for (const e of events) if (!points.includes(e.source)) points.push(e.source);
  const lanes = [orig, ...points, resp];
  const x0 = 150, gap = 230;
  const x = i => x0 + gap * i;
  const top = 44, rowH = 17;
  const parts = [svg("defs")];
  const defs = parts[0];
  for (const [id, color] of [["fwd", "#36c"], ["rev", "#a3c"], ["bad", "#d00"]]) {
    const m = svg("marker", { id: "arrow-" + id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
    m.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: color }));
    defs.append(m);
  }
  const height = top + rowH * (events.length + 1) + 20;
  lanes.forEach((name, i) => {
    const label = i === 0 ? "originator " + name : i === lanes.length - 1 ? "responder " + name : "capture: " + hostOf(events, name) + " (" + base(name) + ")";
    parts.push(svg("text", { x: x(i), y: 16, "text-anchor": "middle", class: "lanename" }, label));
    parts.push(svg("line", { x1: x(i), x2: x(i), y1: 24, y2: height - 10, class: "lane" }));
  });
  const y = new Map();
  events.forEach((e, i) => y.set(e.id, top + rowH * i));
  events.forEach((e, i) => {
    const yy = top + rowH * i;
    const lane = points.indexOf(e.source) + 1;
    parts.push(svg("text", { x: 4, y: yy + 4, class: "tm" }, String(e.ts).split("T").pop()));
    if (e.kind !== "packet") {
      parts.push(svg("text", { x: x(lane) + 6, y: yy + 4, class: "note" }, "◆ " + ((e.label ? e.label + " " : "") + e.summary).slice(0, 110)));
      return;
    }
    // Under another tuple (NAT), the way to the responder's port is forward.
    const forward = e.src === orig || e.dst === resp || (!(e.dst === orig || e.src === resp) && portOf(e.dst) === portOf(resp));
    const elsewhere = e.elsewhere || [];
    const alone = elsewhere.find(v => v.verdict !== "seen");
    let cls = "pkt" + (forward ? "" : " rev");
    if ((e.flags || "").includes("R")) cls += " rst";
    if ((e.expert || []).some(n => n.includes("retransmission"))) cls += " retrans";
    if (alone) cls += " alone";
    const xa = x(lane) + (forward ? -60 : 60), xb = x(lane) + (forward ? 60 : -60);
    const arrow = svg("line", { x1: xa, y1: yy, x2: xb, y2: yy, class: cls, "data-src": e.src || "", "data-id": e.id,
      "marker-end": `url(#arrow-${alone || cls.includes("rst") ? "bad" : forward ? "fwd" : "rev"})` });
    arrow.append(svg("title", {}, `${e.ts} ${e.host}: ${e.summary}` + (elsewhere.length ? "\n" + elsewhere.map(v => `${v.host}: ${v.verdict}`).join(", ") : "")));
    parts.push(arrow);
    for (const v of elsewhere) {
      if (v.verdict !== "seen" || !y.has(v.twin)) continue;
      const twin = events.find(t => t.id === v.twin);
      if (!twin || twin.id < e.id && y.get(twin.id) < yy) continue;   // drawn once, from the first sighting
      parts.push(svg("line", { x1: x(lane), y1: yy, x2: x(points.indexOf(twin.source) + 1), y2: y.get(twin.id), class: "twin" }));
    }
    const what = [e.flags, e.len ? "len " + e.len : "", alone ? alone.verdict + " (" + alone.host + ")" : ""].filter(Boolean).join(" ");
    parts.push(svg("text", { x: x(lanes.length - 1) + 12, y: yy + 4, class: alone ? "note bad" : "note" }, `${e.host}: ${what}  ${e.summary}`.slice(0, 120)));
  });
  box.setAttribute("width", x(lanes.length - 1) + 700);
  box.setAttribute("height", height);
  box.replaceChildren(...parts);
}

function portOf(endpoint) { return String(endpoint || "").split(":").pop(); }
function hostOf(events, source) { const e = events.find(e => e.source === source); return e ? e.host : "?"; }

// ---------- live: events another process appends ----------
async function startLive() {
  if (!window.EventSource) return;
  const src = new EventSource("/api/live?after=" + encodeURIComponent(state.lastId));
  src.addEventListener("open", () => { $("live").textContent = "● live"; $("live").className = "on"; });
  src.addEventListener("error", () => { $("live").textContent = "○ live (reconnecting)"; $("live").className = ""; });
  let refresh = 0;
  src.addEventListener("events", async m => {
    const events = JSON.parse(m.data);
    for (const e of events) { state.newIds.add(e.id); state.lastId = Math.max(state.lastId, e.id); }
    const t = tl(), atEnd = t.scrollTop + t.clientHeight >= t.scrollHeight - H * 2;
    // New events land at the end of the timeline (or anywhere, if their source is behind): ask again.
    const old = state.total;
    try {
      const j = await api("/api/timeline", filterParams({ offset: 0, limit: 1 }));
      state.total = j.total;
      for (const k of [...state.pages.keys()]) if (k >= Math.floor(old / PAGE) - 1) state.pages.delete(k);
      render();
      if (atEnd) { scrollToIndex(state.total - 1); render(); }
    } catch (e) { showError(e); }
    clearTimeout(refresh);
    refresh = setTimeout(() => { loadHistogram(); loadFindings(); loadClocks(); }, 1500);
  });
}

// ---------- start ----------
async function start() {
  readURL();
  setupFilters();
  setupHistogram();
  $("connclose").addEventListener("click", closeConn);
  document.addEventListener("keydown", e => { if (e.key === "Escape" && connOpen()) closeConn(); });
  tl().addEventListener("scroll", render);
  window.addEventListener("resize", () => { render(); drawHistogram(); });
  window.addEventListener("popstate", () => {
    readURL(); reload(); loadHistogram();
    const m = location.pathname.match(/^\/conn\/(.+)$/);
    if (m) openConn(decodeURIComponent(m[1]), false); else $("conn").hidden = true;
  });
  try {
    state.store = await api("/api/sources");
    state.lastId = state.store.last_id;
    $("hosts").replaceChildren(...state.store.hosts.map(h => { const o = el("option"); o.value = h; return o; }));
    const kind = $("filters").elements.kind;
    for (const k of state.store.kinds) { const o = el("option", "", k); o.value = k; kind.append(o); }
    kind.value = state.filters.kind || "";
  } catch (e) { showError(e); }
  await reload();
  loadHistogram();
  loadClocks();
  loadFindings();
  const m = location.pathname.match(/^\/conn\/(.+)$/);
  if (m) openConn(decodeURIComponent(m[1]), false);
  startLive();
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", start);
