// plexo ui: the live page. Plain JavaScript, no build step; the server
// sends aggregated events (see the Go package ui) and the page renders them.
"use strict";

const HISTORY = 60, MAX_MESSAGES = 50;
const $ = (id) => document.getElementById(id);
const state = {
  version: -1, publish: false, self: "",
  rows: new Map(),      // topic name -> row
  order: [],            // rows by the server's index
  sort: { key: "topic", dir: 1 },
  filter: "",
  selected: null,
  es: null,
  messages: [],         // shown, newest first
  pending: [],          // arrived while paused, newest first
  paused: false,
};

// ---- formatting ----
function fmtRate(x) { return x >= 100 ? String(Math.round(x)) : String(Math.round(x * 10) / 10); }
function fmtBytes(x) {
  const units = ["B", "kB", "MB", "GB"];
  let i = 0;
  while (x >= 1000 && i < units.length - 1) { x /= 1000; i++; }
  return (i === 0 ? Math.round(x) : x.toFixed(x >= 100 ? 0 : 1)) + " " + units[i];
}
function fmtCount(x) { return x >= 1e6 ? (x / 1e6).toFixed(1) + "M" : x >= 1e4 ? (x / 1e3).toFixed(1) + "k" : String(x); }
function fmtTime(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

// ---- topics table ----
const SVG = "http://www.w3.org/2000/svg";
function newRow(info) {
  const tr = el("tr", { "data-topic": info.topic, tabindex: "0" });
  const cells = {};
  for (const [name, cls] of [["topic", "name"], ["message", "type"], ["codec", "codec"], ["publishers", "num pub"],
    ["subscribers", "num sub"], ["rate", "num"], ["bytes", "num bytes"], ["spark", "spark"], ["health", "health"]]) {
    const td = el("td", { class: cls, "data-field": name });
    tr.append(td);
    cells[name] = td;
  }
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", `0 0 ${HISTORY - 1} 20`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("aria-hidden", "true");
  const area = document.createElementNS(SVG, "polygon");
  const line = document.createElementNS(SVG, "polyline");
  svg.append(area, line);
  cells.spark.append(svg);
  const row = { info, tr, cells, line, area, hist: new Array(HISTORY).fill(0), rate: 0, bytes: 0, dropped: 0, decodeErrors: 0, shown: {}, visible: false };
  tr.addEventListener("click", () => select(info.topic));
  tr._row = row;
  visibility.observe(tr);
  return row;
}
// Only the rows on screen are redrawn each second; the others keep their
// rate, the page's contract, current and are drawn when they show.
const visibility = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const row = e.target._row;
    row.visible = e.isIntersecting;
    if (row.visible) renderRow(row);
  }
});
function set(row, field, text, title) {
  if (row.shown[field] === text) return;
  row.shown[field] = text;
  row.cells[field].textContent = text;
  if (title !== undefined) row.cells[field].title = title;
}
function renderRow(row) {
  const i = row.info;
  set(row, "topic", i.topic, i.topic);
  set(row, "message", i.message || "(unknown)", i.message || "no peer named the type");
  set(row, "codec", i.codec);
  set(row, "publishers", String(i.publishers));
  set(row, "subscribers", String(i.subscribers));
  set(row, "rate", fmtRate(row.rate));
  set(row, "bytes", fmtBytes(row.bytes), row.bytes + " bytes/s");
  const bad = row.dropped > 0 || row.decodeErrors > 0;
  const health = bad ? [row.dropped ? fmtCount(row.dropped) + " dropped" : "", row.decodeErrors ? fmtCount(row.decodeErrors) + " undecodable" : ""].filter(Boolean).join(", ") : "ok";
  set(row, "health", health, bad ? health : "no drops, no decode errors");
  row.tr.classList.toggle("bad", bad);
  if (row.visible) drawSpark(row);
}
function drawSpark(row) {
  const max = Math.max(1, ...row.hist);
  const pts = row.hist.map((v, x) => `${x},${(19 - (v / max) * 18).toFixed(1)}`).join(" ");
  if (row.shown.spark !== pts) {
    row.shown.spark = pts;
    row.line.setAttribute("points", pts);
    row.area.setAttribute("points", `0,20 ${pts} ${HISTORY - 1},20`);
    row.cells.spark.title = `max ${fmtRate(Math.max(...row.hist))} msgs/s over the last minute`;
  }
}
function onTopics(ev) {
  const hadPublish = state.publish;
  state.version = ev.version;
  state.publish = ev.publish;
  state.self = ev.self;
  $("self").textContent = "this viewer's Plexus " + ev.self;
  const next = new Map();
  state.order = ev.topics.map((info) => {
    let row = state.rows.get(info.topic);
    if (!row) row = newRow(info);
    row.info = info;
    row.hist = info.history.slice(-HISTORY);
    row.rate = row.hist[HISTORY - 1] || 0;
    row.bytes = info.bytesRate;
    row.dropped = info.dropped;
    row.decodeErrors = info.decodeErrors;
    row.tr.classList.toggle("selected", info.topic === state.selected);
    next.set(info.topic, row);
    return row;
  });
  for (const [name, row] of state.rows) if (!next.has(name)) { visibility.unobserve(row.tr); row.tr.remove(); }
  state.rows = next;
  for (const row of state.order) renderRow(row);
  layoutRows();
  renderSummary();
  if (state.selected) renderTopicInfo();
  if (state.selected && hadPublish !== ev.publish) setupPublish();
}
function onTick(ev) {
  if (ev.version !== state.version) return; // a "topics" event follows
  const vals = new Map(ev.rows.map((r) => [r[0], r]));
  state.order.forEach((row, i) => {
    const r = vals.get(i);
    row.rate = r ? r[1] : 0;
    row.bytes = r ? r[2] : 0;
    row.dropped = r ? r[3] : 0;
    row.decodeErrors = r ? r[4] : 0;
    row.hist.push(row.rate);
    if (row.hist.length > HISTORY) row.hist.shift();
    // Rows off screen keep only their rate current (the page's contract);
    // the rest is drawn when they scroll into view.
    if (row.visible) renderRow(row);
    else set(row, "rate", fmtRate(row.rate));
  });
  if (["rate", "bytes", "health"].includes(state.sort.key)) layoutRows();
  renderSummary();
}
function recent(hist) {
  let sum = 0;
  for (let i = hist.length - 5; i < hist.length; i++) sum += hist[i] || 0;
  return sum / 5;
}
function sortValue(row, key) {
  switch (key) {
    case "rate": return recent(row.hist); // steadier than the last second alone
    case "bytes": return row.bytes;
    case "health": return row.dropped + row.decodeErrors;
    case "publishers": case "subscribers": return row.info[key];
    default: return row.info[key] || "";
  }
}
function layoutRows() {
  const { key, dir } = state.sort;
  const f = state.filter.toLowerCase();
  const rows = state.order.filter((r) => !f || r.info.topic.toLowerCase().includes(f) || (r.info.message || "").toLowerCase().includes(f) || r.info.codec.toLowerCase().includes(f));
  // Plain comparisons: names are ASCII, and localeCompare costs a
  // microsecond a call, tens of milliseconds a sort of a thousand rows.
  const cmp = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  const keys = new Map(rows.map((r) => [r, sortValue(r, key)]));
  rows.sort((a, b) => cmp(keys.get(a), keys.get(b)) * dir || cmp(a.info.topic, b.info.topic));
  const body = $("topic-rows");
  const current = body.children;
  let same = current.length === rows.length;
  for (let i = 0; same && i < rows.length; i++) same = current[i] === rows[i].tr;
  if (!same) {
    const focused = document.activeElement;
    const keep = new Set(rows.map((r) => r.tr));
    for (const tr of [...body.children]) if (!keep.has(tr)) tr.remove();
    // Move only the rows outside a longest run already in order.
    const pos = new Map([...body.children].map((tr, i) => [tr, i]));
    const stay = inOrder(rows.map((r) => (pos.has(r.tr) ? pos.get(r.tr) : -1)));
    let next = null;
    for (let i = rows.length - 1; i >= 0; i--) {
      const tr = rows[i].tr;
      if (!stay.has(i)) body.insertBefore(tr, next);
      next = tr;
    }
    if (focused && focused.isConnected && focused !== document.activeElement) focused.focus({ preventScroll: true });
  }
  $("topic-count").textContent = rows.length === state.order.length ? `(${rows.length})` : `(${rows.length} of ${state.order.length})`;
  $("no-topics").hidden = state.order.length > 0;
  if (state.order.length === 0) $("no-topics").textContent = "No topics yet: waiting for the directory.";
  else if (rows.length === 0) { $("no-topics").hidden = false; $("no-topics").textContent = "No topic matches the filter."; }
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort === key ? (dir > 0 ? "ascending" : "descending") : "none");
  }
}
// inOrder returns the indices of a longest increasing subsequence of xs
// (ignoring negative values), in O(n log n).
function inOrder(xs) {
  const tails = [], prev = new Array(xs.length).fill(-1);
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] < 0) continue;
    let lo = 0, hi = tails.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[tails[mid]] < xs[i]) lo = mid + 1; else hi = mid; }
    if (lo > 0) prev[i] = tails[lo - 1];
    tails[lo] = i;
  }
  const out = new Set();
  for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = prev[i]) out.add(i);
  return out;
}
function renderSummary() {
  let msgs = 0, bytes = 0, bad = 0;
  for (const r of state.order) { msgs += r.rate; bytes += r.bytes; if (r.dropped || r.decodeErrors) bad++; }
  const s = $("summary");
  s.replaceChildren(
    el("span", {}, el("b", { text: String(state.order.length) }), " topics · "),
    el("span", {}, el("b", { text: fmtRate(msgs) }), " msgs/s · "),
    el("span", {}, el("b", { text: fmtBytes(bytes) }), "/s"),
  );
  if (bad) s.append(" · ", el("span", { class: "bad", text: `${bad} topic${bad > 1 ? "s" : ""} with drops or decode errors` }));
}

// ---- selection and messages ----
function select(topic) {
  if (state.selected === topic) return;
  state.selected = topic;
  state.messages = []; state.pending = []; state.paused = false;
  for (const r of state.rows.values()) r.tr.classList.toggle("selected", r.info.topic === topic);
  const pane = $("messages");
  pane.replaceChildren();
  pane.setAttribute("data-pane", "messages");
  pane.scrollTop = 0;
  $("detail-hint").hidden = true;
  $("detail-h").textContent = "Messages";
  renderPaused();
  renderTopicInfo();
  setupPublish();
  history.replaceState(null, "", "#" + encodeURIComponent(topic));
  connect();
}
function renderTopicInfo() {
  const info = $("topic-info");
  const row = state.rows.get(state.selected);
  info.hidden = false;
  info.replaceChildren(el("code", { text: state.selected }));
  if (row) info.append(" · ", row.info.message || "type unknown", " · ", row.info.codec, ` · ${row.info.publishers} pub, ${row.info.subscribers} sub`);
  else info.append(" · not in the directory now");
}
function msgEl(m) {
  const meta = el("div", { class: "meta" },
    el("time", { datetime: new Date(m.time).toISOString(), text: fmtTime(m.time) }),
    el("span", { title: "origin: the publishing Plexus", text: "from " + m.origin }),
    el("span", { text: m.size + " B" }),
    el("span", { text: "#" + m.seq }));
  const art = el("article", { class: m.error ? "msg error" : "msg" }, meta);
  if (m.error) art.append(el("pre", { class: "err", text: m.error }));
  else art.append(el("pre", { "data-message": "", text: m.json }));
  return art;
}
function onMessages(ev) {
  if (ev.topic !== state.selected) return;
  if (state.paused) {
    state.pending = ev.messages.concat(state.pending).slice(0, MAX_MESSAGES);
    renderPaused();
    return;
  }
  addMessages(ev.messages);
  $("detail-h").textContent = `Messages (${fmtCount(ev.total)} since selected)`;
}
// PER_UPDATE bounds the messages one update draws: on a busy topic the
// older ones of a batch would scroll out of the pane at once anyway.
const PER_UPDATE = 20;
function addMessages(list) {
  if (!list.length) return;
  list = list.slice(0, PER_UPDATE);
  const pane = $("messages");
  const frag = document.createDocumentFragment();
  for (const m of list) frag.append(msgEl(m));
  pane.prepend(frag);
  while (pane.children.length > MAX_MESSAGES) pane.lastElementChild.remove();
}
function renderPaused() {
  const p = $("paused");
  p.hidden = !state.paused;
  p.textContent = state.paused ? `paused · ${state.pending.length} new · scroll to top to resume` : "";
}
$("messages").addEventListener("scroll", () => {
  const pane = $("messages");
  const paused = pane.scrollTop > 4;
  if (paused === state.paused) return;
  state.paused = paused;
  if (!paused) { addMessages(state.pending); state.pending = []; }
  renderPaused();
});
$("paused").addEventListener("click", () => { $("messages").scrollTop = 0; });

// ---- publishing ----
async function setupPublish() {
  const form = $("publish");
  form.hidden = !state.publish;
  if (!state.publish) return;
  const topic = state.selected;
  $("publish-result").textContent = "";
  $("publish-text").value = "";
  try {
    const res = await fetch("api/template?topic=" + encodeURIComponent(topic));
    const text = await res.text();
    if (topic === state.selected) $("publish-text").value = res.ok ? text : "";
    if (!res.ok) $("publish-result").textContent = text;
  } catch (e) { $("publish-result").textContent = String(e); }
}
$("publish").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("publish-result");
  let message;
  try { message = JSON.parse($("publish-text").value); } catch (err) { out.textContent = "not JSON: " + err.message; return; }
  try {
    const res = await fetch("api/publish", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ topic: state.selected, message }) });
    const text = await res.text();
    out.textContent = res.ok ? "published " + (JSON.parse(text).size) + " bytes" : text;
  } catch (err) { out.textContent = String(err); }
});

// ---- system ----
function statsEl(list) {
  const d = el("div", { class: "stats" });
  for (const s of list) {
    const bad = s.bad && s.value > 0;
    d.append(el("span", bad ? { class: "bad" } : {}, s.name + " ", el("b", { text: fmtCount(s.value) })));
  }
  return d;
}
function onSystem(ev) {
  const box = $("system");
  const cards = [];
  const plexus = el("div", { class: "card plexus" }, el("h3", {}, "Plexus ", el("span", { class: "kind", text: ev.self })), statsEl(ev.plexus));
  plexus.append(el("div", { class: "stats" }, `viewers ${ev.viewers} · topics decoded for viewers ${ev.watched}`));
  cards.push(plexus);
  if (!ev.transports.length) cards.push(el("div", { class: "card" }, el("p", { class: "hint", text: "No transport attached: only this process's own topics." })));
  for (const t of ev.transports) {
    const c = el("div", { class: "card" }, el("h3", {}, t.name + " ", el("span", { class: "kind", text: t.kind })), statsEl(t.stats || []));
    if (t.lastError) c.append(el("div", { class: "err", text: "last error: " + t.lastError }));
    if (t.peers) {
      if (!t.peers.length) c.append(el("p", { class: "hint", text: "no peer connected" }));
      else {
        const tb = el("tbody");
        for (const p of t.peers) {
          tb.append(el("tr", {},
            el("td", { text: p.id }), el("td", { text: p.address }), el("td", { text: p.state }),
            el("td", { class: "num", text: fmtCount(p.sent) + " / " + fmtCount(p.received) }),
            el("td", { class: "num", text: fmtBytes(p.bytesSent) + " / " + fmtBytes(p.bytesReceived) }),
            el("td", { class: p.dropped ? "num bad" : "num", text: fmtCount(p.dropped) }),
            el("td", { class: p.queued ? "num bad" : "num", text: String(p.queued) })));
        }
        c.append(el("div", { class: "scroll-x" }, el("table", {}, el("thead", {}, el("tr", {}, ...["peer", "address", "state", "msgs out / in", "bytes out / in", "drops", "queued"].map((h) => el("th", { text: h })))), tb)));
      }
    }
    if (t.groups && t.groups.length) {
      const tb = el("tbody");
      for (const g of t.groups) tb.append(el("tr", {}, el("td", { text: g.topic }), el("td", { text: g.group })));
      c.append(el("details", {}, el("summary", { text: `agreed groups of ${t.groups.length} topics` }),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "topic" }), el("th", { text: "group" }))), tb)));
    }
    cards.push(c);
  }
  // Keep an open <details> open across updates.
  const open = new Set([...box.querySelectorAll("details[open] summary")].map((s) => s.textContent));
  box.replaceChildren(...cards);
  for (const s of box.querySelectorAll("details summary")) if (open.has(s.textContent)) s.parentElement.open = true;
}

// ---- the event stream ----
// perf holds, per event, how long its handling took: for diagnostics and
// the load test (window.plexoPerf).
const perf = {};
window.plexoPerf = perf;
function connect() {
  if (state.es) state.es.close();
  const url = state.selected ? "events?topic=" + encodeURIComponent(state.selected) : "events";
  const es = new EventSource(url);
  state.es = es;
  const conn = $("conn");
  const on = (name, f) => es.addEventListener(name, (e) => {
    if (state.es !== es) return;
    const t0 = performance.now();
    f(JSON.parse(e.data));
    const p = perf[name] || (perf[name] = { count: 0, maxMs: 0, totalMs: 0 });
    const ms = performance.now() - t0;
    p.count++; p.totalMs += ms; p.maxMs = Math.max(p.maxMs, ms);
  });
  on("topics", onTopics);
  on("tick", onTick);
  on("system", onSystem);
  on("messages", onMessages);
  es.onopen = () => { conn.textContent = "live"; conn.classList.add("live"); };
  es.onerror = () => { conn.textContent = "reconnecting…"; conn.classList.remove("live"); };
}

// ---- keyboard ----
document.querySelector("#topics thead").addEventListener("click", (e) => {
  const th = e.target.closest("th[data-sort]");
  if (!th) return;
  const key = th.dataset.sort;
  state.sort = state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: ["rate", "bytes", "health", "publishers", "subscribers"].includes(key) ? -1 : 1 };
  layoutRows();
});
$("filter").addEventListener("input", (e) => { state.filter = e.target.value; layoutRows(); });
$("filter").addEventListener("keydown", (e) => {
  if (e.key === "Escape") { e.target.value = ""; state.filter = ""; layoutRows(); }
  if (e.key === "ArrowDown" || e.key === "Enter") { const first = $("topic-rows").firstElementChild; if (first) { e.preventDefault(); first.focus(); } }
});
$("topic-rows").addEventListener("keydown", (e) => {
  const tr = e.target.closest("tr[data-topic]");
  if (!tr) return;
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(tr.dataset.topic); }
  else if (e.key === "ArrowDown" && tr.nextElementSibling) { e.preventDefault(); tr.nextElementSibling.focus(); }
  else if (e.key === "ArrowUp") { e.preventDefault(); (tr.previousElementSibling || $("filter")).focus(); }
});
// "/" focuses the filter: on keyup, so that the key's character, held back
// on keydown, is not typed into it.
const typing = (t) => t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement;
document.addEventListener("keydown", (e) => { if (e.key === "/" && !typing(e.target)) e.preventDefault(); });
document.addEventListener("keyup", (e) => { if (e.key === "/" && !typing(e.target)) { e.preventDefault(); $("filter").focus(); $("filter").select(); } });

const initial = decodeURIComponent(location.hash.slice(1));
if (initial) select(initial); else connect();
