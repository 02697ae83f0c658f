// The widget manager typesets widget labels with the MathJax 2 call
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the site loads MathJax 3, which has no Hub, so
// the call throws. Give MathJax 3 a Hub whose Queue typesets those elements, one pass at a time.
// MathJax (a deferred script) has replaced its configuration object by DOMContentLoaded, and the widget
// manager renders only after that.
document.addEventListener("DOMContentLoaded", function () {
  var mathjax = window.MathJax;
  if (!mathjax || !mathjax.startup || mathjax.Hub) return;
  var typesetting = mathjax.startup.promise;
  mathjax.Hub = {
    Queue: function () {
      Array.prototype.forEach.call(arguments, function (command) {
        if (Array.isArray(command) && command[0] === "Typeset") {
          typesetting = typesetting.then(function () { return mathjax.typesetPromise([command[2]]); });
        }
      });
    },
  };
});
