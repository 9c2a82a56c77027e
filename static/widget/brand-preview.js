/* The Brand admin's live preview (visitors/templates/visitors/admin/look_preview.html): the launcher and
 * the widget's header redrawn as the colour, logo, icon, position, greeting and name change, with the
 * contrast the server will check (chatplatform/look.py) shown before saving. Text is set with
 * textContent only. */
(function () {
  "use strict";
  // The preview's own words, in one place.
  // gettext: the admin page loads our catalogue (/jsi18n/<lang>/, BrandAdmin.media); common.js falls back to English.
  var TEXT = {
    ok: function (white, ratio) {
      return interpolate(white ? gettext("White text on this colour: contrast %(ratio)s (at least 4.5:1 is needed).")
        : gettext("Dark text on this colour: contrast %(ratio)s (at least 4.5:1 is needed)."), { ratio: ratio }, true);
    },
    refused: function (onWhite, onDark) {
      return interpolate(gettext("Refused on saving: white text on this colour has a contrast of %(on_white)s, dark text %(on_dark)s; at least 4.50:1 is needed (WCAG AA)."),
        { on_white: onWhite, on_dark: onDark }, true);
    },
    invalid: gettext("Give the colour as #rrggbb.")
  };

  function start() {
    var preview = document.getElementById("look-preview");
    var C = window.ChatCommon;
    if (!preview || !C) return;
    function field(name) { return document.getElementById("id_" + name); }
    function q(selector) { return preview.querySelector(selector); }
    var fileLogo = null; // a data: URL of a logo chosen but not saved yet
    var savedLogo = q(".lp-logo").getAttribute("src");

    function paint(node, background, color) {
      node.style.background = background;
      node.style.color = color;
    }

    function update() {
      var color = field("color") ? field("color").value.trim().toLowerCase() : "";
      var p = C.palette(color);
      var line = q(".lp-contrast");
      if (!p) {
        line.textContent = TEXT.invalid;
        line.classList.add("lp-refused");
      } else {
        [q(".lp-header"), q(".lp-bubble"), q(".lp-button"), q(".lp-launcher")].forEach(function (node) { paint(node, color, p.text); });
        paint(q(".lp-initials"), p.text, color);
        line.classList.toggle("lp-refused", !p.ok);
        line.textContent = p.ok
          ? TEXT.ok(p.text === "#ffffff", C.formatRatio(p.ratio))
          : TEXT.refused(C.formatRatio(p.onWhite), C.formatRatio(p.onDark));
      }
      var name = field("name") ? field("name").value : "";
      q(".lp-name").textContent = name;
      q(".lp-initials").textContent = C.initials(name);
      var greeting = field("greeting") ? field("greeting").value.trim() : "";
      q(".lp-greeting").textContent = greeting;
      q(".lp-greeting").hidden = !greeting;
      var icon = field("launcher_icon") ? field("launcher_icon").value : "";
      Array.prototype.forEach.call(preview.querySelectorAll(".lp-icon"), function (svg) {
        svg.style.display = svg.getAttribute("data-icon") === icon ? "" : "none";
      });
      var position = field("launcher_position") ? field("launcher_position").value : "bottom-right";
      q(".lp-page").classList.toggle("lp-bottom-left", position === "bottom-left");
      q(".lp-page").classList.toggle("lp-bottom-right", position !== "bottom-left");
      var cleared = document.getElementById("logo-clear_id");
      var logo = fileLogo || (cleared && cleared.checked ? null : savedLogo);
      if (logo) q(".lp-logo").setAttribute("src", logo);
      q(".lp-logo").hidden = !logo;
      q(".lp-initials").hidden = !!logo;
    }

    var logoInput = field("logo");
    if (logoInput) {
      logoInput.addEventListener("change", function () {
        var file = logoInput.files && logoInput.files[0];
        fileLogo = null;
        // Only raster images are previewed (an SVG is refused on saving anyway).
        if (!file || !/^image\/(png|jpeg|webp|gif)$/.test(file.type)) { update(); return; }
        var reader = new FileReader();
        reader.onload = function () { fileLogo = String(reader.result); update(); };
        reader.readAsDataURL(file);
      });
    }
    ["color", "name", "greeting", "launcher_icon", "launcher_position"].forEach(function (name) {
      var input = field(name);
      if (!input) return;
      input.addEventListener("input", update);
      input.addEventListener("change", update);
    });
    var clear = document.getElementById("logo-clear_id");
    if (clear) clear.addEventListener("change", update);
    update();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
