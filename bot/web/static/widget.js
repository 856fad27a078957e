/*! Mutu chat widget: dependency-free, talks to Rasa's REST channel.
 * Embed: <script src="https://BOT-HOST/widget.js" data-server="https://BOT-HOST" defer></script>
 * Options (data-*): server, title, color, open ("true"), lang ("fr" | "en").
 * Every text is rendered with textContent: no HTML from the bot or the user is ever interpreted.
 */
(function () {
  "use strict";
  if (window.__mutuWidget) { return; }
  window.__mutuWidget = true;

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll("script[src*='widget.js']");
    return all[all.length - 1];
  })();
  var data = (script && script.dataset) || {};
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var server = (data.server || scriptOrigin).replace(/\/+$/, "");
  var STRINGS = {
    fr: { title: "Mutu · mutualisation", open: "Ouvrir le clavardage avec Mutu", close: "Fermer le clavardage",
      placeholder: "Écrivez votre question…", send: "Envoyer", label: "Votre message", online: "En ligne",
      connecting: "Connexion…", reconnecting: "Reconnexion en cours…",
      banner: "Connexion perdue. Vos messages seront envoyés dès le retour de la connexion.",
      typing: "Mutu écrit…", you: "Vous", bot: "Mutu", error: "Ce message n'a pas pu être traité.",
      newTab: " (nouvel onglet)" },
    en: { title: "Mutu · resource sharing", open: "Open the chat with Mutu", close: "Close the chat",
      placeholder: "Type your question…", send: "Send", label: "Your message", online: "Online",
      connecting: "Connecting…", reconnecting: "Reconnecting…",
      banner: "Connection lost. Your messages will be sent as soon as it is back.",
      typing: "Mutu is typing…", you: "You", bot: "Mutu", error: "This message could not be processed.",
      newTab: " (new tab)" }
  };
  var T = STRINGS[(data.lang || document.documentElement.lang || "fr").slice(0, 2)] || STRINGS.fr;
  var STORE_KEY = "mutu-widget:" + server;
  var MAX_HISTORY = 200;

  function randomId() {
    if (window.crypto && crypto.getRandomValues) {
      var bytes = new Uint8Array(12);
      crypto.getRandomValues(bytes);
      return "web-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    return "web-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
  }

  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
      if (saved && typeof saved.sender === "string" && Array.isArray(saved.history)) {
        saved.queue = Array.isArray(saved.queue) ? saved.queue : [];
        return saved;
      }
    } catch (e) { /* storage blocked or corrupt: start afresh */ }
    return { sender: randomId(), history: [], queue: [], open: false };
  }
  var state = load();
  function save() {
    state.history = state.history.slice(-MAX_HISTORY);
    try { localStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // Links: only http, https and mailto (plain e-mail addresses become mailto), new tab, rel=noopener.
  var LINK = /(https?:\/\/[^\s<>"'«»]+|mailto:[^\s<>"'«»]+|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
  function appendRich(parent, text) {
    var last = 0, match;
    LINK.lastIndex = 0;
    while ((match = LINK.exec(text)) !== null) {
      var raw = match[0].replace(/[.,;:!?)\]]+$/, "");
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var href = /^(https?:|mailto:)/i.test(raw) ? raw : "mailto:" + raw;
      var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, raw);
      a.appendChild(el("span", { "class": "mutu-sr" }, T.newTab));
      parent.appendChild(a);
      last = match.index + raw.length;
      LINK.lastIndex = last;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // ---- DOM ---------------------------------------------------------------------------------
  var css = el("link", { rel: "stylesheet", href: scriptOrigin + "/widget.css" });
  document.head.appendChild(css);
  var root = el("div", { "class": "mutu-root", id: "mutu-widget" });
  if (data.color) { root.style.setProperty("--mutu-color", data.color); root.style.setProperty("--mutu-user-bg", data.color); }
  var bubble = el("button", { type: "button", "class": "mutu-bubble", "aria-label": T.open,
    "aria-expanded": "false", "aria-controls": "mutu-panel" });
  bubble.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 7a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm5 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm5 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z"/></svg>';
  var title = data.title || T.title;
  var panel = el("section", { "class": "mutu-panel", id: "mutu-panel", role: "dialog", "aria-label": title });
  panel.hidden = true;
  var header = el("div", { "class": "mutu-header" });
  var heading = el("h2", { "class": "mutu-title" }, title);
  var status = el("span", { "class": "mutu-status", role: "status" }, T.connecting);
  heading.appendChild(status);
  var closeBtn = el("button", { type: "button", "class": "mutu-close", "aria-label": T.close }, "×");
  header.appendChild(heading);
  header.appendChild(closeBtn);
  var banner = el("div", { "class": "mutu-banner", role: "alert" }, T.banner);
  banner.hidden = true;
  var log = el("div", { "class": "mutu-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": title, tabindex: "0" });
  var form = el("form", { "class": "mutu-form" });
  var inputId = "mutu-input";
  var label = el("label", { "for": inputId, "class": "mutu-sr" }, T.label);
  var input = el("textarea", { id: inputId, "class": "mutu-input", rows: "1", placeholder: T.placeholder,
    maxlength: "2500", autocomplete: "off" });
  var sendBtn = el("button", { type: "submit", "class": "mutu-send" }, T.send);
  form.appendChild(label); form.appendChild(input); form.appendChild(sendBtn);
  panel.appendChild(header); panel.appendChild(banner); panel.appendChild(log); panel.appendChild(form);
  root.appendChild(panel); root.appendChild(bubble);

  var typing = el("div", { "class": "mutu-typing", role: "status", "aria-label": T.typing });
  typing.appendChild(el("span")); typing.appendChild(el("span")); typing.appendChild(el("span"));

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function renderMessage(item) {
    if (item.from === "user") {
      var mine = el("div", { "class": "mutu-msg mutu-user" + (item.pending ? " mutu-pending" : "") });
      mine.appendChild(el("span", { "class": "mutu-sr" }, T.you + " : "));
      mine.appendChild(document.createTextNode(item.text));
      log.appendChild(mine);
      return mine;
    }
    if (item.text) {
      var msg = el("div", { "class": "mutu-msg mutu-bot" });
      msg.appendChild(el("span", { "class": "mutu-sr" }, T.bot + " : "));
      appendRich(msg, item.text);
      log.appendChild(msg);
    }
    if (item.buttons && item.buttons.length) {
      var group = el("div", { "class": "mutu-buttons", role: "group" });
      item.buttons.forEach(function (b) {
        var btn = el("button", { type: "button", "class": "mutu-choice" }, String(b.title || ""));
        btn.disabled = !!item.used;
        btn.addEventListener("click", function () {
          item.used = true;
          Array.prototype.forEach.call(group.querySelectorAll("button"), function (x) { x.disabled = true; });
          send(String(b.payload || b.title || ""), String(b.title || ""));
          input.focus();
        });
        group.appendChild(btn);
      });
      log.appendChild(group);
    }
  }

  var pendingNodes = {};  // queue item id -> its "pending" bubble

  function renderPending(q) {
    if (!q.hidden) { pendingNodes[q.id] = renderMessage({ from: "user", text: q.display, pending: true }); }
  }

  function renderAll() {
    log.textContent = "";
    pendingNodes = {};
    state.history.forEach(renderMessage);
    state.queue.forEach(renderPending);
    scrollDown();
  }

  // ---- conversation --------------------------------------------------------------------------
  var busy = false, retryDelay = 1000, retryTimer = null;

  function setStatus(kind) {
    status.textContent = T[kind];
    banner.hidden = kind !== "reconnecting";
    root.setAttribute("data-state", kind);
  }

  function send(payload, display, hidden) {
    var text = (payload || "").trim();
    if (!text) { return; }
    var item = { id: randomId(), message: text, display: display || text, hidden: !!hidden };
    state.queue.push(item);
    save();
    renderPending(item);
    scrollDown();
    flush();
  }

  function post(message) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) { controller.abort(); } }, 30000);
    return fetch(server + "/webhooks/rest/webhook", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: state.sender, message: message, metadata: { page: location.pathname } }),
      signal: controller ? controller.signal : undefined
    }).finally(function () { clearTimeout(timer); });
  }

  function flush() {
    if (busy || !state.queue.length) { return; }
    busy = true;
    var item = state.queue[0];
    log.appendChild(typing); scrollDown();
    post(item.message).then(function (resp) {
      if (resp.status >= 500) { throw new Error("server " + resp.status); }
      return resp.ok ? resp.json() : [{ text: T.error }];
    }).then(function (replies) {
      state.queue.shift();
      if (!item.hidden) { state.history.push({ from: "user", text: item.display }); }
      var node = pendingNodes[item.id];
      if (node) { node.classList.remove("mutu-pending"); delete pendingNodes[item.id]; }
      if (typing.parentNode) { typing.parentNode.removeChild(typing); }
      (Array.isArray(replies) ? replies : []).forEach(function (r) {
        var reply = { from: "bot", text: typeof r.text === "string" ? r.text : "",
          buttons: Array.isArray(r.buttons) ? r.buttons.slice(0, 8) : [] };
        state.history.push(reply);
        renderMessage(reply);
      });
      save();
      scrollDown();
      retryDelay = 1000;
      setStatus("online");
      busy = false;
      flush();
    }).catch(function () {
      busy = false;
      if (typing.parentNode) { typing.parentNode.removeChild(typing); }
      setStatus("reconnecting");
      clearTimeout(retryTimer);
      retryTimer = setTimeout(flush, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    });
  }

  function ping() {
    fetch(server + "/webhooks/rest/", { method: "GET" }).then(function (r) {
      setStatus(r.ok ? "online" : "reconnecting");
    }).catch(function () { setStatus("reconnecting"); });
  }

  function open() {
    panel.hidden = false;
    root.classList.add("mutu-open");
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", T.close);
    state.open = true; save();
    renderAll();
    if (!state.history.length && !state.queue.length) { send("/greet", "", true); }
    ping();
    input.focus();
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("mutu-open");
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", T.open);
    state.open = false; save();
    bubble.focus();
  }

  bubble.addEventListener("click", function () { if (panel.hidden) { open(); } else { close(); } });
  closeBtn.addEventListener("click", close);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.preventDefault(); close(); } });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    if (!text.trim()) { input.focus(); return; }
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true })); }
  });
  window.addEventListener("online", function () { retryDelay = 1000; flush(); });

  function mount() {
    document.body.appendChild(root);
    if (state.open || data.open === "true") { open(); } else { renderAll(); }
    if (state.queue.length) { flush(); }
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
