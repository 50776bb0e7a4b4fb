// The print view opens the browser's print dialog once it has laid out; the button
// is for a second copy or a dialog that was closed.
"use strict";

(() => {
  const again = document.getElementById("print-now");
  if (again) { again.addEventListener("click", () => window.print()); }
  window.addEventListener("load", () => window.print(), { once: true });
})();
