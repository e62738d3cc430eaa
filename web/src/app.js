// sockdoctor's page. No framework: plain DOM, one Web Worker running the Python engine.
const $ = (id) => document.getElementById(id);
const timings = (window.sockdoctorTimings = { start: performance.now() });

// ---- worker RPC -------------------------------------------------------------------------------
const worker = new Worker(new URL("worker.js", import.meta.url), { type: "module" });
let nextId = 1;
const waiting = new Map();
worker.onmessage = ({ data }) => {
  const p = waiting.get(data.id);
  waiting.delete(data.id);
  if (data.error) p.reject(new Error(data.error)); else p.resolve(data.value);
};
function call(method, arg) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, method, arg });
  });
}
async function py(method, arg) {
  const { json, ms } = await call(method, arg);
  return { value: JSON.parse(json), ms };
}

// ---- state -------------------------------------------------------------------------------------
const state = { files: [], overrides: {}, kinds: {}, result: null, ready: false, lastRequest: null };

function inputs() {
  const out = state.files.map((f) => [f.name, f.text]);
  const paste = $("paste").value;
  if (paste.trim()) out.unshift(["paste.txt", paste]);
  return out;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c != null) node.append(c);
  return node;
}

function status(text) { $("status").textContent = text; }

function copyButton(getText, label) {
  return el("button", {
    type: "button", class: "copy", "aria-label": label,
    onclick: async (e) => {
      await navigator.clipboard.writeText(getText());
      e.target.textContent = "Copied";
      setTimeout(() => (e.target.textContent = "Copy"), 1500);
    },
  }, "Copy");
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- files and examples ------------------------------------------------------------------------
function renderFiles() {
  const list = $("file-list");
  list.replaceChildren(...state.files.map((f, i) => el("li", {},
    el("span", {}, `${f.name} (${f.text.split("\n").length} lines) `),
    el("button", { type: "button", "aria-label": `Remove ${f.name}`,
      onclick: () => { state.files.splice(i, 1); renderFiles(); } }, "Remove"))));
}

async function addFiles(fileList) {
  for (const file of fileList) state.files.push({ name: file.name, text: await file.text() });
  renderFiles();
}

async function loadExamples() {
  const index = await (await fetch("examples/index.json")).json();
  for (const [name, files] of Object.entries(index)) {
    $("examples").append(el("button", { type: "button", class: "example", "data-example": name,
      onclick: async () => {
        const texts = await Promise.all(files.map(async (f) => [f, await (await fetch(`examples/${name}/${f}`)).text()]));
        state.overrides = {};
        if (files.length === 1 && files[0] === "paste.txt") { $("paste").value = texts[0][1]; state.files = []; }
        else { $("paste").value = ""; state.files = texts.map(([n, t]) => ({ name: n, text: t })); }
        renderFiles();
        if (state.ready) diagnose();
      } }, name.replace(/^\d+-/, "")));
  }
}

// ---- rendering the result ----------------------------------------------------------------------
function renderPieces(pieces) {
  const kinds = Object.keys(state.kinds);
  $("pieces").replaceChildren(...pieces.map((p) => {
    const key = `${p.input}:${p.first_line}`;
    const id = `kind-${p.input}-${p.first_line}`.replace(/[^\w-]/g, "_");
    const select = el("select", { id, "data-piece": key,
      onchange: (e) => { state.overrides[key] = e.target.value; diagnose(); } },
      el("option", { value: "" }, "not recognised"),
      kinds.map((k) => el("option", { value: k }, k)));
    select.value = p.kind || "";
    return el("li", { class: p.kind ? "chip" : "chip unknown", title: state.kinds[p.kind] || p.reason },
      el("label", { for: id }, `${p.input}:${p.first_line}–${p.last_line}${p.command ? " $ " + p.command : ""}`),
      select, el("small", {}, p.reason));
  }));
  $("pieces-section").hidden = false;
}

function evidenceView(finding, texts) {
  const byInput = new Map();
  for (const e of finding.evidence || []) {
    if (!byInput.has(e.input)) byInput.set(e.input, new Set());
    byInput.get(e.input).add(e.line);
  }
  return [...byInput].map(([name, lines]) => {
    const text = texts.get(name);
    if (text == null) return null;
    const all = text.split("\n");
    const shown = new Set();
    for (const n of lines) for (let i = n - 2; i <= n + 2; i++) if (i >= 1 && i <= all.length) shown.add(i);
    const rows = [];
    let last = 0;
    for (const n of [...shown].sort((a, b) => a - b)) {
      if (last && n > last + 1) rows.push(el("span", { class: "gap" }, "…\n"));
      const line = el("span", { class: "ln" }, `${String(n).padStart(4)}  `, all[n - 1], "\n");
      rows.push(lines.has(n) ? el("mark", {}, line) : line);
      last = n;
    }
    return el("figure", {}, el("figcaption", {}, name), el("pre", { class: "evidence" }, rows));
  });
}

function renderReport(result) {
  const report = result.report;
  const texts = new Map(inputs());
  const diag = $("diagnosis");
  $("diagnosis-section").hidden = false;
  if (!report) {
    diag.replaceChildren(el("p", { class: "note" }, `No diagnosis: ${result.unavailable}.`));
    $("fixes-section").hidden = $("verify-section").hidden = true;
    return;
  }
  const findings = report.findings || [];
  diag.replaceChildren(...[findings.length ? null : el("p", {}, "No failure or insecure configuration found in this evidence."),
    ...findings.map((f) => el("article", { class: `finding ${f.severity}`, "data-cause": f.cause },
      el("h3", {}, el("code", {}, f.cause), ` — ${f.severity}`, f.socket ? el("span", {}, " on ", el("code", {}, f.socket)) : null),
      el("p", { class: "cause" }, f.summary),
      f.trace && f.trace.length ? el("details", { open: "" }, el("summary", {}, "Permission trace"),
        el("ol", { class: "trace" }, f.trace.map((t) => el("li", {}, t)))) : null,
      evidenceView(f, texts))),
    (report.warnings || []).length ? el("details", {}, el("summary", {}, `${report.warnings.length} warnings`),
      el("ul", {}, report.warnings.map((w) => el("li", {}, typeof w === "string" ? w : JSON.stringify(w))))) : null]
    .filter((node) => node != null));

  const fixes = (report.fixes || []).slice().sort((a, b) => a.rank - b.rank);
  $("fixes-section").hidden = !fixes.length;
  $("fixes").replaceChildren(...fixes.map((fix) => el("li", { class: "fix", "data-finding": fix.finding },
    el("h3", {}, fix.title),
    (fix.commands || []).length ? el("div", { class: "code" },
      el("pre", { class: "commands" }, fix.commands.join("\n")),
      copyButton(() => fix.commands.join("\n"), `Copy commands for: ${fix.title}`)) : null,
    (fix.diffs || []).map((d) => el("div", { class: "code" },
      el("p", {}, el("code", {}, d.path)),
      el("pre", { class: "diff" }, d.diff.split("\n").map((line) =>
        el("span", { class: line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "" }, line, "\n"))),
      copyButton(() => d.diff, `Copy diff of ${d.path}`))))));

  const verify = fixes.flatMap((f) => f.verify || []);
  $("verify-section").hidden = !verify.length;
  $("verify").replaceChildren(...[...new Set(verify)].map((v) => el("li", {},
    el("div", { class: "code" }, el("pre", {}, v), copyButton(() => v, "Copy check")))));
}

function fixScript(report) {
  const lines = ["#!/bin/sh", "# sockdoctor fix script: review before running. Fixes best first; run only one.", "set -eu", ""];
  for (const fix of (report.fixes || []).slice().sort((a, b) => a.rank - b.rank)) {
    lines.push(`# ${fix.rank}. ${fix.title} (finding ${fix.finding})`);
    const body = fix.rank === 1 ? fix.commands || [] : (fix.commands || []).map((c) => "# " + c);
    lines.push(...body, "");
  }
  return lines.join("\n");
}

function fixPatch(report) {
  return (report.fixes || []).flatMap((f) => (f.diffs || []).map((d) => d.diff.replace(/\n?$/, "\n"))).join("");
}

function renderRedaction(redacted) {
  const total = redacted.reduce((n, r) => n + r.findings.length, 0);
  $("redaction-summary").textContent = total
    ? `${total} secret${total > 1 ? "s" : ""} replaced by placeholders: ` +
      [...new Set(redacted.flatMap((r) => r.findings.map((f) => f.kind)))].join(", ") + "."
    : "No secrets found; the redacted text is the same as the original.";
  $("original-text").textContent = inputs().map(([n, t]) => `==> ${n} <==\n${t}`).join("\n");
  $("redacted-text").textContent = redactedText(redacted);
  $("redaction-section").hidden = false;
}

function redactedText(redacted) {
  return redacted.map((r) => `==> ${r.input} <==\n${r.text}`).join("\n");
}

// ---- actions -----------------------------------------------------------------------------------
let running = null;
async function diagnose() {
  const items = inputs();
  if (!items.length) { status("Paste something or add files first."); return; }
  if (running) await running.catch(() => {});
  status("Diagnosing…");
  const t0 = performance.now();
  running = py("analyse", JSON.stringify({ inputs: items, overrides: state.overrides }));
  try {
    const { value, ms } = await running;
    state.result = value;
    renderPieces(value.pieces);
    renderRedaction(value.redacted);
    renderReport(value);
    const shown = performance.now();
    if (timings.firstDiagnosis == null) timings.firstDiagnosis = shown - timings.start;
    timings.lastDiagnosis = shown - t0;
    timings.lastEngine = ms;
    const n = value.report ? (value.report.findings || []).length : 0;
    status(value.report ? `Diagnosed in ${Math.round(shown - t0)} ms: ${n} finding${n === 1 ? "" : "s"}.` : "Pieces read; no diagnosis available.");
    document.body.dataset.state = "diagnosed";
    document.body.dataset.runs = String(Number(document.body.dataset.runs || 0) + 1);
  } catch (err) {
    status(`The engine failed: ${err.message}`);
  }
}

function shareLink() {
  const payload = JSON.stringify(state.result.redacted.map((r) => [r.input, r.text]));
  const bytes = new TextEncoder().encode(payload);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${location.origin}${location.pathname}#r=${b64}`;
}

function loadShared() {
  const m = location.hash.match(/^#r=([\w-]+)$/);
  if (!m) return false;
  try {
    const b64 = m[1].replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    const items = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    state.files = items.map(([name, text]) => ({ name: String(name), text: String(text) }));
    renderFiles();
    return true;
  } catch { status("The share link could not be read."); return false; }
}

// ---- LLM -----------------------------------------------------------------------------------------
const KEY_STORE = "sockdoctor.llm.key";
function llmRequest(prompt) {
  const provider = $("llm-provider").value;
  const base = $("llm-base").value.replace(/\/+$/, "");
  const model = $("llm-model").value.trim();
  const key = $("llm-key").value;
  if (provider === "anthropic") return {
    url: `${base}/messages`, headers: { "content-type": "application/json", "x-api-key": key,
      "anthropic-version": "2023-06-01", "anthropic-dangerous-direct-browser-access": "true" },
    body: { model, max_tokens: 2048, system: prompt.system, messages: [{ role: "user", content: prompt.user }] } };
  return { url: `${base}/chat/completions`, headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: { model, messages: [{ role: "system", content: prompt.system }, { role: "user", content: prompt.user }] } };
}

async function llmShow() {
  if (!state.result) await diagnose();
  if (!state.result) return;
  const { value: prompt } = await py("llm_request", JSON.stringify({ question: $("llm-question").value,
    redacted: state.result.redacted, report: state.result.report }));
  const req = llmRequest(prompt);
  state.lastRequest = req;
  const shown = { ...req.headers };
  for (const h of ["authorization", "x-api-key"]) if (shown[h]) shown[h] = shown[h].replace(/[^\s]{5,}$/, "<your key>");
  $("llm-request").textContent = `POST ${req.url}\n${Object.entries(shown).map(([k, v]) => `${k}: ${v}`).join("\n")}\n\n${JSON.stringify(req.body, null, 2)}`;
  $("llm-request").hidden = false;
  $("llm-send").disabled = false;
}

async function llmSend() {
  const req = state.lastRequest;
  if (!req) return;
  req.headers.authorization && (req.headers.authorization = `Bearer ${$("llm-key").value}`);
  req.headers["x-api-key"] && (req.headers["x-api-key"] = $("llm-key").value);
  const out = $("llm-answer");
  out.textContent = "Asking…";
  try {
    const resp = await fetch(req.url, { method: "POST", headers: req.headers, body: JSON.stringify(req.body),
      credentials: "omit", referrerPolicy: "no-referrer" });
    const data = await resp.json();
    if (!resp.ok) throw new Error(`${resp.status}: ${JSON.stringify(data).slice(0, 300)}`);
    const text = data.choices ? data.choices[0].message.content : (data.content || []).map((c) => c.text || "").join("");
    const { value } = await py("llm_answer", text);
    const warning = value.insecure.length ? el("div", { class: "warning", role: "alert" },
      el("strong", {}, "This answer proposes what sockdoctor never proposes:"),
      el("ul", {}, value.insecure.map((s) => el("li", {}, el("code", {}, s))))) : null;
    out.replaceChildren(...[warning, el("pre", { class: "answer" }, value.text)].filter((n) => n != null));
  } catch (err) {
    out.textContent = `The provider could not be asked: ${err.message}. If the browser blocked it, start the page with ` +
      `sockdoctor web --llm-origin ${new URL(req.url).origin}`;
  }
}

// ---- wiring --------------------------------------------------------------------------------------
$("diagnose").addEventListener("click", diagnose);
$("paste").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); diagnose(); } });
$("clear").addEventListener("click", () => { $("paste").value = ""; state.files = []; state.overrides = {}; renderFiles(); });
$("files").addEventListener("change", (e) => addFiles(e.target.files));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles(e.dataTransfer.files); });
$("toggle-redacted").addEventListener("click", (e) => {
  const on = e.target.getAttribute("aria-pressed") !== "true";
  e.target.setAttribute("aria-pressed", String(on));
  $("redaction-view").hidden = !on;
});
$("copy-redacted").addEventListener("click", () => navigator.clipboard.writeText(redactedText(state.result.redacted)));
$("share").addEventListener("click", async () => { const link = shareLink(); await navigator.clipboard.writeText(link); status("Share link copied (redacted text only)."); });
$("download-script").addEventListener("click", () => download("fix.sh", fixScript(state.result.report)));
$("download-patch").addEventListener("click", () => download("fix.patch", fixPatch(state.result.report)));
$("llm-form").addEventListener("submit", (e) => e.preventDefault());
$("llm-show").addEventListener("click", llmShow);
$("llm-send").addEventListener("click", llmSend);
$("llm-remember").addEventListener("change", (e) => {
  if (e.target.checked) localStorage.setItem(KEY_STORE, $("llm-key").value); else localStorage.removeItem(KEY_STORE);
});
$("llm-key").addEventListener("input", (e) => { if ($("llm-remember").checked) localStorage.setItem(KEY_STORE, e.target.value); });
$("llm-provider").addEventListener("change", (e) => {
  $("llm-base").value = e.target.value === "anthropic" ? "https://api.anthropic.com/v1" : "https://api.openai.com/v1";
});
if (localStorage.getItem(KEY_STORE) != null) { $("llm-key").value = localStorage.getItem(KEY_STORE); $("llm-remember").checked = true; }

const shared = loadShared();
loadExamples().catch((err) => status(`Examples could not be loaded: ${err.message}`));
call("ready").then(async (info) => {
  timings.pyodideReady = performance.now() - timings.start;
  timings.pyodideStart = info.ms;
  state.kinds = (await py("kinds")).value;
  state.ready = true;
  $("diagnose").disabled = false;
  document.body.dataset.ready = "true";
  status(`Ready (Python ${info.python} loaded in ${(info.ms / 1000).toFixed(1)} s). Paste evidence or pick an example.`);
  if (shared || inputs().length) diagnose();
}).catch((err) => status(`The engine could not start: ${err.message}`));
