// The pages' one stylesheet and one script, served by usergen itself (no CDN, no build step).
// The pages work without the script: it only keeps /jobs and /jobs/<id> live (server-sent events).
// The generate form is checked in the browser by its input's own min, max, step and required.

export const STYLESHEET = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d3557;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;opacity:.85}header a:hover,header a[aria-current]{opacity:1;text-decoration:underline}
header strong{font-size:1.1rem;margin-right:1rem}
main{max-width:1100px;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.4rem;margin:.2rem 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e6}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#eef1f5;font-weight:600}
.flash{background:#e6f4ea;border:1px solid #a8d5b5;padding:.7rem 1rem;margin-bottom:1rem}
.error{color:#a4161a}.field-error{color:#a4161a;margin:.3rem 0}
.cards{display:flex;gap:.8rem;flex-wrap:wrap;margin-bottom:1rem}
.card{background:#fff;border:1px solid #dde1e6;padding:.6rem .9rem;min-width:8rem}
.card b{display:block;font-size:1.3rem}
progress{width:9rem;height:.9rem}
form.inline{display:inline}
button{font:inherit;padding:.3rem .8rem;border:1px solid #1d3557;background:#1d3557;color:#fff;border-radius:3px;cursor:pointer}
button.secondary{background:#fff;color:#1d3557}
input,select{font:inherit;padding:.3rem .4rem}
pre{background:#fff;border:1px solid #dde1e6;padding:.6rem;overflow:auto;white-space:pre-wrap;word-break:break-word}
nav.pages{margin:1rem 0;display:flex;gap:1rem;align-items:center}
.muted{color:#5c6670}
.state-failed{color:#a4161a}.state-succeeded{color:#2b7a3d}.state-running{color:#1d4ed8}
`;

export const SCRIPT = `
(() => {
  // Live jobs: the server pushes the state and progress of the jobs on this page.
  const live = document.querySelector('[data-live]');
  if (!live || !window.EventSource) return;
  const source = new EventSource(live.getAttribute('data-live'));
  source.addEventListener('jobs', (event) => {
    const update = JSON.parse(event.data);
    for (const [state, count] of Object.entries(update.counts || {})) {
      const cell = document.querySelector('[data-count="' + state + '"]');
      if (cell) cell.textContent = Number(count).toLocaleString('en-US');
    }
    for (const job of update.jobs) {
      for (const row of document.querySelectorAll('[data-job="' + job.id + '"]')) {
        const state = row.querySelector('[data-field=state]');
        if (state) { state.textContent = job.state; state.className = 'state-' + job.state; }
        const bar = row.querySelector('progress');
        if (bar && job.progress_total !== null) { bar.max = job.progress_total; bar.value = job.progress_current || 0; }
        const text = row.querySelector('[data-field=progress]');
        if (text) text.textContent = job.progress_total === null ? '' : (job.progress_current || 0) + '/' + job.progress_total;
        const attempts = row.querySelector('[data-field=attempts]');
        if (attempts) attempts.textContent = String(job.attempts);
      }
    }
  });
})();
`;
