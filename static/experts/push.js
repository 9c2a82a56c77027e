/* The dashboard's "Notify me" switch: Web Push when no dashboard is open (docs/faces.md).
 * Shown only when the server has VAPID keys and the browser has service workers and push.
 * On: asks the browser's permission, subscribes with the server's public key, posts the
 * subscription to the server; off: unsubscribes and tells the server. */
(function () {
  "use strict";
  var box = document.getElementById("push-switch");
  if (!box) return;
  var input = box.querySelector("input");
  var status = document.getElementById("push-status");
  var key = box.getAttribute("data-vapid-public-key");
  var csrf = box.getAttribute("data-csrf");
  var subscribeUrl = box.getAttribute("data-subscribe-url");
  var unsubscribeUrl = box.getAttribute("data-unsubscribe-url");
  if (!key || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;

  function say(text) { status.textContent = text; }

  function keyBytes(b64url) {
    var padded = (b64url + "===".slice((b64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  // The worker's scope is /static/experts/, not this page (navigator.serviceWorker.ready would wait
  // for ever): a push needs only its registration, once its worker is active.
  var ready = navigator.serviceWorker.register(box.getAttribute("data-worker-url")).then(function (registration) {
    var worker = registration.installing || registration.waiting;
    if (registration.active || !worker) return registration;
    return new Promise(function (resolve) {
      worker.addEventListener("statechange", function () {
        if (worker.state === "activated") resolve(registration);
      });
    });
  });

  function turnOn() {
    return Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error(gettext("Notifications are blocked for this site in your browser."));
      return ready;
    }).then(function (registration) {
      return registration.pushManager.getSubscription().then(function (existing) {
        return existing || registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      });
    }).then(function (subscription) {
      return post(subscribeUrl, subscription.toJSON());
    });
  }

  function turnOff() {
    return ready.then(function (registration) { return registration.pushManager.getSubscription(); })
      .then(function (subscription) {
        if (!subscription) return null;
        var endpoint = subscription.endpoint;
        return subscription.unsubscribe().then(function () { return post(unsubscribeUrl, { endpoint: endpoint }); });
      });
  }

  input.addEventListener("change", function () {
    var on = input.checked;
    input.disabled = true;
    say(on ? gettext("Turning on…") : gettext("Turning off…"));
    (on ? turnOn() : turnOff()).then(function () {
      say(on ? gettext("On: this browser is notified while your dashboard is closed.") : gettext("Off."));
    }, function (error) {
      input.checked = !on;
      say(interpolate(on ? gettext("Could not turn it on: %(reason)s.") : gettext("Could not turn it off: %(reason)s."),
        { reason: error && error.message || gettext("error") }, true));
    }).then(function () { input.disabled = false; });
  });

  // Already subscribed in this browser: show it, and tell the server again (it drops gone subscriptions).
  // The switch waits for that answer: turned off meanwhile, the late re-subscribe would win.
  box.hidden = false;
  input.disabled = true;
  ready.then(function (registration) { return registration.pushManager.getSubscription(); }).then(function (subscription) {
    if (subscription && Notification.permission === "granted") {
      input.checked = true;
      return post(subscribeUrl, subscription.toJSON());
    }
  }).catch(function () { /* the switch stays as the browser says */ }).then(function () { input.disabled = false; });
})();
