/* Pictures in chat, shared by the widget and the dashboard (docs/protocol.md, "Attachments").
 *
 * upload(): POST /attachments/ with the conversation and the file, reporting
 * progress; the caller then sends `message.send` with the answered id.
 * node(): a message's thumbnail, a link opening the full picture. The URLs
 * come from the server (signed, same origin); they are set as attributes only,
 * never as HTML. */
(function () {
  "use strict";
  var C = window.ChatCommon;
  var ACCEPT = "image/jpeg,image/png,image/webp,image/gif,image/heic,image/heif,.heic,.heif";

  function sameOrigin(url) {
    try { return new URL(url, location.href).origin === location.origin; } catch (e) { return false; }
  }

  /* options: conversation, file, headers ({name: value}), onProgress(percent). Resolves to the upload's
     answer, rejects with an Error whose message is the server's detail (or a sentence of ours). */
  function upload(options) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      var form = new FormData();
      form.append("conversation", options.conversation);
      form.append("file", options.file);
      xhr.open("POST", "/attachments/");
      Object.keys(options.headers || {}).forEach(function (name) { xhr.setRequestHeader(name, options.headers[name]); });
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable && options.onProgress) options.onProgress(Math.round(100 * event.loaded / event.total));
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: a proxy's page */ }
        if (xhr.status === 201 && body && body.id) resolve(body);
        else if (xhr.status === 413) reject(new Error((body && body.detail) || gettext("This picture is too large.")));
        else reject(new Error((body && body.detail) || interpolate(gettext("The picture could not be sent (%(status)s)."), { status: xhr.status }, true)));
      });
      xhr.addEventListener("error", function () { reject(new Error(gettext("The picture could not be sent: no connection."))); });
      xhr.send(form);
    });
  }

  function node(attachment) {
    var link = C.el("a", "msg-picture");
    if (!attachment || !sameOrigin(attachment.url) || !sameOrigin(attachment.thumbnail_url)) return link;
    link.href = attachment.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.title = gettext("Open the picture");
    var img = C.el("img");
    img.src = attachment.thumbnail_url;
    img.alt = "Picture (" + attachment.width + " × " + attachment.height + ")";
    img.loading = "lazy";
    // Reserve the thumbnail's box before it loads, so the list does not jump.
    var scale = Math.min(1, 240 / Math.max(attachment.width, attachment.height));
    img.width = Math.max(1, Math.round(attachment.width * scale));
    img.height = Math.max(1, Math.round(attachment.height * scale));
    link.appendChild(img);
    return link;
  }

  /* The image files among a paste's or a drop's items (the first one). */
  function firstImage(fileList) {
    for (var i = 0; i < (fileList ? fileList.length : 0); i++) {
      if (/^image\//.test(fileList[i].type) || /\.(heic|heif)$/i.test(fileList[i].name)) return fileList[i];
    }
    return null;
  }

  /* Wire an attach button, paste into ``textarea`` and drops on ``dropZone`` to ``onFile(file)``. */
  function wire(button, textarea, dropZone, onFile) {
    var input = document.createElement("input");
    input.type = "file";
    input.accept = ACCEPT;
    input.hidden = true;
    input.className = "picture-input";
    button.parentNode.appendChild(input);
    button.addEventListener("click", function () { input.value = ""; input.click(); });
    input.addEventListener("change", function () { if (input.files[0]) onFile(input.files[0]); });
    textarea.addEventListener("paste", function (event) {
      var file = firstImage(event.clipboardData && event.clipboardData.files);
      if (file) { event.preventDefault(); onFile(file); }
    });
    dropZone.addEventListener("dragover", function (event) { event.preventDefault(); });
    dropZone.addEventListener("drop", function (event) {
      var file = firstImage(event.dataTransfer && event.dataTransfer.files);
      if (file) { event.preventDefault(); onFile(file); }
    });
    return input;
  }

  window.ChatPictures = { upload: upload, node: node, wire: wire };
})();
