/* The one-line embed:
 *   <script src="https://HOST/static/widget/loader.js" data-brand="SLUG" async></script>
 * adds a chat bubble with an unread badge that opens /widget/SLUG/ in an iframe.
 * Everything is inside try/catch: a failure here must never break the host page.
 * Styles are set through element.style, so a host page with a strict CSP works. */
(function () {
  "use strict";
  try {
    var script = document.currentScript ||
      document.querySelector('script[data-brand][src*="/widget/loader.js"]');
    if (!script) return;
    var slug = script.getAttribute("data-brand") || "";
    if (!/^[A-Za-z0-9_-]{1,50}$/.test(slug)) return;
    var origin = new URL(script.src, location.href).origin;
    var widgetUrl = origin + "/widget/" + encodeURIComponent(slug) + "/";
    var KEY = "chatwidget." + slug + ".";
    var originalTitle = document.title;
    var frame = null;
    var panel = null;
    var button = null;
    var badge = null;
    var isOpen = false;
    var unread = 0;

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
      return window.matchMedia && window.matchMedia("(max-width: 480px)").matches;
    }

    function layout() {
      if (!panel) return;
      if (narrow()) {
        css(panel, { right: "0", bottom: "0", width: "100%", height: "100%", borderRadius: "0" });
      } else {
        css(panel, { right: "20px", bottom: "92px", width: "380px", height: "min(600px, calc(100vh - 120px))", borderRadius: "12px" });
      }
    }

    function post(message) {
      if (frame && frame.contentWindow) {
        message.chatWidget = 1;
        frame.contentWindow.postMessage(message, origin);
      }
    }

    function ensureFrame() {
      if (frame) return;
      panel = css(document.createElement("div"), {
        position: "fixed", zIndex: "2147483646", boxShadow: "0 8px 30px rgba(0,0,0,.25)",
        overflow: "hidden", background: "#fff", display: "none"
      });
      panel.id = "chat-widget-panel-" + slug;
      frame = css(document.createElement("iframe"), { border: "0", width: "100%", height: "100%", display: "block" });
      frame.src = widgetUrl;
      frame.title = "Chat with the community";
      frame.setAttribute("allow", "autoplay");
      panel.appendChild(frame);
      document.body.appendChild(panel);
      button.setAttribute("aria-controls", panel.id);
      layout();
    }

    function renderBadge() {
      badge.textContent = unread > 99 ? "99+" : String(unread);
      badge.style.display = unread > 0 && !isOpen ? "block" : "none";
      button.setAttribute("aria-label", unread > 0 && !isOpen
        ? "Open the community chat, " + unread + " new message" + (unread === 1 ? "" : "s")
        : isOpen ? "Close the community chat" : "Open the community chat");
      document.title = unread > 0 && !isOpen ? "(" + unread + ") " + originalTitle : originalTitle;
    }

    function open() {
      ensureFrame();
      isOpen = true;
      panel.style.display = "block";
      button.setAttribute("aria-expanded", "true");
      unread = 0;
      renderBadge();
      storage.set("sessionStorage", "open", "1");
      post({ type: "visibility", open: true });
      frame.focus();
    }

    function close() {
      isOpen = false;
      if (panel) panel.style.display = "none";
      button.setAttribute("aria-expanded", "false");
      renderBadge();
      storage.del("sessionStorage", "open");
      post({ type: "visibility", open: false });
      button.focus();
    }

    function build() {
      button = css(document.createElement("button"), {
        position: "fixed", right: "20px", bottom: "20px", width: "60px", height: "60px",
        borderRadius: "50%", border: "0", background: "#1f4f8a", color: "#fff",
        font: "600 15px/1 system-ui, sans-serif", cursor: "pointer", zIndex: "2147483647",
        boxShadow: "0 4px 14px rgba(0,0,0,.3)"
      });
      button.type = "button";
      button.className = "chat-widget-launcher";
      button.textContent = "Chat";
      button.setAttribute("aria-expanded", "false");
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
        if (data.type === "ready") post({ type: "visibility", open: isOpen });
        else if (data.type === "close") close();
        else if (data.type === "unread") { unread = isOpen ? 0 : Math.max(0, Number(data.count) || 0); renderBadge(); }
        else if (data.type === "active") {
          // Remember a conversation is open, to reconnect at once on the next page.
          if (data.value) storage.set("localStorage", "active", "1");
          else storage.del("localStorage", "active");
        }
      });
      if (window.matchMedia) window.matchMedia("(max-width: 480px)").addEventListener("change", layout);

      // Start the widget only when the visitor opens it, or straight away when
      // they already have a conversation going (to hear new messages).
      if (storage.get("sessionStorage", "open")) open();
      else if (storage.get("localStorage", "active")) ensureFrame();
    }

    if (document.body) build();
    else document.addEventListener("DOMContentLoaded", function () { try { build(); } catch (e) { /* never break the host */ } });
  } catch (error) {
    if (window.console && console.warn) console.warn("The community chat could not start:", error);
  }
})();
