// coreX's terminal page: xterm.js on /ws/<id> (subprotocol "tty": '0'+input and
// '1'+{"columns","rows"} up, '0'+output down). The WebSocket is opened again after a drop, with
// backoff; the server replays the process's recent output on each attach, so the screen is reset
// first. A close whose reason starts with "exited" means the process ended: no reconnect.
"use strict";
(() => {
  const id = decodeURIComponent(location.pathname.split("/").pop());
  const status = document.getElementById("status");
  const title = document.getElementById("title");
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: '"JetBrains Mono", "Fira Code", "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
    theme: { background: "#0b1016", foreground: "#e6edf3", cursor: "#4fd1a5", selectionBackground: "#2b4a5e" },
  });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById("terminal"));
  fit.fit();
  term.focus();

  const encoder = new TextEncoder();
  let ws = null, delay = 500, ended = false;
  const state = { id, connected: false, exited: null, attaches: 0 };
  window.corex = { term, state, fit };

  function show(text, cls) {
    status.textContent = text;
    status.className = "pill " + cls;
  }

  function sendResize() {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send("1" + JSON.stringify({ columns: term.cols, rows: term.rows }));
  }

  async function describe() {
    try {
      const res = await fetch("/api/processes", { credentials: "same-origin", cache: "no-store" });
      if (res.status === 401) { location.href = "/"; return null; }
      const p = (await res.json()).processes.find((x) => String(x.id) === id);
      if (p) { title.textContent = `${p.id} · ${p.command}`; document.title = `${p.command} · coreX`; }
      return p || null;
    } catch (e) { return null; }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${scheme}//${location.host}/ws/${encodeURIComponent(id)}`, ["tty"]);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      delay = 500;
      state.connected = true;
      state.attaches++;
      term.reset();  // the server sends the recent output again
      show("connected", "ok");
      sendResize();
    };
    ws.onmessage = (ev) => {
      const data = typeof ev.data === "string" ? encoder.encode(ev.data) : new Uint8Array(ev.data);
      if (data.length && data[0] === 0x30) term.write(data.subarray(1));
    };
    ws.onclose = async (ev) => {
      state.connected = false;
      if (ev.reason && ev.reason.startsWith("exited")) return finish(ev.reason);
      const p = await describe();
      if (p && p.state !== "running" && p.state !== "stopping") {
        return finish(p.signal ? `exited: signal ${p.signal}` : `exited: code ${p.exit_code}`);
      }
      if (!p && state.attaches > 0) return finish("gone");
      show(`reconnecting in ${Math.round(delay / 1000)} s`, "warn");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 8000);
    };
  }

  function finish(reason) {
    if (ended) return;
    ended = true;
    state.exited = reason;
    show(reason.replace(":", ""), "bad");
    term.write(`\r\n\x1b[2m[${reason}]\x1b[0m\r\n`);
  }

  term.onData((d) => { if (ws && ws.readyState === WebSocket.OPEN) ws.send("0" + d); });
  term.onResize(sendResize);
  window.addEventListener("resize", () => fit.fit());
  new ResizeObserver(() => fit.fit()).observe(document.getElementById("screen"));

  describe();
  connect();
})();
