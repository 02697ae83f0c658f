// The widget manager (embed-amd.js) loads its icon fonts from the folder of its AMD module URL, which
// require.js derives from the page's own folder; point that module path at the site's copy instead.
(function () {
  var vendorDir = document.currentScript.src.replace(/_static\/[^/]*$/, "vendor/");
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": vendorDir + "html-manager" } });
})();
