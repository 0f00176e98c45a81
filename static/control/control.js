// The control room, live: the counts refresh every few seconds, and the overlay URLs copy with
// one click. The page works without this script (the counts are drawn by the server; the URLs
// can be selected by hand). No inline scripts or handlers: ready for a Content-Security-Policy.

import { groupThousands } from "../shared/format.js";

const REFRESH_MS = 5000;
const root = document.querySelector("[data-counts-url]");

function showStatus(text) {
  const status = root?.querySelector('[data-role="counts-status"]');
  if (status) status.textContent = text;
}

async function refreshCounts() {
  if (document.hidden) return; // a background tab asks nothing
  try {
    const response = await fetch(root.dataset.countsUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    // Signed out, the admin answers with its login page: not JSON.
    if (!response.ok || !(response.headers.get("Content-Type") || "").includes("application/json")) {
      throw new Error(`counts answered ${response.status}`);
    }
    const counts = await response.json();
    for (const element of root.querySelectorAll("[data-count]")) {
      const value = counts[element.dataset.count];
      if (value !== undefined && value !== null) element.textContent = groupThousands(value);
    }
    showStatus("");
  } catch {
    showStatus("The counts are not updating: check the connection, or sign in again.");
  }
}

async function copy(button) {
  const input = document.getElementById(button.dataset.copy);
  if (!input) return;
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    document.execCommand("copy"); // no clipboard API outside HTTPS: copy the selection
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}

for (const button of document.querySelectorAll("[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", () => copy(button));
}

if (root) {
  setInterval(refreshCounts, REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refreshCounts();
  });
}
