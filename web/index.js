// coreX's index: the processes (refreshed every second), a form to start one, stop/kill/logs.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const rows = $("processes");
  $("host").textContent = location.host;

  function toast(message) {
    const t = $("toast");
    t.textContent = message;
    t.style.display = "block";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (t.style.display = "none"), 5000);
  }

  async function api(path, body) {
    const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const res = await fetch(path, { credentials: "same-origin", cache: "no-store", ...init });
    if (res.status === 401) { location.reload(); throw new Error("authentication required"); }
    const type = res.headers.get("Content-Type") || "";
    const data = type.startsWith("application/json") ? await res.json() : await res.text();
    if (!res.ok) throw new Error(data.message || res.statusText);
    return data;
  }

  // "sh -c 'echo a b'" → ["sh", "-c", "echo a b"]: words split on blanks, quotes kept together.
  function words(text) {
    const out = [];
    let cur = null, quote = null;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quote) {
        if (c === quote) quote = null;
        else if (c === "\\" && quote === '"' && i + 1 < text.length) cur += text[++i];
        else cur += c;
      } else if (c === "'" || c === '"') { quote = c; cur = cur ?? ""; }
      else if (c === "\\" && i + 1 < text.length) { cur = (cur ?? "") + text[++i]; }
      else if (/\s/.test(c)) { if (cur !== null) out.push(cur); cur = null; }
      else cur = (cur ?? "") + c;
    }
    if (cur !== null) out.push(cur);
    return out;
  }

  function describe(p) {
    if (p.state === "running" || p.state === "stopping") return p.state;
    if (p.signal) return `exited (signal ${p.signal})`;
    return `exited (code ${p.exit_code})`;
  }

  function button(label, cls, onclick, title) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (cls) b.className = cls;
    if (title) b.title = title;
    b.addEventListener("click", onclick);
    return b;
  }

  function render(list) {
    const running = list.filter((p) => p.state === "running").length;
    $("summary").textContent = `${running} running · ${list.length - running} other`;
    $("summary").className = "pill " + (running ? "ok" : "");
    rows.replaceChildren();
    if (!list.length) {
      const tr = rows.insertRow();
      const td = tr.insertCell();
      td.colSpan = 5;
      td.className = "empty";
      td.textContent = "No processes yet: start one above.";
      return;
    }
    for (const p of list.sort((a, b) => a.id - b.id)) {
      const tr = rows.insertRow();
      tr.dataset.id = p.id;
      tr.dataset.state = p.state;
      tr.insertCell().textContent = p.id;
      tr.cells[0].className = "num";
      const state = document.createElement("span");
      state.className = "state " + p.state;
      state.textContent = describe(p);
      tr.insertCell().append(state);
      tr.insertCell().textContent = p.pid;
      tr.cells[2].className = "num";
      tr.insertCell().textContent = p.command;
      tr.cells[3].className = "cmd";
      const actions = tr.insertCell();
      actions.className = "actions";
      const live = p.state === "running" || p.state === "stopping";
      const open = document.createElement("a");
      open.className = "btn primary";
      open.href = `/attach/${p.id}`;
      open.textContent = live ? "Terminal" : "Output";
      open.dataset.action = "attach";
      actions.append(open);
      actions.append(button("Logs", "", () => showLogs(p), "The process's recent output"));
      const stop = button("Stop", "", () => act("/api/process/stop", { id: p.id }), "Hang up and terminate (SIGKILL after 5 s)");
      const kill = button("Kill -9", "danger", () => act("/api/process/kill", { id: p.id, signal: 9 }), "SIGKILL");
      stop.disabled = kill.disabled = !live;
      kill.dataset.action = "kill";
      actions.append(stop, kill);
    }
  }

  async function refresh() {
    try { render((await api("/api/processes")).processes); }
    catch (e) { toast(e.message); }
  }

  async function act(path, body) {
    try { await api(path, body); } catch (e) { toast(e.message); }
    refresh();
  }

  async function showLogs(p) {
    try {
      const text = await api(`/api/process/logs?id=${p.id}`);
      $("logs-title").textContent = `Output of ${p.id}: ${p.command}`;
      // Terminal output carries escape sequences: shown without them.
      $("logs-text").textContent = text.replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b\][^\x07]*\x07|\r/g, "");
      $("logs").showModal();
    } catch (e) { toast(e.message); }
  }
  $("logs-close").addEventListener("click", () => $("logs").close());

  $("start").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const args = words($("command").value.trim());
    if (!args.length) return;
    try {
      const r = await api("/api/process/start", { args });
      $("command").value = "";
      location.href = `/attach/${r.id}`;
    } catch (e) { toast(e.message); refresh(); }
  });
  $("clean").addEventListener("click", () => act("/api/process/clean", {}));

  refresh();
  setInterval(refresh, 1000);
})();
