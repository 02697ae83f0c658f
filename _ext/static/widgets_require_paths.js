// The widget manager (embed-amd.js) defines its AMD modules by name, and each module loads its icon
// fonts from the folder of the URL that require.js derives for that name, relative to the page's own
// folder (so 404s on every page). Map each name to a file in the site's copy of the manager, so that
// every module finds the fonts next to embed-amd.js.
(function () {
  var managerDir = document.currentScript.src.replace(/_static\/[^/]*$/, "vendor/html-manager/");
  var modules = ["base", "base7", "controls", "controls7", "html-manager", "html-manager/dist/libembed-amd"];
  var paths = {};
  modules.forEach(function (name) {
    paths["@jupyter-widgets/" + name] = managerDir + name.split("/").pop();
  });
  require.config({ paths: paths });
})();
