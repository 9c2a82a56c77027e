/* The expert dashboard (docs/protocol.md, "Expert socket"): presence, the live queue,
 * one tab per conversation, the moderation ladder. Text written by visitors and
 * experts is only ever inserted with textContent. */
(function () {
  "use strict";
  var C = window.ChatCommon;
  var root = document.getElementById("dashboard");
  function $(id) { return document.getElementById(id); }

  var T = window.ExpertTools;                                          // static/experts/tools.js
  var canned = JSON.parse($("canned-replies").textContent);           // [{id, title, text, brand, own}]
  var guidance = JSON.parse($("guidance").textContent);               // {brand: {text, phrases, report_options}}
  var colleaguesUrl = root.getAttribute("data-colleagues-url");
  var topicNames = JSON.parse($("topic-names").textContent);          // {brand: {topic slug: name}}
  var reminders = JSON.parse($("politeness-reminders").textContent);  // {brand: politeness reminder}
  var shareUrl = root.getAttribute("data-share-url");

  function topicLabel(c) {
    if (!c.topic) return "";
    return (topicNames[c.brand] && topicNames[c.brand][c.topic]) || c.topic;
  }
  var state = {
    me: null,
    welcomed: false,
    queue: {},          // id -> {conversation, preview, node}
    convs: {},          // id -> view of one conversation
    order: [],
    active: null,
    outbox: [],         // message.send frames not yet acknowledged
    notes: {},          // conversation id -> {from_expert, note}: handed over by a colleague
    originalTitle: document.title
  };

  // --- connection --------------------------------------------------------------------

  var socket = new C.ReconnectingSocket(C.socketUrl(root.getAttribute("data-ws-path")), {
    stopCodes: [4401, 4403],
    onOpen: function () { /* the server speaks first: welcome */ },
    onFrame: onFrame,
    onState: function (name, detail) {
      state.welcomed = false;
      $("presence").disabled = true;
      var line = $("connection");
      line.className = "conn conn-" + name;
      if (name === "reconnecting") line.textContent = interpolate(gettext("Reconnecting in %(seconds)s s…"), { seconds: detail }, true);
      else if (name === "offline") line.textContent = gettext("Offline");
      else if (name === "stopped") line.textContent = detail === 4401 ? gettext("Signed out: sign in again") : gettext("Your account cannot take conversations");
      else line.textContent = gettext("Connecting…");
    }
  });

  function send(frame) { return state.welcomed && socket.send(frame); }

  function toast(text) {
    var node = $("toast");
    node.textContent = text;
    node.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { node.hidden = true; }, 8000);
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "welcome": return onWelcome(frame);
      case "presence": renderPresence(frame.status); return undefined;
      case "queue.added": addQueued(frame.conversation, frame.preview, true, frame.offer); return undefined;
      case "conversation.transferred": return onTransferred(frame);
      case "queue.removed": removeQueued(frame.conversation); return undefined;
      case "queue.updated": updateQueued(frame.conversation); return undefined;
      case "conversation": return applyConversation(frame.conversation || frame);
      case "message": return addMessage(frame.message || frame, true);
      case "messages": return onMessages(frame);
      case "typing": return onTyping(frame);
      case "read": return onRead(frame);
      case "alert.raised": toast(gettext("The community managers have been alerted.")); return undefined;
      case "block.created":
        toast(frame.block && frame.block.until
          ? interpolate(gettext("The visitor is blocked until %(when)s."), { when: C.dateTimeLabel(frame.block.until) }, true)
          : gettext("The visitor is blocked until a community manager lifts it."));
        return undefined;
      case "report.filed": toast(interpolate(gettext("Report filed, reference %(reference)s."), { reference: frame.reference }, true)); return undefined;
      case "error": return onError(frame);
      default: return undefined;
    }
  }

  function onWelcome(frame) {
    state.welcomed = true;
    socket.healthy();
    state.me = frame.expert.id;
    $("connection").className = "conn conn-online";
    $("connection").textContent = gettext("Connected");
    $("presence").disabled = false;
    renderPresence(frame.status);
    Object.keys(state.queue).forEach(removeQueued);
    var previews = frame.queue_previews || {};
    var offers = frame.queue_offers || {};
    frame.queue.forEach(function (c) { addQueued(c, previews[c.id] || "", false, offers[c.id]); });
    var notes = frame.transfer_notes || {};
    Object.keys(notes).forEach(function (id) { state.notes[id] = notes[id]; });
    var live = {};
    frame.conversations.forEach(function (c) { live[c.id] = true; applyConversation(c); });
    state.order.forEach(function (id) {
      var view = state.convs[id];
      if (!live[id] && view.conversation.status === "active") {
        // It ended or moved on while we were away: say so, and fetch its last messages.
        view.conversation.status = "ended";
        renderStatus(view);
        requestSync(view);
      }
    });
    state.outbox.forEach(function (f) { send(f); });
  }

  function onTransferred(frame) {
    state.notes[frame.conversation] = { from_expert: frame.from_expert, note: frame.note };
    var view = state.convs[frame.conversation];
    if (view) T.showTransferNote(view.panel, state.notes[frame.conversation]);
    notify((frame.from_expert ? frame.from_expert.display_name : "A colleague") + " handed you a conversation", frame.note || "");
  }

  function onError(frame) {
    if (frame.ref) {
      var pending = state.outbox.filter(function (f) { return f.client_id === frame.ref; })[0];
      if (pending && frame.code !== "unavailable" && frame.code !== "rate_limited") {
        state.outbox = state.outbox.filter(function (f) { return f !== pending; });
        var node = document.querySelector('li[data-client-id="' + CSS.escape(frame.ref) + '"]:not([data-seq])');
        if (node) { node.classList.add("msg-failed"); node.querySelector(".msg-status").textContent = interpolate(gettext("Not sent: %(reason)s"), { reason: frame.detail }, true); }
      }
    }
    toast(frame.detail || frame.code);
  }

  // --- presence and notifications ------------------------------------------------------------

  /* Away or offline, the server offers no new question and stops updating the
   * queue: it is hidden, with a line saying why, until the expert is online again. */
  function renderPresence(status) {
    $("presence").value = status;
    var online = status === "online";
    $("away-note").hidden = online;
    $("queue").hidden = !online;
    if (online) renderQueueCount();
    else $("queue-empty").hidden = true;
  }

  $("presence").addEventListener("change", function () {
    send({ type: "presence.set", status: $("presence").value });
  });

  if ("Notification" in window && Notification.permission === "default") {
    $("enable-notifications").hidden = false;
    $("enable-notifications").addEventListener("click", function () {
      Notification.requestPermission().then(function () { $("enable-notifications").hidden = true; });
    });
  }

  var unseen = 0;
  function notify(title, body) {
    C.beep();
    if (document.visibilityState === "hidden") {
      unseen++;
      document.title = "(" + unseen + ") " + state.originalTitle;
      if ("Notification" in window && Notification.permission === "granted") {
        try { new Notification(title, { body: body.slice(0, 140), tag: "chat-dashboard" }); } catch (e) { /* not allowed here */ }
      }
    }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      unseen = 0;
      document.title = state.originalTitle;
      if (state.active) sendRead(state.convs[state.active]);
    }
  });

  // --- the queue ------------------------------------------------------------------------------

  function waitingFor(iso) {
    var minutes = Math.floor((Date.now() - new Date(iso).getTime()) / 60000);
    if (minutes < 1) return gettext("waiting less than a minute");
    if (minutes < 60) return interpolate(gettext("waiting %(minutes)s min"), { minutes: minutes }, true);
    return interpolate(gettext("waiting %(hours)s h %(minutes)s min"), { hours: Math.floor(minutes / 60), minutes: minutes % 60 }, true);
  }

  function addQueued(conversation, preview, live, offer) {
    if (state.queue[conversation.id]) return;
    var li = C.el("li", "queue-item");
    li.setAttribute("data-conversation", conversation.id);
    li.setAttribute("data-offer", offer || "brand");
    var head = C.el("div", "queue-head");
    head.appendChild(C.el("strong", null, conversation.visitor.nickname || gettext("Visitor")));
    head.appendChild(C.el("span", "muted queue-topic", " · " + (topicLabel(conversation) || gettext("no topic"))));
    // Topic routing (docs/faces.md): one of the expert's topics, or offered to every expert of the brand.
    if (offer === "topic") head.appendChild(C.el("span", "queue-offer", gettext("Your topic")));
    li.appendChild(head);
    if (conversation.page) li.appendChild(C.el("p", "queue-page muted", pageLabel(conversation.page)));
    li.appendChild(C.el("p", "queue-preview", preview));
    var wait = C.el("p", "queue-wait muted", waitingFor(conversation.created_at));
    wait.setAttribute("data-since", conversation.created_at);
    li.appendChild(wait);
    li.appendChild(C.el("p", "queue-presence muted", visitorPresence(conversation.visitor)));
    var claim = C.el("button", "primary", gettext("Claim"));
    claim.type = "button";
    claim.setAttribute("aria-label", conversation.visitor.nickname
      ? interpolate(gettext("Claim the question from %(name)s"), { name: conversation.visitor.nickname }, true)
      : gettext("Claim the question from a visitor"));
    claim.addEventListener("click", function () {
      claim.disabled = true;
      send({ type: "conversation.claim", conversation: conversation.id });
      setTimeout(function () { claim.disabled = false; }, 3000);
    });
    li.appendChild(claim);
    $("queue").appendChild(li);
    state.queue[conversation.id] = { conversation: conversation, node: li };
    renderQueueCount();
    if (live) notify(gettext("A new question is waiting"), preview);
  }

  // The brand's page the question was asked from, as text (never a link: the visitor's widget said it).
  function pageLabel(page) {
    return interpolate(gettext("Asked on %(page)s"), { page: page.title ? "\u201c" + page.title + "\u201d (" + page.path + ")" : page.path }, true);
  }

  // Whether the visitor is still on the site: a question stays claimable after they left.
  function visitorPresence(visitor) {
    if (!visitor.away_since) return gettext("Visitor is here");
    var minutes = Math.floor((Date.now() - new Date(visitor.away_since).getTime()) / 60000);
    if (minutes < 60) return interpolate(gettext("Visitor left %(minutes)s min ago"), { minutes: Math.max(minutes, 1) }, true);
    if (minutes < 48 * 60) return interpolate(gettext("Visitor left %(hours)s h ago"), { hours: Math.floor(minutes / 60) }, true);
    return interpolate(gettext("Visitor left %(days)s days ago"), { days: Math.floor(minutes / 1440) }, true);
  }

  function updateQueued(conversation) {
    var item = state.queue[conversation.id];
    if (!item) return;
    item.conversation = conversation;
    item.node.querySelector(".queue-presence").textContent = visitorPresence(conversation.visitor);
  }

  function removeQueued(id) {
    var item = state.queue[id];
    if (!item) return;
    item.node.parentNode.removeChild(item.node);
    delete state.queue[id];
    renderQueueCount();
  }

  function renderQueueCount() {
    var n = Object.keys(state.queue).length;
    $("queue-count").textContent = n;
    $("queue-empty").hidden = n > 0 || $("queue").hidden;
  }

  setInterval(function () {
    Array.prototype.forEach.call(document.querySelectorAll(".queue-wait"), function (node) {
      node.textContent = waitingFor(node.getAttribute("data-since"));
    });
    Object.keys(state.queue).forEach(function (id) {
      var item = state.queue[id];
      item.node.querySelector(".queue-presence").textContent = visitorPresence(item.conversation.visitor);
    });
  }, 15000);

  // --- conversations as tabs ---------------------------------------------------------------------

  function applyConversation(c) {
    var mine = c.expert && c.expert.id === state.me;
    if (c.status !== "waiting") removeQueued(c.id);
    var view = state.convs[c.id];
    if (!view) {
      if (!(mine && c.status === "active")) return;
      view = createView(c);
      requestSync(view);
      if (!state.active) activate(c.id);
    }
    view.conversation = c;
    if (typeof c.visitor_read_seq === "number") view.visitorRead = Math.max(view.visitorRead, c.visitor_read_seq);
    renderStatus(view);
    markReadMarks(view);
  }

  function createView(c) {
    var panel = document.importNode($("tpl-panel").content, true).firstElementChild;
    panel.id = "panel-" + c.id;
    var tab = C.el("button", "tab");
    tab.type = "button";
    tab.id = "tab-" + c.id;
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", panel.id);
    tab.setAttribute("aria-selected", "false");
    tab.tabIndex = -1;
    panel.setAttribute("aria-labelledby", tab.id);
    var name = C.el("span", "tab-name", c.visitor.nickname || gettext("Visitor"));
    var badge = C.el("span", "tab-unread");
    badge.hidden = true;
    tab.appendChild(name);
    tab.appendChild(badge);
    tab.addEventListener("click", function () { activate(c.id); });
    tab.addEventListener("keydown", onTabKey);
    panel.hidden = true;
    $("tabs").appendChild(tab);
    $("panels").appendChild(panel);

    var view = {
      conversation: c, tab: tab, badge: badge, panel: panel, messages: {}, lastSeq: 0, unread: 0,
      readSent: 0, visitorRead: 0, syncing: false, typingTimer: null, typingSentAt: 0,
      list: panel.querySelector(".messages"), typing: panel.querySelector(".typing"),
      text: panel.querySelector(".composer-text")
    };
    panel.querySelector(".conv-visitor").textContent = c.visitor.nickname || gettext("Visitor");
    panel.querySelector(".conv-topic").textContent = c.topic ? "· " + topicLabel(c) : "";
    panel.querySelector(".conv-page").textContent = c.page ? pageLabel(c.page) : "";

    // This conversation's replies: the expert's own and its brand's; placeholders filled on insert.
    function replies() { return canned.filter(function (r) { return r.brand === null || r.brand === c.brand; }); }
    function names() { return { visitor: view.conversation.visitor.nickname || "Visitor", expert: $("me").textContent }; }
    var select = panel.querySelector(".canned");
    replies().forEach(function (reply, i) {
      var option = C.el("option", null, reply.title + ": " + reply.text);
      option.value = String(i);
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      if (select.value === "") return;
      view.text.value = T.fill(replies()[Number(select.value)].text, names());
      select.value = "";
      view.text.focus();
    });
    T.attachPicker(view.text, replies, names);
    if (state.notes[c.id]) T.showTransferNote(panel, state.notes[c.id]);

    panel.querySelector(".composer").addEventListener("submit", function (event) {
      event.preventDefault();
      var text = view.text.value.trim();
      if (!text) return;
      view.text.value = "";
      var frame = { type: "message.send", conversation: c.id, text: text, client_id: C.clientId() };
      state.outbox.push(frame);
      var node = messageNode({ author: "expert", author_name: gettext("You"), kind: "text", text: text, client_id: frame.client_id, created_at: new Date().toISOString() });
      view.list.appendChild(node);
      view.list.scrollTop = view.list.scrollHeight;
      if (view.typingSentAt) send({ type: "typing", conversation: c.id, active: false });
      view.typingSentAt = 0;
      send(frame);
    });
    wirePictures(view, c.id);
    view.text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        panel.querySelector(".composer").requestSubmit();
      }
    });
    view.text.addEventListener("input", function () {
      var now = Date.now();
      if (now - view.typingSentAt > 3000 && send({ type: "typing", conversation: c.id, active: true })) view.typingSentAt = now;
      clearTimeout(view.typingStop);
      view.typingStop = setTimeout(function () {
        if (view.typingSentAt) send({ type: "typing", conversation: c.id, active: false });
        view.typingSentAt = 0;
      }, 4000);
    });
    panel.querySelector(".ladder").addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action]");
      if (button) ladder(view, button.getAttribute("data-action"));
    });

    state.convs[c.id] = view;
    state.order.push(c.id);
    $("no-conversations").hidden = true;
    return view;
  }

  function onTabKey(event) {
    var index = state.order.indexOf(state.active);
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      var step = event.key === "ArrowRight" ? 1 : -1;
      var next = state.order[(index + step + state.order.length) % state.order.length];
      activate(next);
      state.convs[next].tab.focus();
      event.preventDefault();
    }
  }

  function activate(id) {
    state.active = id;
    state.order.forEach(function (other) {
      var view = state.convs[other];
      var on = other === id;
      view.tab.setAttribute("aria-selected", on ? "true" : "false");
      view.tab.tabIndex = on ? 0 : -1;
      view.panel.hidden = !on;
    });
    var view = state.convs[id];
    view.unread = 0;
    renderUnread(view);
    view.list.scrollTop = view.list.scrollHeight;
    sendRead(view);
  }

  function closeTab(id) {
    var view = state.convs[id];
    view.tab.parentNode.removeChild(view.tab);
    view.panel.parentNode.removeChild(view.panel);
    delete state.convs[id];
    state.order = state.order.filter(function (other) { return other !== id; });
    state.active = null;
    if (state.order.length) activate(state.order[0]);
    else $("no-conversations").hidden = false;
  }

  function renderUnread(view) {
    view.badge.hidden = view.unread === 0;
    view.badge.textContent = view.unread ? String(view.unread) : "";
    view.badge.setAttribute("aria-label", interpolate(gettext("%(count)s unread"), { count: view.unread }, true));
  }

  var STATUS_TEXT = { active: gettext("Active"), waiting: gettext("Back in the queue"), ended: gettext("Ended") };
  var ENDED_BY_TEXT = {
    visitor: gettext("Ended by the visitor"), expert: gettext("Ended by the expert"),
    moderator: gettext("Ended by the moderator"), system: gettext("Ended by the system")
  };

  function renderStatus(view) {
    var c = view.conversation;
    var open = c.status === "active" && c.expert && c.expert.id === state.me;
    var text = STATUS_TEXT[c.status] || c.status;
    if (c.status === "ended" && c.ended_by) text = ENDED_BY_TEXT[c.ended_by] || text;
    if (c.status === "ended" && c.end_reason === "inactive") text = gettext("Ended: no messages for a while after the visitor left");
    if (c.status === "waiting") text = gettext("Handed back: another expert may take it");
    if (c.status === "active" && c.expert && c.expert.id !== state.me) text = interpolate(gettext("Handed to %(name)s"), { name: c.expert.display_name }, true);
    if (c.rating) text += " · " + interpolate(gettext("rated %(score)s/5"), { score: c.rating.score }, true);
    view.panel.querySelector(".conv-status").textContent = text;
    view.tab.classList.toggle("tab-closed", !open);
    view.panel.querySelector(".composer").hidden = !open;
    // Once it has ended, the expert may share it with the community (a scrubbed draft).
    var share = view.panel.querySelector(".share-link");
    share.hidden = !(c.status === "ended" && c.expert && c.expert.id === state.me);
    share.href = shareUrl + "?from=" + encodeURIComponent(c.id);
    Array.prototype.forEach.call(view.panel.querySelectorAll(".ladder button"), function (button) {
      var action = button.getAttribute("data-action");
      if (action === "close") button.hidden = open;
      else if (action === "report" || action === "alert") button.hidden = false;
      else button.hidden = !open;
    });
  }

  // --- pictures: uploaded with the session and CSRF token, then sent as a message (static/chat/pictures.js) ---

  function wirePictures(view, conversationId) {
    var button = view.panel.querySelector(".attach-picture");
    var status = view.panel.querySelector(".picture-status");
    function say(text, isError) {
      status.textContent = text || "";
      status.hidden = !text;
      status.classList.toggle("error", !!isError);
    }
    window.ChatPictures.wire(button, view.text, view.list, function (file) {
      button.disabled = true;
      say("Sending the picture… 0%");
      window.ChatPictures.upload({
        conversation: conversationId, file: file, headers: { "X-CSRFToken": $("picture-csrf").getAttribute("data-csrf") },
        onProgress: function (percent) { say("Sending the picture… " + percent + "%"); }
      }).then(function (answer) {
        say("");
        var frame = { type: "message.send", conversation: conversationId, attachment: answer.id, client_id: C.clientId() };
        state.outbox.push(frame);
        view.list.appendChild(messageNode({ author: "expert", author_name: "You", kind: "text", text: "", pendingPicture: true,
                                            client_id: frame.client_id, created_at: new Date().toISOString() }));
        view.list.scrollTop = view.list.scrollHeight;
        send(frame);
      }, function (error) { say(error.message, true); }).then(function () { button.disabled = false; });
    });
  }

  // --- messages ------------------------------------------------------------------------------------

  function messageNode(m) {
    var kind = m.kind === "warning" ? "warning" : m.kind === "notice" ? "notice" : m.author;
    var li = C.el("li", "msg msg-" + kind + (m.flagged ? " msg-flagged" : ""));
    var meta = C.el("div", "msg-meta");
    meta.appendChild(C.el("span", "msg-author", m.kind === "warning" ? gettext("Warning") : m.author_name));
    if (m.created_at) meta.appendChild(C.timeNode(m.created_at));
    if (m.flagged) meta.appendChild(C.el("span", "msg-flag", gettext("flagged by the filter")));
    li.appendChild(meta);
    if (m.text) li.appendChild(C.textNode("p", "msg-text", m.text));
    if (m.attachment) li.appendChild(window.ChatPictures.node(m.attachment));
    else if (m.pendingPicture) li.appendChild(C.el("p", "msg-text muted", gettext("Picture")));
    else if (!m.text) li.appendChild(C.el("p", "msg-text muted", gettext("Picture removed")));
    if (m.author === "expert") li.appendChild(C.el("span", "msg-status", m.seq ? gettext("Sent") : gettext("Sending…")));
    if (m.seq) li.setAttribute("data-seq", m.seq);
    if (m.client_id) li.setAttribute("data-client-id", m.client_id);
    return li;
  }

  function addMessage(m, live) {
    var view = state.convs[m.conversation];
    if (!view || view.messages[m.seq]) return;
    view.messages[m.seq] = m;
    if (m.author === "expert" && m.client_id) {
      state.outbox = state.outbox.filter(function (f) { return f.client_id !== m.client_id; });
      var pending = view.list.querySelector('li[data-client-id="' + CSS.escape(m.client_id) + '"]:not([data-seq])');
      if (pending) view.list.removeChild(pending);
    }
    var node = messageNode(m);
    var before = null;
    var nodes = view.list.querySelectorAll("li[data-seq]");
    for (var i = 0; i < nodes.length; i++) {
      if (Number(nodes[i].getAttribute("data-seq")) > m.seq) { before = nodes[i]; break; }
    }
    if (!before) before = view.list.querySelector("li:not([data-seq])");
    view.list.insertBefore(node, before);
    while (view.messages[view.lastSeq + 1]) view.lastSeq++;
    if (m.seq > view.lastSeq) requestSync(view);
    if (m.author === "visitor") view.typing.textContent = "";
    var reason = !view.guided && T.needsGuidance(m, guidance[view.conversation.brand]);
    if (reason) {
      view.guided = true;  // once per conversation: hidden by the expert, it stays hidden
      T.showGuidance(view.panel, reason, guidance[view.conversation.brand], view.text);
    }
    view.list.scrollTop = view.list.scrollHeight;
    markReadMarks(view);
    if (live && m.author === "visitor") {
      var seen = state.active === m.conversation && document.visibilityState === "visible";
      if (seen) sendRead(view);
      else {
        view.unread++;
        renderUnread(view);
      }
      if (!seen) notify(interpolate(gettext("New message from %(name)s"), { name: m.author_name || gettext("a visitor") }, true), m.text);
    }
  }

  function requestSync(view) {
    if (view.syncing) return;
    view.syncing = send({ type: "sync", conversation: view.conversation.id, after_seq: view.lastSeq });
  }

  function onMessages(frame) {
    var view = state.convs[frame.conversation];
    if (!view) return;
    view.syncing = false;
    frame.messages.forEach(function (m) { addMessage(m, false); });
    if (frame.has_more) requestSync(view);
    if (state.active === view.conversation.id) sendRead(view);
  }

  function sendRead(view) {
    if (!view || document.visibilityState === "hidden") return;
    var top = 0;
    for (var seq in view.messages) if (view.messages[seq].author === "visitor" && Number(seq) > top) top = Number(seq);
    if (top > view.readSent && send({ type: "read", conversation: view.conversation.id, seq: top })) view.readSent = top;
  }

  function onRead(frame) {
    var view = state.convs[frame.conversation];
    if (!view || frame.reader !== "visitor") return;
    view.visitorRead = Math.max(view.visitorRead, frame.seq);
    markReadMarks(view);
  }

  function markReadMarks(view) {
    var nodes = view.list.querySelectorAll("li.msg-expert[data-seq]");
    for (var i = 0; i < nodes.length; i++) {
      var read = Number(nodes[i].getAttribute("data-seq")) <= view.visitorRead;
      nodes[i].querySelector(".msg-status").textContent = read ? "Read" : "Sent";
    }
  }

  function onTyping(frame) {
    var view = state.convs[frame.conversation];
    if (!view || frame.author !== "visitor") return;
    view.typing.textContent = frame.active
      ? interpolate(gettext("%(name)s is typing…"), { name: view.conversation.visitor.nickname || gettext("The visitor") }, true) : "";
    clearTimeout(view.typingTimer);
    if (frame.active) view.typingTimer = setTimeout(function () { view.typing.textContent = ""; }, 8000);
  }

  // --- the moderation ladder -----------------------------------------------------------------------

  function ask(dialogId, onOk, prepare) {
    var dialog = $(dialogId);
    var form = dialog.querySelector("form");
    form.reset();
    if (prepare) prepare();
    dialog.returnValue = "";
    dialog.onclose = function () { if (dialog.returnValue === "ok") onOk(); };
    dialog.showModal();
  }

  function ladder(view, action) {
    var id = view.conversation.id;
    switch (action) {
      case "warn": {
        // A warning cannot be taken back: confirm it, showing (and allowing to edit) its words.
        var reminder = reminders[view.conversation.brand] || "";
        ask("dlg-warn", function () {
          var text = $("warn-text").value.trim();
          var frame = { type: "moderation.warn", conversation: id };
          if (text && text !== reminder.trim()) frame.text = text;
          send(frame);
        }, function () { $("warn-text").value = reminder; });
        break;
      }
      case "end":
        ask("dlg-end", function () { send({ type: "conversation.end", conversation: id }); });
        break;
      case "alert":
        ask("dlg-alert", function () { send({ type: "moderation.alert", conversation: id, note: $("alert-note").value.trim() }); });
        break;
      case "block":
        ask("dlg-block", function () {
          var hours = $("block-duration").value;
          send({ type: "moderation.block", conversation: id, reason: $("block-reason").value.trim(), duration_hours: hours ? Number(hours) : null });
        });
        break;
      case "report":
        ask("dlg-report", function () {
          send({ type: "report.file", conversation: id, category: $("report-category").value, description: $("report-description").value.trim() });
        });
        break;
      case "release":
        send({ type: "conversation.release", conversation: id });
        break;
      case "transfer":
        ask("dlg-transfer", function () {
          var frame = { type: "conversation.transfer", conversation: id, expert: $("transfer-expert").value };
          var note = $("transfer-note").value.trim();
          if (note) frame.note = note;
          send(frame);
        }, function () {
          T.loadColleagues(colleaguesUrl, id, $("transfer-expert"), $("transfer-empty"), $("transfer-ok"));
        });
        break;
      case "close":
        closeTab(id);
        break;
      default:
        break;
    }
  }

  socket.connect();
})();
