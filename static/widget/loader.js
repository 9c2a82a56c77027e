/* The one-line embed:
 *   <script src="https://HOST/static/widget/loader.js" data-brand="SLUG" async></script>
 * adds a chat bubble with an unread badge that opens /widget/SLUG/ in an iframe.
 *
 * - Everything is inside try/catch: a failure here must never break the host page.
 * - Styles are set through element.style, so a host page with a strict CSP works.
 * - Included twice on one page, only the first copy runs: one bubble.
 * - The bubble appears only once the widget page has loaded in its (hidden)
 *   iframe and said "ready". An unknown or inactive brand (404), a page that
 *   may not frame the widget, or a network failure: no bubble at all, the
 *   script tag gets data-chat-widget="unavailable" and a console warning.
 *   The hidden widget does not connect its socket until it is opened, or
 *   until the loader tells it the visitor has a conversation going.
 * - The unread count is a "(n) " prefix on the host's title; removing it
 *   keeps whatever title the host page has set since.
 * - The widget is told which page it is open on (path without query string or
 *   fragment, and title, each cut to 200 characters, control characters
 *   removed), when it is ready and each time it opens: the expert sees where
 *   the question was asked. The widget takes it only from a brand's origin.
 * - The brand's look comes with "ready" (the widget page has it from the
 *   server: visitors/look.py): the launcher's colour and text colour, its
 *   built-in icon (SVG path data, drawn here with DOM calls), its side
 *   (bottom-right or bottom-left; the open panel follows it) and the greeting
 *   as its tooltip. Without it the launcher keeps the default look. */
(function () {
  "use strict";
  try {
    var script = document.currentScript ||
      document.querySelector('script[data-brand][src*="/widget/loader.js"]');
    if (!script) return;
    var slug = script.getAttribute("data-brand") || "";
    if (!/^[A-Za-z0-9_-]{1,50}$/.test(slug)) return;
    if (window.__communityChatLoader) return; // included twice: the first copy does the work
    window.__communityChatLoader = slug;
    var origin = new URL(script.src, location.href).origin;
    var widgetUrl = origin + "/widget/" + encodeURIComponent(slug) + "/";
    var KEY = "chatwidget." + slug + ".";
    var GIVE_UP_MS = 2000;    // after the frame's load event, how long to wait for "ready"
    var frame = null;
    var panel = null;
    var button = null;
    var badge = null;
    var ready = false;
    var isOpen = false;
    var unread = 0;
    var titlePrefix = "";     // what we put in front of the host's title, if anything
    var side = "right";       // the launcher's side, from the brand's look

    var storage = {
      get: function (area, name) { try { return window[area].getItem(KEY + name); } catch (e) { return null; } },
      set: function (area, name, value) { try { window[area].setItem(KEY + name, value); } catch (e) { /* blocked */ } },
      del: function (area, name) { try { window[area].removeItem(KEY + name); } catch (e) { /* blocked */ } }
    };

    function css(node, styles) {
      for (var k in styles) node.style[k] = styles[k];
      return node;
    }

    function narrow() {
      return !!(window.matchMedia && window.matchMedia("(max-width: 480px)").matches);
    }

    /* On a phone the open panel fills the screen: the bubble would cover the
     * widget's own buttons, so it hides; the widget's close button (×) and
     * Escape bring it back. */
    function layout() {
      if (!panel) return;
      if (narrow()) {
        css(panel, { left: "0", right: "0", bottom: "0", width: "100%", height: "100%", borderRadius: "0" });
      } else {
        css(panel, { bottom: "92px", width: "380px", height: "min(600px, calc(100vh - 120px))", borderRadius: "12px" });
        css(panel, onSide("20px"));
      }
      button.style.display = ready && !(isOpen && narrow()) ? "block" : "none";
    }

    function post(message) {
      if (frame && frame.contentWindow) {
        message.chatWidget = 1;
        frame.contentWindow.postMessage(message, origin);
      }
    }

    function buildFrame() {
      panel = css(document.createElement("div"), {
        position: "fixed", zIndex: "2147483646", boxShadow: "0 8px 30px rgba(0,0,0,.25)",
        overflow: "hidden", background: "#fff", display: "none"
      });
      panel.id = "chat-widget-panel-" + slug;
      frame = css(document.createElement("iframe"), { border: "0", width: "100%", height: "100%", display: "block" });
      // "#loader": the widget waits for us before it connects (see widget.js).
      frame.src = widgetUrl + "#loader";
      frame.title = "Chat with the community";
      frame.setAttribute("allow", "autoplay");
      frame.addEventListener("load", function () {
        setTimeout(function () { if (!ready) unavailable(); }, GIVE_UP_MS);
      });
      panel.appendChild(frame);
      document.body.appendChild(panel);
      layout();
    }

    function clip(text, most) {
      // By code points, as the server counts: never half of a surrogate pair.
      return Array.from(text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").replace(/\s+/g, " ").trim()).slice(0, most).join("");
    }

    /* Where the visitor is: the path alone (a query string may hold an order number or a search). */
    function page() {
      var path = clip(String(location.pathname || "/"), 200) || "/";
      if (path.charAt(0) !== "/") path = "/" + path.slice(0, 199);
      return { type: "page", path: path, title: clip(hostTitle(), 200) };
    }

    function unavailable() {
      if (panel && panel.parentNode) panel.parentNode.removeChild(panel);
      if (button && button.parentNode) button.parentNode.removeChild(button);
      frame = panel = null;
      script.setAttribute("data-chat-widget", "unavailable");
      if (window.console && console.warn) console.warn("The community chat for \"" + slug + "\" is not available on this page.");
    }

    /* The host's own title: the current one, minus the prefix we added. */
    function hostTitle() {
      var title = document.title;
      if (titlePrefix && title.indexOf(titlePrefix) === 0) title = title.slice(titlePrefix.length);
      return title;
    }

    function renderBadge() {
      var show = unread > 0 && !isOpen;
      badge.textContent = unread > 99 ? "99+" : String(unread);
      badge.style.display = show ? "block" : "none";
      button.setAttribute("aria-label", show
        ? "Open the community chat, " + unread + " new message" + (unread === 1 ? "" : "s")
        : isOpen ? "Close the community chat" : "Open the community chat");
      var base = hostTitle();
      titlePrefix = show ? "(" + (unread > 99 ? "99+" : unread) + ") " : "";
      if (document.title !== titlePrefix + base) document.title = titlePrefix + base;
    }

    function open() {
      if (!ready) return;
      isOpen = true;
      panel.style.display = "block";
      button.setAttribute("aria-expanded", "true");
      unread = 0;
      renderBadge();
      layout();
      storage.set("sessionStorage", "open", "1");
      post(page());  // before "visibility": the hello it may trigger says where
      post({ type: "visibility", open: true });
      frame.focus();
    }

    function close() {
      isOpen = false;
      if (panel) panel.style.display = "none";
      button.setAttribute("aria-expanded", "false");
      renderBadge();
      layout();
      storage.del("sessionStorage", "open");
      post({ type: "visibility", open: false });
      button.focus();
    }

    /* {left, right}: the offset on the launcher's side, "auto" on the other. */
    function onSide(offset) {
      var place = { left: "auto", right: "auto" };
      place[side] = offset;
      return place;
    }

    /* The brand's look, as the widget page said it in "ready"; anything malformed keeps the default. */
    function applyLook(look) {
      if (!look || typeof look !== "object") return;
      if (look.position === "bottom-left" || look.position === "bottom-right") {
        side = look.position === "bottom-left" ? "left" : "right";
        css(button, onSide("20px"));
      }
      var hex = /^#[0-9a-f]{6}$/i;
      if (hex.test(look.color) && hex.test(look.text_color)) css(button, { background: look.color, color: look.text_color });
      if (typeof look.icon_path === "string" && /^[MmLlHhVvCcSsQqTtAaZz0-9.,\s-]{1,2000}$/.test(look.icon_path)) {
        var NS = "http://www.w3.org/2000/svg";
        var svg = document.createElementNS(NS, "svg");
        svg.setAttribute("viewBox", "0 0 24 24");
        svg.setAttribute("aria-hidden", "true");
        svg.setAttribute("focusable", "false");
        svg.setAttribute("class", "chat-widget-icon");
        svg.setAttribute("data-icon", String(look.icon || ""));
        css(svg, { display: "block", width: "30px", height: "30px", margin: "0 auto", fill: "currentColor" });
        var path = document.createElementNS(NS, "path");
        path.setAttribute("d", look.icon_path);
        svg.appendChild(path);
        if (button.firstChild && button.firstChild.nodeType === 3) button.removeChild(button.firstChild); // the "Chat" text
        button.insertBefore(svg, button.firstChild);
      }
      if (typeof look.greeting === "string" && look.greeting) button.title = look.greeting.slice(0, 120);
    }

    function onReady(look) {
      if (ready) return;
      ready = true;
      try { applyLook(look); } catch (e) { /* the default look */ }
      script.setAttribute("data-chat-widget", "ready");
      layout();
      post(page());
      // Open again on the next page of this tab; else connect at once when a
      // conversation is going, to hear new messages while the bubble is closed.
      if (storage.get("sessionStorage", "open")) open();
      else if (storage.get("localStorage", "active")) post({ type: "connect" });
      else post({ type: "visibility", open: false });
    }

    function build() {
      button = css(document.createElement("button"), {
        position: "fixed", right: "20px", bottom: "20px", width: "60px", height: "60px",
        borderRadius: "50%", border: "0", background: "#1f4f8a", color: "#fff",
        font: "600 15px/1 system-ui, sans-serif", cursor: "pointer", zIndex: "2147483647",
        boxShadow: "0 4px 14px rgba(0,0,0,.3)", display: "none"
      });
      button.type = "button";
      button.className = "chat-widget-launcher";
      button.textContent = "Chat";
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-controls", "chat-widget-panel-" + slug);
      badge = css(document.createElement("span"), {
        position: "absolute", top: "-4px", right: "-4px", minWidth: "22px", height: "22px",
        padding: "0 5px", borderRadius: "11px", background: "#b3261e", color: "#fff",
        font: "700 12px/22px system-ui, sans-serif", display: "none", boxSizing: "border-box"
      });
      badge.className = "chat-widget-badge";
      badge.setAttribute("aria-hidden", "true");
      button.appendChild(badge);
      button.addEventListener("click", function () { if (isOpen) close(); else open(); });
      document.body.appendChild(button);
      renderBadge();

      window.addEventListener("message", function (event) {
        if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
        var data = event.data;
        if (!data || data.chatWidget !== 1) return;
        if (data.type === "ready") onReady(data.look);
        else if (data.type === "close") { if (isOpen) close(); }
        else if (data.type === "unread") { unread = isOpen ? 0 : Math.max(0, Number(data.count) || 0); renderBadge(); }
        else if (data.type === "active") {
          // Remember a conversation is open, to reconnect at once on the next page.
          if (data.value) storage.set("localStorage", "active", "1");
          else storage.del("localStorage", "active");
        }
      });
      if (window.matchMedia) {
        var query = window.matchMedia("(max-width: 480px)");
        if (query.addEventListener) query.addEventListener("change", layout);
      }
      buildFrame();
    }

    if (document.body) build();
    else document.addEventListener("DOMContentLoaded", function () { try { build(); } catch (e) { /* never break the host */ } });
  } catch (error) {
    if (window.console && console.warn) console.warn("The community chat could not start:", error);
  }
})();
