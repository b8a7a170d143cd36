// The applicant's receipt: a print button, shown only where scripts run (without them the
// browser's own print command prints the same page).
"use strict";
(() => {
  function init() {
    document.querySelectorAll("[data-print]").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", () => window.print());
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
