/* The expert's tools in the dashboard (docs/faces.md): the "/" picker of canned replies,
 * the colleagues a conversation can be handed to, the transfer note, and the guidance
 * side note. dashboard.js calls these; text from people is only inserted with textContent. */
window.ExpertTools = (function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // {visitor} and {expert}, as experts/canned.py's fill(): any other braces stay as they are.
  function fill(text, names) {
    return text.replace(/\{(visitor|expert)\}/g, function (_, key) { return names[key]; });
  }

  var pickers = 0;

  /* Typing "/" first in the message box lists the replies whose title or text holds what
   * follows; Up/Down choose, Enter or Tab insert (filled), Escape closes. */
  function attachPicker(textarea, replies, names) {
    var id = "picker-" + (++pickers);
    var list = el("ul", "picker");
    list.id = id;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", gettext("Canned replies"));
    list.hidden = true;
    var row = textarea.closest(".composer-row") || textarea.parentNode;
    row.parentNode.insertBefore(list, row.nextSibling);
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", id);
    textarea.setAttribute("aria-expanded", "false");
    var shown = [];
    var index = 0;

    function query() {
      var value = textarea.value;
      if (value.charAt(0) !== "/" || value.indexOf("\n") >= 0) return null;
      return value.slice(1).trim().toLowerCase();
    }

    function close() {
      list.hidden = true;
      shown = [];
      textarea.setAttribute("aria-expanded", "false");
      textarea.removeAttribute("aria-activedescendant");
    }

    function highlight() {
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (shown.length) {
        textarea.setAttribute("aria-activedescendant", id + "-" + index);
        var active = list.children[index];
        if (active && active.scrollIntoView) active.scrollIntoView({ block: "nearest" });
      }
    }

    function render() {
      var q = query();
      if (q === null) { close(); return; }
      // Titles that start with it first, then titles that hold it, then texts that hold it.
      var ranked = [[], [], []];
      replies().forEach(function (r) {
        var title = r.title.toLowerCase();
        if (!q || title.indexOf(q) === 0) ranked[0].push(r);
        else if (title.indexOf(q) >= 0) ranked[1].push(r);
        else if (r.text.toLowerCase().indexOf(q) >= 0) ranked[2].push(r);
      });
      shown = ranked[0].concat(ranked[1], ranked[2]).slice(0, 8);
      index = 0;
      list.textContent = "";
      if (!shown.length) {
        var none = el("li", "picker-none muted", interpolate(gettext("No canned reply matches \u201c%(query)s\u201d"), { query: q }, true));
        none.setAttribute("aria-disabled", "true");
        list.appendChild(none);
      }
      shown.forEach(function (reply, i) {
        var li = el("li", "picker-item");
        li.id = id + "-" + i;
        li.setAttribute("role", "option");
        li.appendChild(el("strong", null, reply.title));
        li.appendChild(el("span", "picker-text muted", " " + fill(reply.text, names()).slice(0, 120)));
        li.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep the box focused
        li.addEventListener("click", function () { choose(i); });
        list.appendChild(li);
      });
      list.hidden = false;
      textarea.setAttribute("aria-expanded", "true");
      highlight();
    }

    function choose(i) {
      var reply = shown[i];
      if (!reply) return;
      textarea.value = fill(reply.text, names());
      close();
      textarea.focus();
      textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    }

    textarea.addEventListener("input", render);
    textarea.addEventListener("blur", function () { setTimeout(close, 150); });
    // Registered before the dashboard's own keydown (Enter sends): while the list is open it has the keys.
    textarea.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      var handled = true;
      if (event.key === "ArrowDown" && shown.length) { index = (index + 1) % shown.length; highlight(); }
      else if (event.key === "ArrowUp" && shown.length) { index = (index - 1 + shown.length) % shown.length; highlight(); }
      else if ((event.key === "Enter" || event.key === "Tab") && shown.length && !event.shiftKey) choose(index);
      else if (event.key === "Escape") close();
      else handled = false;
      if (handled) { event.preventDefault(); event.stopImmediatePropagation(); }
    });
    return { close: close };
  }

  /* The online colleagues a conversation can be handed to (GET, the session's cookie). */
  function loadColleagues(url, conversationId, select, empty, okButton) {
    select.textContent = "";
    empty.textContent = gettext("Looking for colleagues online\u2026");
    empty.hidden = false;
    okButton.disabled = true;
    return fetch(url + "?conversation=" + encodeURIComponent(conversationId), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var colleagues = data.colleagues || [];
        var available = 0;
        colleagues.forEach(function (c) {
          var label = c.display_name + (c.topics.length ? " \u2014 " + c.topics.join(", ") : "") +
            " " + (c.room ? interpolate(ngettext("(%(count)s place free)", "(%(count)s places free)", c.room), { count: c.room }, true)
              : gettext("(no room)"));
          var option = el("option", null, label);
          option.value = c.id;
          option.disabled = !c.room;
          if (c.room) available++;
          select.appendChild(option);
        });
        var first = select.querySelector("option:not([disabled])");
        if (first) select.value = first.value;
        empty.textContent = available ? "" : (data.detail || gettext("No colleague of this brand is online with room right now."));
        empty.hidden = !!available;
        okButton.disabled = !available;
      })
      .catch(function () {
        empty.textContent = gettext("The list of colleagues could not be loaded: try again.");
      });
  }

  function showTransferNote(panel, info) {
    var node = panel.querySelector(".transfer-note");
    if (!node || !info) return;
    var who = info.from_expert ? info.from_expert.display_name : gettext("A colleague");
    node.textContent = info.note
      ? interpolate(gettext("%(name)s handed you this conversation: \u201c%(note)s\u201d"), { name: who, note: info.note }, true)
      : interpolate(gettext("%(name)s handed you this conversation."), { name: who }, true);
    node.hidden = false;
  }

  /* A visitor who says they had a bad experience (one of the brand's phrases), or a flagged
   * message: the charter's do's and don'ts beside the conversation, and the report options to offer. */
  function needsGuidance(message, guide) {
    if (message.author !== "visitor") return null;
    if (message.flagged) return "flagged";
    var text = (message.text || "").toLowerCase();
    var phrases = (guide && guide.phrases) || [];
    for (var i = 0; i < phrases.length; i++) if (phrases[i] && text.indexOf(phrases[i]) >= 0) return "bad_experience";
    return null;
  }

  function showGuidance(panel, reason, guide, textarea) {
    var aside = panel.querySelector(".guidance");
    if (!aside || !guide) return;
    aside.querySelector(".guidance-why").textContent = reason === "flagged"
      ? gettext("A message was flagged by the filter.")
      : gettext("The visitor says they had a bad experience.");
    aside.querySelector(".guidance-text").textContent = guide.text;
    var offer = aside.querySelector(".guidance-offer");
    offer.onclick = function () {
      textarea.value = guide.report_options;
      textarea.focus();
    };
    aside.querySelector(".guidance-hide").onclick = function () { aside.hidden = true; };
    aside.hidden = false;
  }

  return {
    fill: fill,
    attachPicker: attachPicker,
    loadColleagues: loadColleagues,
    showTransferNote: showTransferNote,
    needsGuidance: needsGuidance,
    showGuidance: showGuidance
  };
})();
