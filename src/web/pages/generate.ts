import { html } from 'hono/html';
import { MAX_TOTAL, MIN_TOTAL } from '../../tasks/generate-users.js';
import { page, type Html } from '../layout.js';

/** The original setup's message, shown on /users after a valid form. */
export const GENERATING = 'We are generating your random users! Wait a moment and refresh this page.';

export interface GenerateForm {
  /** As typed, kept when refused. */
  value: string;
  error?: string | undefined;
  csrf: string;
  readOnly: boolean;
}

/** `/generate`: the form; a refused value is shown again with its error next to the field. */
export function generateView(form: GenerateForm): Html {
  const body = form.readOnly
    ? html`<h1>Generate random users</h1><p>This server is read-only: users are generated with <code>usergen generate</code>.</p>`
    : html`<h1>Generate random users</h1>
<form method="post" action="/generate">
<input type="hidden" name="_csrf" value="${form.csrf}">
<p><label for="total">How many users (${MIN_TOTAL} to ${MAX_TOTAL})</label><br>
<input id="total" name="total" type="number" min="${MIN_TOTAL}" max="${MAX_TOTAL}" step="1" required value="${form.value}"${
        form.error ? html` aria-invalid="true" aria-describedby="total-error"` : ''
      }></p>
${form.error ? html`<p id="total-error" class="field-error">${form.error}</p>` : ''}
<p><button type="submit">Generate</button></p>
</form>`;
  return page({ title: 'Generate', path: '/generate', readOnly: form.readOnly, body });
}

/** The form's rule, checked again on the server: the total, or why not. */
export function parseTotal(value: string): { total: number } | { error: string } {
  const text = value.trim();
  if (text === '') return { error: `Enter how many users to generate, from ${MIN_TOTAL} to ${MAX_TOTAL}.` };
  const total = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(total) || total < MIN_TOTAL || total > MAX_TOTAL) {
    return { error: `Enter a whole number from ${MIN_TOTAL} to ${MAX_TOTAL}.` };
  }
  return { total };
}
