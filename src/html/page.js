(function () {
  "use strict";
  // Opens every <details> around the element the address names, so that a link to a
  // node deep in a collapsed tree shows it.
  function reveal(id) {
    var target = document.getElementById(id);
    if (!target) { return; }
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    var marked = document.querySelectorAll(".target");
    for (var i = 0; i < marked.length; i++) { marked[i].classList.remove("target"); }
    target.classList.add("target");
    target.scrollIntoView({ block: "center" });
  }
  function fromAddress() {
    if (location.hash.length > 1) { reveal(decodeURIComponent(location.hash.slice(1))); }
  }
  var buttons = document.querySelectorAll("button[data-open]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function (event) {
      var open = event.currentTarget.getAttribute("data-open") === "all";
      var scope = document.getElementById(event.currentTarget.getAttribute("data-scope"));
      var all = scope ? scope.querySelectorAll("details") : [];
      for (var j = 0; j < all.length; j++) { all[j].open = open; }
    });
  }
  window.addEventListener("hashchange", fromAddress);
  fromAddress();
})();
