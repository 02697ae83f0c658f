// Accessibility fixes that need the rendered page.
//
// 0. Two buttons of the theme whose names differ from what they show: the search field (shows
//    "Search Ctrl+K", named "Search") takes its name from its text; the colour-mode button's icons, whose
//    titles are read as its text, are marked decorative (the button is named "Color mode").
//
// 1. Display equations wider than the text column are scaled down to fit it (to 60 % at the least); one
//    still too wide scrolls inside it (course.css), and such a scrolling box is made focusable, so that it
//    can be scrolled from the keyboard.
//
// 2. The gradient demos on the static site (rnn_demos/widgets.py draws them; the Jupyter
// widget manager renders them after the page loads, so this watches the page until they appear):
// - each demo is a group named by its title;
// - each slider handle is named by its visible label and says its value as the readout shows it, with its
//   unit ("50 steps"), not the position index the widget manager puts in aria-valuetext;
// - readouts beside sliders are read-only text;
// - a dropdown without a name is named by its label;
// - the stack of precomputed frames is a polite live region: when a control shows another frame, a
//   screen reader reads the new figure's alt text and summary.
(function () {
  "use strict";
  var DEMO = ".rnn-gradient-demo";
  var counter = 0;

  function idOf(element) {
    if (!element.id) element.id = "rnn-demo-label-" + (++counter);
    return element.id;
  }

  function syncValueText(handle, readout) {
    var text = readout.textContent.trim();
    if (text && handle.getAttribute("aria-valuetext") !== text) handle.setAttribute("aria-valuetext", text);
  }

  function fixSlider(slider) {
    var handle = slider.querySelector(".noUi-handle");
    var readout = slider.querySelector(".widget-readout");
    var label = slider.querySelector(".widget-label");
    if (!handle || handle.dataset.rnnAccessible) return;
    handle.dataset.rnnAccessible = "1";
    if (label) handle.setAttribute("aria-labelledby", idOf(label));
    if (!readout) return;
    readout.contentEditable = "false";
    readout.removeAttribute("tabindex");
    var sync = function () { syncValueText(handle, readout); };
    sync();
    new MutationObserver(sync).observe(handle, { attributes: true, attributeFilter: ["aria-valuenow", "aria-valuetext"] });
    new MutationObserver(sync).observe(readout, { childList: true, characterData: true, subtree: true });
  }

  function fixDropdown(dropdown) {
    var select = dropdown.querySelector("select");
    var label = dropdown.querySelector(".widget-label");
    if (select && label && !select.getAttribute("aria-labelledby") && !select.labels.length) {
      select.setAttribute("aria-labelledby", idOf(label));
    }
  }

  function fixDemo(demo) {
    var title = demo.querySelector(".widget-html-content");
    if (title && !demo.getAttribute("role")) {
      demo.setAttribute("role", "group");
      demo.setAttribute("aria-labelledby", idOf(title));
    }
    demo.querySelectorAll(".widget-slider").forEach(fixSlider);
    demo.querySelectorAll(".widget-dropdown").forEach(fixDropdown);
    var frames = demo.querySelector(".rnn-demo-frames");
    if (frames && !frames.getAttribute("aria-live")) frames.setAttribute("aria-live", "polite");
  }

  function fixAll() { document.querySelectorAll(DEMO).forEach(fixDemo); }

  // A display equation wider than the column is typeset smaller until it fits, down to MIN_MATH_SCALE of
  // its size; only one still too wide at that size scrolls.
  var MIN_MATH_SCALE = 0.6;

  // The typeset equation (MathJax's container, which may scroll itself) and how wide its content is.
  function typesetWidth(math) {
    var typeset = math.querySelector("mjx-container");
    return typeset ? Math.max(typeset.scrollWidth, math.scrollWidth) : math.scrollWidth;
  }

  function fitEquation(math) {
    var typeset = math.querySelector("mjx-container");
    if (!typeset) return;
    typeset.style.fontSize = "";
    var width = typesetWidth(math);
    if (width <= math.clientWidth + 1) return;
    var scale = Math.max(MIN_MATH_SCALE, Math.floor(100 * math.clientWidth / width) / 100);
    typeset.style.fontSize = Math.round(100 * scale) + "%";
  }

  function markScrollingEquations() {
    document.querySelectorAll("div.math").forEach(function (math) {
      fitEquation(math);
      if (typesetWidth(math) > math.clientWidth + 1) math.setAttribute("tabindex", "0");
      else if (math.getAttribute("tabindex") === "0") math.removeAttribute("tabindex");
    });
  }

  window.addEventListener("load", function () {
    var startup = window.MathJax && window.MathJax.startup;
    (startup && startup.promise ? startup.promise : Promise.resolve()).then(markScrollingEquations);
  });
  window.addEventListener("resize", markScrollingEquations);

  function fixThemeButtons() {
    document.querySelectorAll(".search-button-field[aria-label]").forEach(function (button) {
      if (button.textContent.trim()) button.removeAttribute("aria-label");
    });
    document.querySelectorAll(".theme-switch-button i[title]").forEach(function (icon) {
      icon.setAttribute("aria-hidden", "true");
      icon.removeAttribute("title");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    fixThemeButtons();
    fixAll();
    new MutationObserver(fixAll).observe(document.body, { childList: true, subtree: true });
  });
})();
