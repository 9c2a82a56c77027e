/* The experts' service worker (static/experts/push.js registers it): shows a Web Push from
 * the chat server and opens the dashboard when it is clicked. The payload carries no
 * message text: {"title", "url", "tag"} (docs/protocol.md, "Web Push to experts"). */
"use strict";

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var title = typeof data.title === "string" ? data.title : "Community experts";
  var url = typeof data.url === "string" && data.url.charAt(0) === "/" ? data.url : "/dashboard/";
  event.waitUntil(self.registration.showNotification(title, {
    tag: typeof data.tag === "string" ? data.tag : "chat",
    renotify: true,
    data: { url: url }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL(event.notification.data && event.notification.data.url || "/dashboard/", self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url.split("#")[0] === url && "focus" in windows[i]) return windows[i].focus();
    }
    return self.clients.openWindow(url);
  }));
});
