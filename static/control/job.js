// A job's page in the admin (templates/admin/organisers/job/job.html): while the job is queued or
// running, GET /api/admin/jobs/{id} about once a second (with the admin's session) moves the
// progress bar and says the stage in words. The worker is another process: no live event carries
// its progress, so the page asks. When the job ends, the page is fetched again and its job section
// (the report, every bad row, the file to download) replaces this one, as the server draws it.

const POLL_MS = 1000;
const RETRY_MS = 3000; // after a failed request: the server restarting, the network gone a moment
const ENDED = new Set(["done", "failed"]);
const STATUSES = { queued: "Queued", running: "Running", done: "Done", failed: "Failed" };

export function stageText(job) {
  if (job.status === "queued") return "Waiting for a worker to take it.";
  if (job.status === "failed") return `Failed at ${job.progress}%.`;
  return job.stage || STATUSES[job.status] || job.status;
}

function field(section, name) {
  return section.querySelector(`[data-field="${name}"]`);
}

function draw(section, job) {
  const bar = section.querySelector("progress");
  bar.value = job.progress;
  bar.textContent = `${job.progress}%`;
  field(section, "percent").textContent = `${job.progress}%`;
  const stage = field(section, "stage");
  const words = stageText(job);
  if (stage.textContent !== words) stage.textContent = words; // role=status: said when it changes
  field(section, "status").textContent = STATUSES[job.status] || job.status;
  section.dataset.status = job.status;
}

async function showReport(section) {
  // The report as the server renders it for the ended job: one way of drawing it, not two.
  const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
  if (!response.ok) throw new Error(`the page answered ${response.status}`);
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("job");
  if (!fresh) throw new Error("the page has no job");
  section.replaceWith(document.adoptNode(fresh));
  watchLogins(fresh);
  fresh.querySelector("#job-report h3")?.focus();
}

function watchLogins(section) {
  // The logins sheet downloads once: after the click, the link says so instead of offering it again.
  const link = section.querySelector('[data-role="logins"]');
  link?.addEventListener("click", () => {
    setTimeout(() => {
      const said = document.createElement("span");
      said.textContent = "Downloaded: the logins sheet downloads once.";
      link.replaceWith(said);
    }, 0);
  });
}

function say(section, words) {
  field(section, "stage").textContent = words;
}

async function poll(section) {
  let response;
  try {
    response = await fetch(section.dataset.poll, { headers: { Accept: "application/json" } });
  } catch {
    say(section, "The server does not answer; trying again…");
    setTimeout(() => poll(section), RETRY_MS);
    return;
  }
  if (response.status === 401 || response.status === 403) {
    say(section, "You are signed out: reload the page to sign in again. The job goes on.");
    return;
  }
  if (response.status === 404) {
    say(section, "This job is gone.");
    return;
  }
  if (!response.ok) {
    setTimeout(() => poll(section), RETRY_MS);
    return;
  }
  const job = await response.json();
  draw(section, job);
  if (!ENDED.has(job.status)) {
    setTimeout(() => poll(section), POLL_MS);
    return;
  }
  try {
    await showReport(section);
  } catch {
    say(section, `${stageText(job)} Reload the page to see the report.`);
  }
}

const section = document.getElementById("job");
if (section) {
  watchLogins(section);
  if (!ENDED.has(section.dataset.status)) setTimeout(() => poll(section), POLL_MS);
}
