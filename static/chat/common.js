/* Shared by the visitor widget and the expert dashboard: DOM helpers, the
 * notification beep, and a websocket that reconnects with exponential backoff
 * and jitter. Text from people is only ever set with textContent. */
(function () {
  "use strict";

  /* The page's catalogue (/jsi18n/<lang>/, Django's JavaScriptCatalog) defines gettext, ngettext and
   * interpolate; without it (a page that does not load it) the English is shown as written. */
  if (typeof window.gettext !== "function") {
    window.gettext = function (s) { return s; };
    window.ngettext = function (s, p, n) { return n === 1 ? s : p; };
    window.interpolate = function (fmt, obj, named) {
      return named ? fmt.replace(/%\(\w+\)s/g, function (m) { return String(obj[m.slice(2, -2)]); })
        : fmt.replace(/%s/g, function () { return String(obj.shift()); });
    };
  }

  /* Dates and times in the page's language (<html lang>, the reader's) and the browser's time zone. */
  var LOCALE = document.documentElement.lang || undefined;

  /* Server pages show times in the reader's zone too (chatplatform/i18n.py TimeZoneMiddleware):
   * the top-level pages tell it with a cookie; the widget, framed on a brand's site, sets none. */
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && window.top === window && document.cookie.indexOf("tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* no Intl zone, or cookies refused: UTC */ }

  function dateTimeLabel(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    return new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short" }).format(d);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function timeLabel(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    return new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit" }).format(d);
  }

  function timeNode(iso) {
    var t = el("time", "msg-time", timeLabel(iso));
    t.setAttribute("datetime", iso);
    t.title = dateTimeLabel(iso);
    return t;
  }

  function clientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  var audio = null;
  /* A short two-tone beep made with WebAudio: no sound file to load. Browsers
   * allow it once the person has interacted with the page; before that it is silent. */
  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audio = audio || new Ctx();
      if (audio.state === "suspended") audio.resume();
      var t = audio.currentTime;
      [880, 1320].forEach(function (freq, i) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, t + i * 0.12);
        gain.gain.exponentialRampToValueAtTime(0.15, t + i * 0.12 + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.12 + 0.1);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(t + i * 0.12);
        osc.stop(t + i * 0.12 + 0.11);
      });
    } catch (e) { /* sound is a nicety */ }
  }

  /* Delay before reconnect attempt n (0-based): exponential, capped, with jitter
   * (between half and all of the step) so a server restart is not hit by every
   * client at the same instant. */
  function backoffDelay(attempt, base, cap) {
    base = base || 500;
    cap = cap || 30000;
    var step = Math.min(cap, base * Math.pow(2, attempt));
    return Math.round(step / 2 + Math.random() * step / 2);
  }

  /* A websocket that comes back by itself.
   * options: onOpen(), onFrame(frame), onState(state, detail), stopCodes.
   * States: connecting, open, reconnecting (detail: seconds), offline, stopped (detail: close code). */
  function ReconnectingSocket(url, options) {
    this.url = url;
    this.options = options;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.stopped = false;
    this.lastFrameAt = Date.now();
    var self = this;
    window.addEventListener("online", function () { if (!self.stopped && !self.isOpen()) self.reconnectNow(); });
    window.addEventListener("offline", function () {
      // No network at all: the socket is dead even if it has not noticed yet.
      if (self.stopped) return;
      var ws = self.ws;
      self.ws = null;
      if (ws) { ws.onclose = null; try { ws.close(1000); } catch (e) { /* gone */ } }
      self.schedule();
    });
    // Keep-alive: a silent socket (sleeping laptop, dropped Wi-Fi) is replaced.
    setInterval(function () {
      if (!self.isOpen()) return;
      if (Date.now() - self.lastFrameAt > 60000) { self.ws.close(); return; }
      self.send({ type: "ping" });
    }, 25000);
  }

  ReconnectingSocket.prototype.isOpen = function () {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  };

  ReconnectingSocket.prototype.connect = function () {
    var self = this;
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.options.onState("connecting");
    var ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.schedule();
      return;
    }
    this.ws = ws;
    ws.onopen = function () {
      self.lastFrameAt = Date.now();
      self.options.onState("open");
      self.options.onOpen();
    };
    ws.onmessage = function (event) {
      self.lastFrameAt = Date.now();
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame && typeof frame.type === "string") self.options.onFrame(frame);
    };
    ws.onclose = function (event) {
      if (self.ws !== ws) return;
      self.ws = null;
      if ((self.options.stopCodes || []).indexOf(event.code) !== -1) {
        self.stop(event.code);
        return;
      }
      self.schedule();
    };
  };

  /* The server accepted us (welcome): the next failure starts from a short delay again. */
  ReconnectingSocket.prototype.healthy = function () { this.attempt = 0; };

  ReconnectingSocket.prototype.schedule = function () {
    if (this.stopped) return;
    var self = this;
    var delay = backoffDelay(this.attempt++);
    if (navigator.onLine === false) this.options.onState("offline");
    else this.options.onState("reconnecting", Math.ceil(delay / 1000));
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.connect(); }, delay);
  };

  ReconnectingSocket.prototype.reconnectNow = function () {
    if (this.stopped) return;
    var old = this.ws;
    this.ws = null;
    if (old) { old.onclose = null; try { old.close(1000); } catch (e) { /* already closed */ } }
    this.connect();
  };

  ReconnectingSocket.prototype.stop = function (code) {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) { var ws = this.ws; this.ws = null; try { ws.close(1000); } catch (e) { /* gone */ } }
    this.options.onState("stopped", code);
  };

  ReconnectingSocket.prototype.send = function (frame) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  };

  function socketUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  // --- message text with safe links (docs/faces.md, "Links in messages") ---------------------------

  // An http(s) URL not glued to a word before it; whitespace, <, > and " end it.
  var URL_IN_TEXT = /(?<![A-Za-z0-9_])https?:\/\/[^\s<>"]+/gi;
  var TRAILING = /[.,;:!?'"\u00bb\u201d\u2019*]+$/;
  var CLOSERS = { ")": "(", "]": "[", "}": "{" };

  /* A URL typed in running text ends before the sentence's punctuation, and before a closing bracket
     it does not open itself ("(see https://x.example/a)" links https://x.example/a). */
  function trimUrl(candidate) {
    for (;;) {
      var before = candidate;
      candidate = candidate.replace(TRAILING, "");
      var last = candidate.charAt(candidate.length - 1);
      if (CLOSERS[last] && candidate.split(last).length > candidate.split(CLOSERS[last]).length) {
        candidate = candidate.slice(0, -1);
      }
      if (candidate === before) return candidate;
    }
  }

  /* The URL to link to, or null: http(s) only, with a host and no user name or password in it
     ("https://bank.example@evil.example" stays text). */
  function safeHref(candidate) {
    var url;
    try { url = new URL(candidate); } catch (e) { return null; }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname || url.username || url.password) return null;
    return url.href;
  }

  /* Message text as nodes: text nodes, and an <a> for each http(s) URL; nothing else becomes markup. */
  function textWithLinks(text) {
    var fragment = document.createDocumentFragment();
    text = String(text === undefined || text === null ? "" : text);
    var at = 0;
    URL_IN_TEXT.lastIndex = 0;
    var match;
    while ((match = URL_IN_TEXT.exec(text)) !== null) {
      var candidate = trimUrl(match[0]);
      var href = candidate && safeHref(candidate);
      if (!href) continue;
      if (match.index > at) fragment.appendChild(document.createTextNode(text.slice(at, match.index)));
      var link = el("a", "msg-link", candidate);
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer nofollow";
      fragment.appendChild(link);
      at = match.index + candidate.length;
      URL_IN_TEXT.lastIndex = at;
    }
    if (at < text.length) fragment.appendChild(document.createTextNode(text.slice(at)));
    return fragment;
  }

  /* An element (e.g. the <p> of a message) holding the text with its links. */
  function textNode(tag, className, text) {
    var node = el(tag, className);
    node.appendChild(textWithLinks(text));
    return node;
  }

  // --- colours and initials (the same answers as chatplatform/look.py) ------------------------------

  var WHITE = "#ffffff";
  var NEAR_BLACK = "#111111";
  var AA = 4.5;
  // Backgrounds for white initials, each at least 4.5:1 with white: AVATAR_COLORS in chatplatform/look.py.
  var AVATAR_COLORS = ["#1f4f8a", "#8a3b12", "#2e6b30", "#6a3d9a", "#a3214f", "#00616b", "#6b5400", "#3d4a5c"];

  function luminance(hex) {
    var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
    if (!m) return null;
    var rgb = [m[1], m[2], m[3]].map(function (h) {
      var c = parseInt(h, 16) / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  }

  function contrastRatio(a, b) {
    var la = luminance(a), lb = luminance(b);
    if (la === null || lb === null) return null;
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  /* The text colour for a brand colour: {ok, text, ratio, onWhite, onDark}; ok false when neither reaches AA. */
  function palette(color) {
    var onWhite = contrastRatio(color, WHITE), onDark = contrastRatio(color, NEAR_BLACK);
    if (onWhite === null) return null;
    var white = onWhite >= onDark;
    return { ok: Math.max(onWhite, onDark) >= AA, text: white ? WHITE : NEAR_BLACK, ratio: white ? onWhite : onDark,
             onWhite: onWhite, onDark: onDark };
  }

  /* "4.48:1"; a ratio under AA never shows as reaching it. */
  function formatRatio(ratio) {
    var shown = Math.round(ratio * 100) / 100;
    if (ratio < AA && shown >= AA) shown = AA - 0.01;
    return shown.toFixed(2) + ":1";
  }

  function firstSign(word) {
    var chars = Array.from(word);
    for (var i = 0; i < chars.length; i++) {
      if (/[\p{L}\p{N}]/u.test(chars[i])) return Array.from(chars[i].toUpperCase())[0];
    }
    return "";
  }

  /* One or two capitals: the first and last words' first letters; never blank. */
  function initials(name) {
    name = String(name || "").normalize("NFC").trim();
    var signs = name.split(/\s+/).map(firstSign).filter(Boolean);
    if (!signs.length) return name ? Array.from(name)[0] : "?";
    return signs.length === 1 ? signs[0] : signs[0] + signs[signs.length - 1];
  }

  /* A colour drawn from the name, the same on every page and in chatplatform/look.py. */
  function avatarColor(name) {
    var h = 0;
    Array.from(String(name || "").normalize("NFC").trim()).forEach(function (ch) {
      h = (h * 31 + ch.codePointAt(0)) % 4294967296;
    });
    return AVATAR_COLORS[h % AVATAR_COLORS.length];
  }

  /* Initials on the name's colour in `node` (an element shown instead of a missing or broken picture). */
  function fillInitials(node, name) {
    node.textContent = initials(name);
    node.style.background = avatarColor(name);
    node.style.color = WHITE;
    node.setAttribute("aria-hidden", "true");
    return node;
  }

  window.ChatCommon = {
    el: el, timeLabel: timeLabel, dateTimeLabel: dateTimeLabel, timeNode: timeNode, clientId: clientId, beep: beep,
    backoffDelay: backoffDelay, ReconnectingSocket: ReconnectingSocket, socketUrl: socketUrl,
    textWithLinks: textWithLinks, textNode: textNode,
    contrastRatio: contrastRatio, palette: palette, formatRatio: formatRatio, initials: initials,
    avatarColor: avatarColor, fillInitials: fillInitials
  };
})();
