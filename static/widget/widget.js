/* The visitor widget (docs/protocol.md, "Visitor socket").
 *
 * State lives in the server; this page keeps only what it needs to resume:
 * the visitor token (localStorage, per brand, never in a URL), the messages it
 * has shown (by seq, so repeats are dropped and gaps are asked for with
 * `sync`), and an outbox of frames not yet acknowledged, each with its
 * client_id so a resend never makes a second message. */
(function () {
  "use strict";
  var C = window.ChatCommon;
  var root = document.getElementById("chat");
  var slug = root.getAttribute("data-brand");
  var KEY = "chatwidget." + slug + ".";
  var framed = window.parent !== window;
  // Framed by loader.js ("#loader"): the page may load hidden on every page of
  // the host site, so the socket opens only when the loader says so (the
  // bubble is opened, or a conversation is going).
  var managed = framed && location.hash === "#loader";
  var started = false;

  function $(id) { return document.getElementById(id); }

  var store = {
    get: function (name) { try { return JSON.parse(localStorage.getItem(KEY + name)); } catch (e) { return null; } },
    set: function (name, value) { try { localStorage.setItem(KEY + name, JSON.stringify(value)); } catch (e) { /* private mode */ } },
    del: function (name) { try { localStorage.removeItem(KEY + name); } catch (e) { /* private mode */ } }
  };

  // Opened from an e-mail's link (/c/<signed>/): the server handed this page the visitor's fresh token.
  var resumeToken = document.getElementById("resume-token");
  if (resumeToken) {
    store.set("token", JSON.parse(resumeToken.textContent));
    store.del("ended");
    // A reload is the plain widget with that token, not a second use of the link.
    history.replaceState(null, "", "/widget/" + encodeURIComponent(slug) + "/");
  }

  var state = {
    email: null,           // the contact address, as the server has it
    welcomed: false,
    conversation: null,
    messages: {},          // seq -> message shown
    lastSeq: 0,            // every seq up to here is shown
    syncing: false,
    outbox: store.get("outbox") || [],
    expertRead: 0,
    readSent: 0,
    open: !framed,         // framed: the loader tells us when the bubble is open
    unread: 0,
    blocked: false,
    typingTimer: null,
    typingSentAt: 0,
    typingStopTimer: null,
    originalTitle: document.title,
    page: null             // the host's page ({path, title}) as loader.js said, from a brand origin
  };
  // The origins whose pages may tell us where the visitor is: the brand's, and our own (the demo shop).
  var pageOrigins = (root.getAttribute("data-page-origins") || "").split(" ").filter(Boolean).concat([location.origin]);

  // --- talking to the host page (loader.js) -------------------------------------

  function tellHost(type, extra) {
    if (!framed) return;
    var data = { chatWidget: 1, type: type };
    for (var k in extra) data[k] = extra[k];
    // Only counts and flags travel, never message text: "*" leaks nothing.
    window.parent.postMessage(data, "*");
  }

  window.addEventListener("message", function (event) {
    if (!framed || event.source !== window.parent) return;
    var data = event.data;
    if (!data || data.chatWidget !== 1) return;
    if (data.type === "visibility") {
      if (data.open) start();
      setOpen(!!data.open);
    } else if (data.type === "connect") {
      start();
    } else if (data.type === "page" && pageOrigins.indexOf(event.origin) !== -1 &&
               typeof data.path === "string" && data.path.charAt(0) === "/" && typeof data.title === "string") {
      state.page = { path: data.path, title: data.title };
    }
  });

  function start() {
    if (started) return;
    started = true;
    socket.connect();
  }

  function setOpen(open) {
    state.open = open;
    if (open) {
      state.unread = 0;
      tellHost("unread", { count: 0 });
      sendRead();
      focusInput();
    }
  }

  /* Opening the chat puts the caret where the visitor will type. */
  function focusInput() {
    var composer = $("composer-text");
    if (!$("chat-panel").hidden && !composer.disabled && !$("send-form").hidden) composer.focus();
    else if (!$("start-panel").hidden) $("question").focus();
  }

  function visible() {
    return state.open && document.visibilityState !== "hidden";
  }

  document.addEventListener("visibilitychange", function () {
    if (visible()) {
      if (!framed) document.title = state.originalTitle;
      state.unread = 0;
      tellHost("unread", { count: 0 });
      sendRead();
    }
  });

  if (framed) {
    $("close-widget").hidden = false;
    $("close-widget").addEventListener("click", function () { tellHost("close"); });
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && framed) tellHost("close");
  });

  // --- connection ------------------------------------------------------------------

  var CONNECTION_TEXT = {
    connecting: gettext("Connecting…"),
    open: gettext("Connecting…"),
    offline: gettext("Offline: your messages will be sent when you are back"),
    stopped: gettext("Disconnected")
  };

  // The page's language (the server chose it among the brand's): the socket sends system messages in it.
  var socketPath = root.getAttribute("data-ws-path") + "?lang=" + encodeURIComponent(document.documentElement.lang || "");
  var socket = new C.ReconnectingSocket(C.socketUrl(socketPath), {
    stopCodes: [4403, 4404],
    onOpen: function () {
      state.welcomed = false;
      socket.send({
        type: "hello",
        token: store.get("token"),
        nickname: store.get("nickname") || undefined,
        last_seq: state.lastSeq,
        page: state.page || undefined
      });
    },
    onFrame: onFrame,
    onState: function (name, detail) {
      state.welcomed = false;
      var line = $("connection");
      line.className = "conn conn-" + name;
      if (name === "reconnecting") line.textContent = interpolate(gettext("Reconnecting in %(seconds)s s…"), { seconds: detail }, true);
      else if (name === "stopped" && detail === 4404) line.textContent = gettext("This chat is not available");
      else line.textContent = CONNECTION_TEXT[name] || name;
      renderPending();
    }
  });

  function send(frame) {
    return state.welcomed && socket.send(frame);
  }

  // --- frames ------------------------------------------------------------------------

  function onFrame(frame) {
    switch (frame.type) {
      case "welcome": return onWelcome(frame);
      case "conversation": return applyConversation(frame.conversation || frame);
      case "message": return addMessage(frame.message || frame, true);
      case "messages": return onMessages(frame);
      case "typing": return onTyping(frame);
      case "read": return onRead(frame);
      case "report.filed": return onReportFiled(frame);
      case "experts.online": return renderExpertsOnline(frame.count);
      case "contact": return renderContact(frame.email);
      case "transcript.queued": $("transcript-done").textContent = interpolate(gettext("The transcript is on its way to %(email)s."), { email: state.email }, true); return undefined;
      case "error": return onError(frame);
      default: return undefined;
    }
  }

  function onWelcome(frame) {
    store.set("token", frame.token);
    state.welcomed = true;
    socket.healthy();
    $("connection").className = "conn conn-online";
    $("connection").textContent = gettext("Connected");
    renderBrand(frame.brand);
    if (frame.visitor && frame.visitor.nickname && !$("nickname").value) $("nickname").value = frame.visitor.nickname;
    renderContact(frame.visitor ? frame.visitor.email : null);
    var conversation = frame.conversation;
    if (conversation) {
      applyConversation(conversation);
      (frame.messages || []).forEach(function (m) { addMessage(m, false); });
      if (conversation.last_seq > state.lastSeq) requestSync();
    } else if (state.conversation && state.conversation.status !== "ended") {
      // It ended while we were away: show its end and fetch the last messages.
      state.conversation.status = "ended";
      applyConversation(state.conversation);
      requestSync();
    } else if (!state.conversation && frame.last_conversation && store.get("ended") === frame.last_conversation.id) {
      // The conversation that ended before the reload: its expert, rating and transcript, to rate or report.
      applyConversation(frame.last_conversation);
      requestSync();
    } else if (!state.conversation && store.get("ended")) {
      requestSync(); // the transcript of the conversation that ended, for rating and reporting
      if (!startPending()) showPanel("start");
    } else if (!state.conversation && !startPending()) {
      showPanel("start");
    }
    flushOutbox();
    sendRead();
    if (state.open && (document.activeElement === document.body || !document.activeElement)) focusInput();
    tellHost("active", { value: !!(state.conversation && state.conversation.status !== "ended") });
  }

  function onMessages(frame) {
    state.syncing = false;
    var endedId = store.get("ended");
    if (!state.conversation && frame.conversation === endedId && frame.messages.length) {
      applyConversation({ id: endedId, status: "ended", expert: null, last_seq: 0, rating: null });
    }
    frame.messages.forEach(function (m) { addMessage(m, false); });
    if (frame.has_more) requestSync();
  }

  function requestSync() {
    if (state.syncing) return;
    state.syncing = send({ type: "sync", after_seq: state.lastSeq });
  }

  function onError(frame) {
    if (frame.code === "blocked") {
      state.blocked = true;
      state.outbox = [];
      store.set("outbox", []);
      var until = frame.until ? " " + interpolate(gettext("until %(when)s"), { when: C.dateTimeLabel(frame.until) }, true) : "";
      $("blocked-detail").textContent = (frame.detail || gettext("You have been blocked.")) + until;
      showPanel("blocked");
      socket.stop(4403);
      return;
    }
    if (frame.ref) {
      var entry = findOutbox(frame.ref);
      if (entry && (frame.code === "unavailable" || frame.code === "rate_limited")) {
        showNotice(frame.detail + " " + gettext("It will be sent again."));
        return;
      }
      if (entry) {
        removeOutbox(frame.ref);
        var node = document.querySelector('[data-client-id="' + CSS.escape(frame.ref) + '"]');
        if (node) {
          node.classList.add("msg-failed");
          node.querySelector(".msg-status").textContent = interpolate(gettext("Not sent: %(reason)s"), { reason: frame.detail }, true);
        }
        if (entry.type === "conversation.start" && frame.code !== "conversation_open") {
          $("question").value = entry.text;
          showPanel("start");
        }
      }
    }
    if (frame.code !== "conversation_open") showNotice(frame.detail);
    $("report-form").querySelector("button[type=submit]").disabled = false;
  }

  function showNotice(text) {
    var notice = $("notice");
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(showNotice.timer);
    showNotice.timer = setTimeout(function () { notice.hidden = true; }, 8000);
  }

  // --- the contact address ("tell me by e-mail") -----------------------------------

  function renderContact(email) {
    state.email = email || null;
    $("contact-line").textContent = email ? interpolate(gettext("We will e-mail %(email)s when an expert answers and you are away."), { email: email }, true) : "";
    $("contact-line").hidden = !email;
    $("contact-remove").hidden = !email;
    $("contact-form").hidden = !!email;
    $("send-transcript").textContent = email ? gettext("E-mail me the transcript") : gettext("E-mail me the transcript (give your address above)");
    $("send-transcript").disabled = !email;
  }

  $("contact-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var email = $("contact-email").value.trim();
    if (email && !send({ type: "contact.set", email: email })) showNotice(gettext("You are offline; try again in a moment."));
  });
  $("contact-remove").addEventListener("click", function () { send({ type: "contact.set", email: null }); });
  $("send-transcript").addEventListener("click", function () {
    if (send({ type: "transcript.send" })) $("transcript-done").textContent = gettext("Sending…");
  });

  // --- brand and panels ----------------------------------------------------------

  /* "n experts online": in the welcome, then pushed (`experts.online`) whenever it changes. */
  function renderExpertsOnline(count) {
    $("experts-online").textContent = interpolate(ngettext("%(count)s expert online", "%(count)s experts online", count), { count: count }, true);
    $("nobody-online").hidden = count > 0;
  }

  function renderBrand(brand) {
    renderExpertsOnline(brand.experts_online);
    // A default welcome was rendered in the visitor's language (visitors/views.py); the socket's is the stored English.
    if (brand.welcome_message && !$("welcome-text").hasAttribute("data-translated")) $("welcome-text").textContent = brand.welcome_message;
    var select = $("topic");
    var chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    (brand.topics || []).forEach(function (topic) {
      var option = C.el("option", null, topic.name);
      option.value = topic.slug;
      select.appendChild(option);
    });
    select.value = chosen;
    select.parentNode.querySelector("label[for=topic]").hidden = select.hidden = !(brand.topics || []).length;
  }

  var PANELS = ["start", "chat", "after", "report", "blocked"];
  // Why the system ended a conversation (Conversation.end_reason).
  var END_REASONS = {
    inactive: gettext("It ended after a while without messages, once you had left."),
    unanswered: gettext("No expert was free to answer in time. You are welcome to ask again.")
  };

  function showPanel(name, keepChat) {
    PANELS.forEach(function (panel) { $(panel + "-panel").hidden = panel !== name; });
    if (keepChat) $("chat-panel").hidden = false;
  }

  function applyConversation(conversation) {
    if (state.conversation && state.conversation.id !== conversation.id) resetConversation();
    var previous = state.conversation;
    state.conversation = conversation;
    if (typeof conversation.expert_read_seq === "number") state.expertRead = Math.max(state.expertRead, conversation.expert_read_seq);
    var ended = conversation.status === "ended";
    if (ended) store.set("ended", conversation.id);
    else store.del("ended");
    tellHost("active", { value: !ended });

    var expert = conversation.expert;
    $("expert-card").hidden = !expert;
    if (expert) {
      $("expert-name").textContent = expert.display_name;
      $("expert-bio").textContent = expert.bio || "";
      renderExpertAvatar(expert);
      if (!previous || !previous.expert || previous.expert.id !== expert.id) {
        $("typing").textContent = interpolate(gettext("%(name)s has joined the conversation."), { name: expert.display_name }, true);
      }
    }
    $("waiting-line").hidden = conversation.status !== "waiting";
    $("next-expert").hidden = conversation.status !== "active";
    var composer = $("composer-text");
    composer.disabled = ended;
    $("send-form").hidden = ended;
    $("end-conversation").hidden = ended;
    $("chat-actions").hidden = ended; // the after panel has its own buttons
    if (ended) {
      var reason = END_REASONS[conversation.end_reason] || "";
      $("after-reason").textContent = reason;
      $("after-reason").hidden = !reason;
      var rated = conversation.rating;
      $("rate-done").textContent = rated ? interpolate(gettext("Thank you: you rated this conversation %(score)s out of 5."), { score: rated.score }, true) : "";
      $("after-next-expert").hidden = !(previous && previous.expert) && !conversation.expert;
      if ($("report-panel").hidden) showPanel("after", true);
      else $("chat-panel").hidden = false;
    } else if ($("report-panel").hidden) {
      showPanel("chat");
    }
    markReadMarks();
  }

  function resetConversation() {
    state.messages = {};
    state.lastSeq = 0;
    state.expertRead = 0;
    state.readSent = 0;
    var list = $("messages");
    Array.prototype.slice.call(list.children).forEach(function (node) {
      if (!node.hasAttribute("data-client-id") || node.hasAttribute("data-seq")) list.removeChild(node);
    });
    $("rate-form").reset();
    $("rate-done").textContent = "";
  }

  // --- messages ------------------------------------------------------------------------

  function messageNode(m) {
    var kind = m.kind === "warning" ? "warning" : m.kind === "notice" ? "notice" : m.author;
    var li = C.el("li", "msg msg-" + kind);
    var meta = C.el("div", "msg-meta");
    var who = m.kind === "warning" ? warningLabel(m) : m.author === "visitor" ? gettext("You") : m.author_name;
    meta.appendChild(C.el("span", "msg-author", who));
    if (m.created_at) meta.appendChild(C.timeNode(m.created_at));
    li.appendChild(meta);
    if (m.text) li.appendChild(C.textNode("p", "msg-text", m.text));
    if (m.attachment) li.appendChild(window.ChatPictures.node(m.attachment));
    else if (m.pendingPicture) li.appendChild(C.el("p", "msg-text muted", gettext("Picture")));
    else if (!m.text) li.appendChild(C.el("p", "msg-text muted", gettext("Picture removed")));
    if (m.author === "visitor") li.appendChild(C.el("span", "msg-status", m.seq ? gettext("Sent") : gettext("Sending…")));
    if (m.seq) li.setAttribute("data-seq", m.seq);
    if (m.client_id) li.setAttribute("data-client-id", m.client_id);
    return li;
  }

  /* A warning is labelled from its own message (author_name "Moderation", docs/protocol.md), never from the
     conversation's current expert: after "talk to another expert" that would name someone who never warned. */
  function warningLabel(m) {
    return interpolate(gettext("Warning from %(name)s"), { name: m.author_name || gettext("Moderation") }, true);
  }

  function addMessage(m, live) {
    if (!state.conversation || m.conversation !== state.conversation.id) return;
    if (state.messages[m.seq]) return;
    state.messages[m.seq] = m;
    var list = $("messages");
    if (m.client_id && m.author === "visitor") {
      removeOutbox(m.client_id);
      var pending = list.querySelector('li[data-client-id="' + CSS.escape(m.client_id) + '"]:not([data-seq])');
      if (pending) list.removeChild(pending);
    }
    var node = messageNode(m);
    var after = null;
    var nodes = list.querySelectorAll("li[data-seq]");
    for (var i = 0; i < nodes.length; i++) {
      if (Number(nodes[i].getAttribute("data-seq")) > m.seq) { after = nodes[i]; break; }
    }
    if (!after) after = list.querySelector("li:not([data-seq])");
    list.insertBefore(node, after);
    while (state.messages[state.lastSeq + 1]) state.lastSeq++;
    if (m.seq > state.lastSeq) requestSync(); // a gap: fetch what is missing
    if (m.author === "expert") $("typing").textContent = "";
    list.scrollTop = list.scrollHeight;
    markReadMarks();
    if (live && m.author !== "visitor") {
      if (visible()) sendRead();
      else notify();
    }
  }

  function notify() {
    state.unread++;
    tellHost("unread", { count: state.unread });
    if (!framed) document.title = "(" + state.unread + ") " + state.originalTitle;
    C.beep();
  }

  function sendRead() {
    if (!visible() || !state.conversation) return;
    var top = 0;
    for (var seq in state.messages) {
      if (state.messages[seq].author !== "visitor" && Number(seq) > top) top = Number(seq);
    }
    if (top > state.readSent && send({ type: "read", seq: top })) state.readSent = top;
  }

  function onRead(frame) {
    if (frame.reader !== "expert") return;
    state.expertRead = Math.max(state.expertRead, frame.seq);
    markReadMarks();
  }

  function markReadMarks() {
    var nodes = $("messages").querySelectorAll("li.msg-visitor[data-seq]");
    for (var i = 0; i < nodes.length; i++) {
      var read = Number(nodes[i].getAttribute("data-seq")) <= state.expertRead;
      nodes[i].querySelector(".msg-status").textContent = read ? gettext("Read") : gettext("Sent");
      nodes[i].classList.toggle("msg-read", read);
    }
  }

  function onTyping(frame) {
    if (frame.author !== "expert") return;
    var name = state.conversation && state.conversation.expert ? state.conversation.expert.display_name : gettext("The expert");
    $("typing").textContent = frame.active ? interpolate(gettext("%(name)s is typing…"), { name: name }, true) : "";
    clearTimeout(state.typingTimer);
    if (frame.active) state.typingTimer = setTimeout(function () { $("typing").textContent = ""; }, 8000);
  }

  // --- the outbox: frames sent until acknowledged ---------------------------------------

  /* A question asked but not yet acknowledged (e.g. waiting for a fresh hello): keep showing the chat. */
  function startPending() {
    return state.outbox.some(function (entry) { return entry.type === "conversation.start"; });
  }

  function findOutbox(clientId) {
    for (var i = 0; i < state.outbox.length; i++) if (state.outbox[i].client_id === clientId) return state.outbox[i];
    return null;
  }

  function removeOutbox(clientId) {
    var before = state.outbox.length;
    state.outbox = state.outbox.filter(function (entry) { return entry.client_id !== clientId; });
    if (state.outbox.length !== before) store.set("outbox", state.outbox);
  }

  function queue(frame) {
    state.outbox.push(frame);
    store.set("outbox", state.outbox);
    renderPending();
    flushOutbox();
  }

  function flushOutbox() {
    if (!state.welcomed) return;
    state.outbox.forEach(function (frame) { send(frame); });
  }

  /* Frames still in the outbox appear at the end of the list, marked as waiting. */
  function renderPending() {
    var list = $("messages");
    state.outbox.forEach(function (frame) {
      var node = list.querySelector('li[data-client-id="' + CSS.escape(frame.client_id) + '"]');
      if (!node) {
        node = messageNode({ author: "visitor", author_name: gettext("You"), kind: "text", text: frame.text, client_id: frame.client_id,
                             created_at: frame.created_at, pendingPicture: !!frame.attachment });
        list.appendChild(node);
        list.scrollTop = list.scrollHeight;
      }
      var status = node.querySelector(".msg-status");
      if (!node.hasAttribute("data-seq")) status.textContent = state.welcomed ? gettext("Sending…") : gettext("Waiting for the connection…");
    });
  }

  // --- forms -----------------------------------------------------------------------------

  $("start-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("question").value.trim();
    if (!text) return;
    var nickname = $("nickname").value.trim();
    var nicknameChanged = nickname && nickname !== (store.get("nickname") || "");
    if (nickname) store.set("nickname", nickname);
    resetConversation();
    state.conversation = null;
    $("messages").textContent = "";
    $("expert-card").hidden = true;
    $("waiting-line").hidden = false;
    $("send-form").hidden = false;
    $("composer-text").disabled = false;
    showPanel("chat");
    var frame = { type: "conversation.start", text: text, client_id: C.clientId(), created_at: new Date().toISOString() };
    if ($("topic").value) frame.topic = $("topic").value;
    if (state.page) frame.page = state.page;
    if ($("start-email").value.trim()) frame.email = $("start-email").value.trim();
    $("question").value = "";
    if (nicknameChanged && state.welcomed) {
      // The protocol takes the nickname at hello: say hello again, then ask.
      state.outbox.push(frame);
      store.set("outbox", state.outbox);
      renderPending();
      socket.reconnectNow();
    } else {
      queue(frame);
    }
    $("composer-text").focus();
  });

  $("send-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var box = $("composer-text");
    var text = box.value.trim();
    if (!text) return;
    box.value = "";
    stopTyping();
    queue({ type: "message.send", text: text, client_id: C.clientId(), created_at: new Date().toISOString() });
  });

  // --- pictures: uploaded over HTTP with the token, then sent as a message (static/chat/pictures.js) ---

  function pictureStatus(text, isError) {
    var status = $("picture-status");
    status.textContent = text || "";
    status.hidden = !text;
    status.classList.toggle("error", !!isError);
  }

  function sendPicture(file) {
    if (!state.conversation || !(state.conversation.status === "waiting" || state.conversation.status === "active")) {
      pictureStatus("Ask your question first, then send a picture.", true);
      return;
    }
    $("attach-picture").disabled = true;
    pictureStatus("Sending the picture… 0%");
    window.ChatPictures.upload({
      conversation: state.conversation.id, file: file, headers: { "X-Visitor-Token": store.get("token") || "" },
      onProgress: function (percent) { pictureStatus("Sending the picture… " + percent + "%"); }
    }).then(function (answer) {
      pictureStatus("");
      queue({ type: "message.send", attachment: answer.id, client_id: C.clientId(), created_at: new Date().toISOString() });
    }, function (error) {
      pictureStatus(error.message, true);
    }).then(function () { $("attach-picture").disabled = false; });
  }

  window.ChatPictures.wire($("attach-picture"), $("composer-text"), $("chat-panel"), sendPicture);

  $("composer-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("send-form").requestSubmit();
    }
  });

  $("composer-text").addEventListener("input", function () {
    var now = Date.now();
    if (now - state.typingSentAt > 3000 && send({ type: "typing", active: true })) state.typingSentAt = now;
    clearTimeout(state.typingStopTimer);
    state.typingStopTimer = setTimeout(stopTyping, 4000);
  });

  function stopTyping() {
    clearTimeout(state.typingStopTimer);
    if (state.typingSentAt) send({ type: "typing", active: false });
    state.typingSentAt = 0;
  }

  $("end-conversation").addEventListener("click", function () { send({ type: "conversation.end" }); });
  $("next-expert").addEventListener("click", function () { send({ type: "conversation.next_expert" }); });
  $("after-next-expert").addEventListener("click", function () { send({ type: "conversation.next_expert" }); });
  $("new-question").addEventListener("click", function () {
    store.del("ended");
    resetConversation();
    state.conversation = null;
    $("messages").textContent = "";
    showPanel("start");
    $("question").focus();
  });

  $("rate-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var checked = $("rate-form").querySelector("input[name=score]:checked");
    if (!checked) return;
    var frame = { type: "conversation.rate", score: Number(checked.value) };
    var comment = $("rate-comment").value.trim();
    if (comment) frame.comment = comment;
    if (!send(frame)) showNotice(gettext("You are offline; try again in a moment."));
  });

  Array.prototype.forEach.call(document.querySelectorAll(".report-open"), function (button) {
    button.addEventListener("click", function () {
      $("report-done").textContent = "";
      showPanel("report");
      $("report-category").focus();
    });
  });

  $("report-cancel").addEventListener("click", function () {
    if (state.conversation && state.conversation.status === "ended") showPanel("after", true);
    else if (state.conversation) showPanel("chat");
    else showPanel("start");
  });

  $("report-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var frame = {
      type: "report.file",
      category: $("report-category").value,
      description: $("report-description").value.trim()
    };
    if (!frame.description) return;
    var email = $("report-email").value.trim();
    if (email) frame.email = email;
    if (state.conversation) frame.conversation = state.conversation.id;
    if (!send(frame)) { showNotice(gettext("You are offline; try again in a moment.")); return; }
    $("report-form").querySelector("button[type=submit]").disabled = true;
    $("report-done").textContent = gettext("Sending…");
  });

  function onReportFiled(frame) {
    $("report-form").querySelector("button[type=submit]").disabled = false;
    $("report-description").value = "";
    $("report-done").textContent = interpolate(gettext("Thank you. Your report was filed with reference %(reference)s. Keep it if you write to us about it."), { reference: frame.reference }, true);
  }

  // --- the brand's look (docs/faces.md) -------------------------------------------------------------

  /* The launcher's colours, icon, side and greeting, as the server rendered them for loader.js. */
  function launcherLook() {
    try { return JSON.parse($("launcher-look").textContent); } catch (e) { return null; }
  }

  /* The expert's initials on their colour, under their picture if any: a missing or broken picture leaves
     the initials, never a blank circle. */
  function renderExpertAvatar(expert) {
    var holder = $("expert-initials");
    holder.style.background = C.avatarColor(expert.display_name);
    $("expert-initials-text").textContent = C.initials(expert.display_name);
    var avatar = $("expert-avatar");
    avatar.onerror = function () { avatar.setAttribute("data-failed", ""); avatar.hidden = true; };
    if (expert.avatar_url && /^https?:\/\//i.test(expert.avatar_url)) {
      if (avatar.getAttribute("src") !== expert.avatar_url) {
        avatar.removeAttribute("data-failed");
        avatar.src = expert.avatar_url;
      }
      avatar.hidden = avatar.hasAttribute("data-failed");
    } else {
      avatar.hidden = true;
      avatar.removeAttribute("src");
    }
  }

  // --- start ---------------------------------------------------------------------------------

  renderPending();
  if (state.outbox.length) showPanel("chat");
  // Not framed by the loader, or messages waiting to be sent: connect at once.
  if (!managed || state.outbox.length) start();
  tellHost("ready", { look: launcherLook() });
})();
