// A JavaScript module: it only runs when served as text/javascript.
const status = document.getElementById("status");
status.textContent = "The JavaScript module ran.";
status.classList.add("ran");
