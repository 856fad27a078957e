/*! Mutu chat widget: dependency-free, talks to Rasa's REST channel.
 * Embed: <script src="https://BOT-HOST/widget.js" data-server="https://BOT-HOST" defer></script>
 * Options (data-*): server, title, color, open ("true"), lang ("fr" | "en"), feedback (the
 * « Réponse utile » / « Réponse inutile » endpoint: the origin widget.js came from + /feedback by
 * default, "off" for none). The history kept in this browser follows the server's retention
 * (MUTU_RETENTION_DAYS, written into this file when the web server serves it), not a page attribute.
 * The server marks its replies (``custom.mutu``, right after the text they belong to): feedback
 * controls only under answers, the consent's full text behind « Détails ».
 * Every text is rendered with textContent: no HTML from the bot or the user is ever interpreted;
 * [label](https://…) and bare http(s) addresses become links, a last « Source : » line a caption.
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
      newTab: " (nouvel onglet)", clear: "Effacer la conversation", clearYes: "Oui, effacer", clearNo: "Annuler",
      clearAsk: "Effacer cette conversation de ce navigateur? Vos messages, y compris le nom et le courriel " +
        "que vous y avez écrits, ainsi que les messages en attente d'envoi, y seront supprimés.",
      clearServer: "Cela n'efface rien sur nos serveurs : ce qui y est conservé est supprimé automatiquement " +
        "{days} jours après avoir été écrit ou envoyé.",
      cleared: "Conversation effacée de ce navigateur. Une nouvelle conversation commence.",
      rate: "Cette réponse vous a-t-elle aidé\u00a0?", up: "Réponse utile", down: "Réponse inutile",
      details: "Détails",
      thanks: "Merci pour votre avis.", missing: "Qu'est-ce qui manquait? (facultatif)",
      missingSend: "Envoyer", missingThanks: "Merci, c'est noté." },
    en: { title: "Mutu · resource sharing", open: "Open the chat with Mutu", close: "Close the chat",
      placeholder: "Type your question…", send: "Send", label: "Your message", online: "Online",
      connecting: "Connecting…", reconnecting: "Reconnecting…",
      banner: "Connection lost. Your messages will be sent as soon as it is back.",
      typing: "Mutu is typing…", you: "You", bot: "Mutu", error: "This message could not be processed.",
      newTab: " (new tab)", clear: "Clear the conversation", clearYes: "Yes, clear", clearNo: "Cancel",
      clearAsk: "Clear this conversation from this browser? Your messages, including the name and e-mail " +
        "address you typed, and the messages waiting to be sent will be deleted here.",
      clearServer: "This deletes nothing on our servers: what is kept there is deleted automatically " +
        "{days} days after it was written or sent.",
      cleared: "Conversation cleared from this browser. A new conversation starts.",
      rate: "Was this answer helpful?", up: "Helpful answer", down: "Unhelpful answer", details: "Details",
      thanks: "Thank you for your feedback.", missing: "What was missing? (optional)",
      missingSend: "Send", missingThanks: "Thank you, noted." }
  };
  var T = STRINGS[(data.lang || document.documentElement.lang || "fr").slice(0, 2)] || STRINGS.fr;
  var feedbackUrl = data.feedback === "off" ? "" : (data.feedback || scriptOrigin + "/feedback");
  var STORE_KEY = "mutu-widget:" + server;
  var MAX_HISTORY = 200;
  var DAY_MS = 86400000;
  var SERVER_RETENTION = "{{RETENTION_DAYS}}";  // filled by the web server (bot/web/server.py)
  var RETENTION_DAYS = /^\d{1,4}$/.test(SERVER_RETENTION) && +SERVER_RETENTION > 0 ? +SERVER_RETENTION : 90;

  function randomId() {
    if (window.crypto && crypto.getRandomValues) {
      var bytes = new Uint8Array(12);
      crypto.getRandomValues(bytes);
      return "web-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    return "web-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
  }

  function fresh() { return { sender: randomId(), history: [], queue: [], open: false }; }

  // Entries carry their time (`at`, ms); past the retention (or of unknown age) they are dropped.
  // When nothing is left, the conversation id is renewed too: the server's copy has expired.
  function expire(saved, now) {
    var cutoff = now - RETENTION_DAYS * DAY_MS, before = saved.history.length + saved.queue.length;
    function recent(entry) { return !!entry && typeof entry.at === "number" && entry.at >= cutoff; }
    saved.history = saved.history.filter(recent);
    saved.queue = saved.queue.filter(recent);
    if (before && !saved.history.length && !saved.queue.length) { saved.sender = randomId(); }
    return saved;
  }

  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
      if (saved && typeof saved.sender === "string" && Array.isArray(saved.history)) {
        saved.queue = Array.isArray(saved.queue) ? saved.queue : [];
        return expire(saved, Date.now());
      }
    } catch (e) { /* storage blocked or corrupt: start afresh */ }
    return fresh();
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

  // French typography, on display only: a no-break space (U+00A0) before « : » and inside « »,
  // a narrow one (U+202F) before ? ! ; — only where the text has a plain space.
  function typo(text) {
    return text.replace(/ ([:»])/g, "\u00a0$1").replace(/« /g, "«\u00a0").replace(/ ([?!;])/g, "\u202f$1");
  }

  function link(href, label) {
    var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, label);
    a.appendChild(el("span", { "class": "mutu-sr" }, T.newTab));
    return a;
  }

  function httpUrl(text) {
    try {
      var url = new URL(text);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }

  // Bare links: only http, https and mailto (plain e-mail addresses become mailto), new tab, rel=noopener.
  var LINK = /(https?:\/\/[^\s<>"'«»]+|mailto:[^\s<>"'«»]+|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
  function appendLinked(parent, text) {
    var last = 0, match;
    LINK.lastIndex = 0;
    while ((match = LINK.exec(text)) !== null) {
      var raw = match[0].replace(/[.,;:!?)\]]+$/, "");
      parent.appendChild(document.createTextNode(typo(text.slice(last, match.index))));
      parent.appendChild(link(/^(https?:|mailto:)/i.test(raw) ? raw : "mailto:" + raw, raw));
      last = match.index + raw.length;
      LINK.lastIndex = last;
    }
    parent.appendChild(document.createTextNode(typo(text.slice(last))));
  }

  // Markdown links [label](url): an http(s) url becomes a link showing the label; any other
  // target (javascript:, data:, mailto:…) stays the text as written, never a link.
  var MD_LINK = /\[([^\[\]\n]{1,300})\]\(((?:[^()\s]|\([^()\s]*\)){1,2000})\)/g;
  function appendRich(parent, text) {
    var last = 0, match, href;
    MD_LINK.lastIndex = 0;
    while ((match = MD_LINK.exec(text)) !== null) {
      appendLinked(parent, text.slice(last, match.index));
      href = httpUrl(match[2]);
      parent.appendChild(href ? link(href, typo(match[1])) : document.createTextNode(typo(match[0])));
      last = MD_LINK.lastIndex;
    }
    appendLinked(parent, text.slice(last));
  }

  // A last line « Source : … » / « Sources : … » is shown as a caption under the answer.
  var SOURCE_LINE = /^\s*Sources?[ \u00a0\u202f]*:/;
  function splitSource(text) {
    var lines = text.replace(/\s+$/, "").split("\n");
    if (!SOURCE_LINE.test(lines[lines.length - 1])) { return { body: text, source: "" }; }
    return { body: lines.slice(0, -1).join("\n").replace(/\s+$/, ""), source: lines[lines.length - 1].trim() };
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
  var headingBox = el("div", { "class": "mutu-heading" });
  var heading = el("h2", { "class": "mutu-title" }, title);
  var subline = el("div", { "class": "mutu-subline" });
  var status = el("span", { "class": "mutu-status", role: "status" }, T.connecting);
  var clearBtn = el("button", { type: "button", "class": "mutu-clear", "aria-expanded": "false",
    "aria-controls": "mutu-confirm" }, T.clear);
  subline.appendChild(status); subline.appendChild(clearBtn);
  headingBox.appendChild(heading); headingBox.appendChild(subline);
  var closeBtn = el("button", { type: "button", "class": "mutu-close", "aria-label": T.close }, "×");
  header.appendChild(headingBox);
  header.appendChild(closeBtn);
  var confirmBox = el("div", { "class": "mutu-confirm", id: "mutu-confirm", role: "group",
    "aria-labelledby": "mutu-confirm-text" });
  var confirmText = el("p", { id: "mutu-confirm-text" }, typo(T.clearAsk));
  confirmBox.appendChild(confirmText);
  var serverNote = T.clearServer.replace("{days}", RETENTION_DAYS);
  confirmBox.appendChild(el("p", { "class": "mutu-confirm-note" }, typo(serverNote)));
  var confirmYes = el("button", { type: "button", "class": "mutu-confirm-yes" }, T.clearYes);
  var confirmNo = el("button", { type: "button", "class": "mutu-confirm-no" }, T.clearNo);
  var confirmActions = el("div", { "class": "mutu-confirm-actions" });
  confirmActions.appendChild(confirmYes); confirmActions.appendChild(confirmNo);
  confirmBox.appendChild(confirmActions);
  confirmBox.hidden = true;
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
  [header, confirmBox, banner, log, form].forEach(function (part) { panel.appendChild(part); });
  root.appendChild(panel); root.appendChild(bubble);

  var typing = el("div", { "class": "mutu-typing", role: "status", "aria-label": T.typing });
  typing.appendChild(el("span")); typing.appendChild(el("span")); typing.appendChild(el("span"));

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  // True when the visitor is reading the end of the log (they have not scrolled up).
  function atBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 48; }

  // New replies starting at ``first``: shown from their top when taller than the log, else down to
  // the end. Only when the visitor was at the end: their own scrolling is never fought.
  function reveal(first, follow) {
    if (!follow || !first || !first.parentNode) { return; }
    var top = first.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop - 8;
    log.scrollTop = log.scrollHeight - top > log.clientHeight ? top : log.scrollHeight;
  }

  function renderMessage(item) {
    var first = null;
    function add(node) { log.appendChild(node); first = first || node; }
    if (item.from === "user") {
      var mine = el("div", { "class": "mutu-msg mutu-user" + (item.pending ? " mutu-pending" : "") });
      mine.appendChild(el("span", { "class": "mutu-sr" }, T.you + " : "));
      mine.appendChild(document.createTextNode(typo(item.text)));
      add(mine);
      return mine;
    }
    if (item.text) {
      var parts = splitSource(item.text);
      var msg = el("div", { "class": "mutu-msg mutu-bot" });
      msg.appendChild(el("span", { "class": "mutu-sr" }, T.bot + " : "));
      appendRich(msg, parts.body);
      if (parts.source) {
        var caption = el("p", { "class": "mutu-source" });
        appendRich(caption, parts.source);
        msg.appendChild(caption);
      }
      add(msg);
    }
    if (item.buttons && item.buttons.length) {
      var group = el("div", { "class": "mutu-buttons", role: "group" });
      item.buttons.forEach(function (b) {
        var btn = el("button", { type: "button", "class": "mutu-choice" }, typo(String(b.title || "")));
        btn.disabled = !!item.used;
        btn.addEventListener("click", function () {
          item.used = true;
          Array.prototype.forEach.call(group.querySelectorAll("button"), function (x) { x.disabled = true; });
          send(String(b.payload || b.title || ""), String(b.title || ""));
          input.focus();
        });
        group.appendChild(btn);
      });
      add(group);
    }
    if (item.details) {  // the consent's full text, one click away, below its buttons: they never move
      var more = el("details", { "class": "mutu-details" });
      more.appendChild(el("summary", {}, T.details));
      var full = el("div", { "class": "mutu-details-text" });
      appendRich(full, item.details);
      more.appendChild(full);
      add(more);
    }
    if (item.kind === "answer" && item.text && feedbackUrl) { add(renderFeedback(item)); }
    return first;
  }

  // « Réponse utile » / « Réponse inutile » under an answer: drawn thumbs (inline SVG, no emoji
  // font needed); one vote; after « inutile » an optional « Qu'est-ce qui manquait? » line.
  function postFeedback(body) {
    if (!feedbackUrl) { return; }
    body.sender = state.sender;
    fetch(feedbackUrl, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) }).catch(function () { /* an opinion lost is not worth a retry */ });
  }

  function renderFeedback(item) {
    var box = el("div", { "class": "mutu-feedback", role: "group", "aria-label": T.rate });
    var status = el("span", { "class": "mutu-thanks", role: "status" });
    var votes = [["up", T.up, 1], ["down", T.down, -1]];
    var buttons = votes.map(function (v) {
      var btn = el("button", { type: "button", "class": "mutu-vote mutu-vote-" + v[0], "aria-label": v[1],
        title: v[1], "aria-pressed": item.vote === v[0] ? "true" : "false" });
      btn.appendChild(thumb(v[0] === "down"));
      btn.disabled = !!item.vote;
      btn.addEventListener("click", function () {
        if (item.vote) { return; }
        item.vote = v[0]; save();
        buttons.forEach(function (b) { b.disabled = true; });
        btn.setAttribute("aria-pressed", "true");
        status.textContent = T.thanks;
        postFeedback({ vote: v[2], question: item.question || "" });
        if (v[0] === "down") { box.appendChild(missingForm(item, status)); }
      });
      box.appendChild(btn);
      return btn;
    });
    box.appendChild(status);
    return box;
  }

  var SVG = "http://www.w3.org/2000/svg";
  var THUMB = "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3a1.5 1.5 0 0 0-.5-1.1L13.2 1 6.6 7.6A2 2 0 0 0 " +
    "6 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z";
  function thumb(down) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", THUMB);
    if (down) { path.setAttribute("transform", "rotate(180 12 12)"); }
    svg.appendChild(path);
    return svg;
  }

  function missingForm(item, status) {
    var f = el("form", { "class": "mutu-missing" });
    var id = "mutu-missing-" + randomId();
    f.appendChild(el("label", { "for": id }, T.missing));
    var field = el("input", { id: id, type: "text", maxlength: "500", autocomplete: "off" });
    f.appendChild(field);
    f.appendChild(el("button", { type: "submit" }, T.missingSend));
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = field.value.trim();
      if (text) { postFeedback({ comment: text }); }
      item.commented = true; save();
      if (f.parentNode) { f.parentNode.removeChild(f); }
      status.textContent = T.missingThanks;
      input.focus();
    });
    setTimeout(function () { field.focus(); }, 0);
    return f;
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
  var generation = 0, inflight = null;  // a cleared conversation ignores the replies still on the way

  function setStatus(kind) {
    status.textContent = T[kind];
    banner.hidden = kind !== "reconnecting";
    root.setAttribute("data-state", kind);
  }

  function send(payload, display, hidden) {
    var text = (payload || "").trim();
    if (!text) { return; }
    var item = { id: randomId(), message: text, display: display || text, hidden: !!hidden, at: Date.now() };
    state.queue.push(item);
    save();
    renderPending(item);
    scrollDown();
    flush();
  }

  function post(message) {
    var controller = window.AbortController ? new AbortController() : null;
    inflight = controller;
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
    var item = state.queue[0], gen = generation;
    var follow = atBottom();
    log.appendChild(typing);
    if (follow) { scrollDown(); }
    post(item.message).then(function (resp) {
      if (resp.status >= 500) { throw new Error("server " + resp.status); }
      return resp.ok ? resp.json() : [{ text: T.error }];
    }).then(function (replies) {
      if (gen !== generation) { return; }
      var stick = atBottom();  // read before anything is added: has the visitor scrolled up?
      state.queue.shift();
      if (!item.hidden) { state.history.push({ from: "user", text: item.display, at: item.at || Date.now() }); }
      var node = pendingNodes[item.id];
      if (node) { node.classList.remove("mutu-pending"); delete pendingNodes[item.id]; }
      if (typing.parentNode) { typing.parentNode.removeChild(typing); }
      var first = null;
      botItems(Array.isArray(replies) ? replies : [], item).forEach(function (reply) {
        state.history.push(reply);
        first = first || renderMessage(reply);
      });
      save();
      reveal(first, stick);
      retryDelay = 1000;
      setStatus("online");
      busy = false;
      flush();
    }).catch(function () {
      if (gen !== generation) { return; }
      busy = false;
      if (typing.parentNode) { typing.parentNode.removeChild(typing); }
      setStatus("reconnecting");
      clearTimeout(retryTimer);
      retryTimer = setTimeout(flush, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    });
  }

  // The replies as history items. A ``custom.mutu`` message marks the text just before it: an
  // answer (feedback under it) or the consent (its full text behind « Détails »).
  function botItems(replies, sent) {
    var items = [];
    replies.forEach(function (r) {
      var mark = r && r.custom && typeof r.custom === "object" ? r.custom.mutu : null;
      var last = items[items.length - 1];
      if (mark && typeof mark === "object") {
        if (last && mark.kind === "answer" && !sent.hidden) { last.kind = "answer"; last.question = sent.message; }
        if (last && mark.kind === "consent" && typeof mark.details === "string") { last.details = mark.details; }
        return;
      }
      if (!r || (typeof r.text !== "string" && !Array.isArray(r.buttons))) { return; }
      items.push({ from: "bot", text: typeof r.text === "string" ? r.text : "",
        buttons: Array.isArray(r.buttons) ? r.buttons.slice(0, 8) : [], at: Date.now() });
    });
    return items;
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
    expire(state, Date.now());
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

  function showConfirm(show) {
    confirmBox.hidden = !show;
    clearBtn.setAttribute("aria-expanded", show ? "true" : "false");
    (show ? confirmYes : clearBtn).focus();
  }

  // Drop the conversation in memory for ``next``: replies still on the way are ignored.
  function replaceState(next) {
    generation += 1;
    if (inflight) { inflight.abort(); }
    clearTimeout(retryTimer);
    busy = false; retryDelay = 1000;
    state = next;
    state.open = !panel.hidden;
    confirmBox.hidden = true;
    clearBtn.setAttribute("aria-expanded", "false");
    renderAll();
  }

  // « Effacer la conversation »: this browser's history and queue go, a new conversation id and
  // the welcome come. Nothing is deleted on the server (its copies follow the retention).
  function clearConversation() {
    replaceState(fresh());
    save();
    log.appendChild(el("p", { "class": "mutu-note" }, T.cleared));
    send("/greet", "", true);
    input.focus();
  }

  // Another tab of the site cleared the conversation (or saw it expire): follow it, so that this
  // tab never writes the erased history back; otherwise show its newer history when idle.
  function onStorage(e) {
    if (e.key !== STORE_KEY && e.key !== null) { return; }
    var next = load();
    if (next.sender !== state.sender) {
      next.queue = [];  // the other tab sends its own messages
      replaceState(next);
    } else if (!busy && !state.queue.length) {
      state.history = next.history;
      renderAll();
    }
  }

  bubble.addEventListener("click", function () { if (panel.hidden) { open(); } else { close(); } });
  closeBtn.addEventListener("click", close);
  clearBtn.addEventListener("click", function () { showConfirm(confirmBox.hidden); });
  confirmNo.addEventListener("click", function () { showConfirm(false); });
  confirmYes.addEventListener("click", clearConversation);
  panel.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    e.preventDefault();
    if (!confirmBox.hidden) { showConfirm(false); } else { close(); }
  });
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
  window.addEventListener("storage", onStorage);

  function mount() {
    save();  // what expired is gone from storage even if the chat is never opened
    document.body.appendChild(root);
    if (state.open || data.open === "true") { open(); } else { renderAll(); }
    if (state.queue.length) { flush(); }
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
