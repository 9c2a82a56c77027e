/* The community managers' live console on the moderation overview
 * (/admin/moderation/overview/): follows /ws/v1/moderation/, shows new alerts
 * and report tickets as they come, acknowledges alerts in place, keeps the
 * counts true (the server sends them after every change) and says when it is
 * reconnecting. Sound and desktop notifications only when the manager turns
 * them on (remembered in this browser). Text from people goes in with
 * textContent only. */
(function () {
  "use strict";
  var C = window.ChatCommon;
  var root = document.getElementById("moderation-overview");
  if (!C || !root) return;
  var el = C.el;
  var kinds = JSON.parse(document.getElementById("alert-kinds").textContent);
  var timeZone = root.getAttribute("data-time-zone") || "UTC";
  var $ = function (id) { return document.getElementById(id); };
  var status = $("console-status");
  var sound = $("console-sound");
  var notify = $("console-notify");
  var STORE = "moderation-console:";

  /* One date format everywhere in the admin: 2026-12-06 13:05, in the reader's time zone (the page's, from the tz cookie). */
  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: timeZone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(d).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }

  function remembered(box, key) {
    try { box.checked = localStorage.getItem(STORE + key) === "1"; } catch (e) { /* private mode */ }
    box.addEventListener("change", function () {
      try { localStorage.setItem(STORE + key, box.checked ? "1" : "0"); } catch (e) { /* private mode */ }
    });
  }
  remembered(sound, "sound");
  remembered(notify, "notify");
  if (!("Notification" in window)) { notify.disabled = true; notify.checked = false; }
  notify.addEventListener("change", function () {
    if (notify.checked && window.Notification && Notification.permission !== "granted") {
      Notification.requestPermission().then(function (answer) {
        if (answer !== "granted") {
          notify.checked = false;
          try { localStorage.setItem(STORE + "notify", "0"); } catch (e) { /* private mode */ }
        }
      });
    }
  });

  function announce(title, body) {
    if (sound.checked) C.beep();
    if (notify.checked && window.Notification && Notification.permission === "granted") {
      try { new Notification(title, { body: body, tag: title }); } catch (e) { /* not allowed here */ }
    }
  }

  function setCounts(frame) {
    if (typeof frame.open_alerts === "number") $("count-alerts").textContent = frame.open_alerts;
    if (typeof frame.open_reports === "number") $("count-reports").textContent = frame.open_reports;
    if (typeof frame.active_blocks === "number") $("count-blocks").textContent = frame.active_blocks;
    document.title = document.title.replace(/^\(\d+\) /, "");
    var open = Number($("count-alerts").textContent);
    if (open > 0) document.title = "(" + open + ") " + document.title;
  }

  function urlFor(attr, id) {
    var template = root.getAttribute(attr);
    return template.replace(/0\/change\/$/, encodeURIComponent(id) + "/change/")
      .replace(/00000000-0000-0000-0000-000000000000/, encodeURIComponent(id));
  }

  function alertRow(alert) {
    var row = el("tr");
    row.setAttribute("data-alert", alert.id);
    var cell = el("td");
    var link = el("a", null, when(alert.created_at));
    link.href = urlFor("data-alert-url", alert.id);
    cell.appendChild(link);
    row.appendChild(cell);
    row.appendChild(el("td", null, alert.brand));
    row.appendChild(el("td", null, kinds[alert.kind] || alert.kind));
    var note = el("td", null, alert.note.length > 120 ? alert.note.slice(0, 119) + "…" : alert.note);
    if (alert.conversation) {
      var conv = el("a", "console-conversation", "conversation");
      conv.href = urlFor("data-conversation-url", alert.conversation);
      note.appendChild(document.createTextNode(" "));
      note.appendChild(conv);
    }
    row.appendChild(note);
    row.appendChild(el("td", null, alert.raised_by));
    row.appendChild(el("td", "alert-status", alert.status));
    row.appendChild(el("td", "alert-actions"));
    fillActions(row, alert);
    return row;
  }

  function fillActions(row, alert) {
    var cell = row.querySelector(".alert-actions");
    cell.textContent = "";
    if (alert.status !== "open") return;
    var button = el("button", "button", gettext("Acknowledge"));
    button.type = "button";
    button.addEventListener("click", function () {
      if (socket.send({ type: "alert.ack", alert: alert.id })) button.disabled = true;
    });
    cell.appendChild(button);
  }

  function showAlertsTable() {
    var any = $("alerts-body").children.length > 0;
    $("alerts-table").hidden = !any;
    $("alerts-empty").hidden = any;
  }

  function renderAlerts(alerts) {
    var body = $("alerts-body");
    body.textContent = "";
    alerts.forEach(function (alert) { body.appendChild(alertRow(alert)); });
    showAlertsTable();
  }

  function alertUpdated(alert) {
    var row = $("alerts-body").querySelector("tr[data-alert='" + CSS.escape(alert.id) + "']");
    if (!row) return;
    if (alert.status === "closed") row.remove();
    else {
      row.querySelector(".alert-status").textContent = alert.status;
      fillActions(row, alert);
    }
    showAlertsTable();
  }

  function alertCreated(alert) {
    if ($("alerts-body").querySelector("tr[data-alert='" + CSS.escape(alert.id) + "']")) return;
    var row = alertRow(alert);
    row.classList.add("console-new");
    $("alerts-body").insertBefore(row, $("alerts-body").firstChild);
    showAlertsTable();
    announce(interpolate(gettext("New alert: %(kind)s"), { kind: kinds[alert.kind] || alert.kind }, true), "[" + alert.brand + "] " + alert.note);
  }

  function reportCreated(report) {
    var row = el("tr", "console-new");
    var cell = el("td");
    var link = el("a", null, report.reference);
    link.href = root.getAttribute("data-ticket-list-url") + "?q=" + encodeURIComponent(report.reference);
    cell.appendChild(link);
    row.appendChild(cell);
    row.appendChild(el("td", null, when(report.created_at)));
    row.appendChild(el("td", null, report.brand));
    row.appendChild(el("td", null, report.category));
    row.appendChild(el("td", null, report.status));
    var body = $("tickets-body");
    body.insertBefore(row, body.firstChild);
    $("tickets-table").hidden = false;
    var day = $("count-reports-day");
    if (day) day.textContent = Number(day.textContent) + 1;
    announce(interpolate(gettext("New report %(reference)s"), { reference: report.reference }, true), "[" + report.brand + "] " + report.category);
  }

  var STATES = {
    connecting: gettext("Connecting to the live feed…"),
    open: gettext("Live: new alerts and reports appear here as they come."),
    offline: gettext("Offline: waiting for the network…")
  };

  function onState(state, detail) {
    status.setAttribute("data-state", state);
    if (state === "reconnecting") status.textContent = interpolate(gettext("Connection lost: reconnecting in %(seconds)s s…"), { seconds: detail }, true);
    else if (state === "stopped") status.textContent = detail === 4403
      ? gettext("The live feed is not open to you (no permission).") : gettext("Signed out: sign in again to follow the live feed.");
    else status.textContent = STATES[state] || state;
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "welcome":
        socket.healthy();
        renderAlerts(frame.open_alerts || []);
        setCounts({ open_alerts: frame.open_alert_count, open_reports: frame.open_reports, active_blocks: frame.active_blocks });
        break;
      case "counts": setCounts(frame); break;
      case "alert.created": alertCreated(frame.alert); break;
      case "alert.updated": alertUpdated(frame.alert); break;
      case "report.created": reportCreated(frame.report); break;
      case "error":
        status.setAttribute("data-state", "error");
        status.textContent = frame.detail;
        break;
      default: break;
    }
  }

  var socket = new C.ReconnectingSocket(C.socketUrl(root.getAttribute("data-socket")), {
    onOpen: function () {}, onFrame: onFrame, onState: onState, stopCodes: [4401, 4403]
  });
  socket.connect();
})();
