/**
 * The web UI in a real browser (Debian's Chromium, driven by playwright-core) against the
 * real split stack: the page from todo-read, reads from todo-read's cache, writes through
 * todo-write, everything through the load-balancer stand-in.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startTestStack, waitUntil } from '@taskoverflow/stack/testing';
import { chromium, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { POLL_INTERVAL_MS } from '../src/live-feed.js';

const CHROMIUM = '/usr/bin/chromium';
const packageDir = fileURLToPath(new URL('../', import.meta.url));
/** Git-ignored, like the load tests' results; docs/web-ui.png (in the README) is a copy of it. */
const SCREENSHOT = fileURLToPath(new URL('../../../loadtests/results/web-ui.png', import.meta.url));

/** Every page runs as a browser in Brisbane would, so that local times are known. */
const BROWSER_CONTEXT = { locale: 'en-AU', timezoneId: 'Australia/Brisbane', viewport: { width: 960, height: 900 } };

if (!existsSync(CHROMIUM)) {
  throw new Error(
    `${CHROMIUM} not found: the web UI's browser tests need Debian's Chromium (apt-get install -y chromium)`,
  );
}
assertBuildIsCurrent();

const stack = await startTestStack(t);
// Playwright gives each launch a fresh temporary profile (--user-data-dir) and removes it on close.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
t.teardown(() => browser.close());

/** The services serve packages/web-ui/dist: a build older than the sources would test old code. */
function assertBuildIsCurrent(): void {
  const built = statSync(join(packageDir, 'dist', 'index.html'), { throwIfNoEntry: false });
  const sources = [
    'index.html',
    'vite.config.ts',
    ...readdirSync(join(packageDir, 'src'), { recursive: true, encoding: 'utf8' }).map((file) => join('src', file)),
  ];
  const newer = sources.filter((file) => !built || statSync(join(packageDir, file)).mtimeMs > built.mtimeMs);
  if (newer.length > 0) {
    const state = built ? `older than ${newer.join(', ')}` : 'missing';
    throw new Error(
      `packages/web-ui/dist is ${state}: run \`pnpm --filter @taskoverflow/web-ui build\` (pnpm install does it too)`,
    );
  }
}

interface ApiTodo {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  deadline_at: string | null;
}

/** The API through the load balancer, as another client than the page. */
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, stack.url), {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

async function createTodo(fields: {
  title: string;
  description?: string;
  deadline_at?: string;
  completed?: boolean;
}): Promise<ApiTodo> {
  const { status, body } = await api('POST', '/api/v1/todos', fields);
  if (status !== 201) throw new Error(`creating ${fields.title} answered ${status}: ${JSON.stringify(body)}`);
  return body as ApiTodo;
}

/** Every todo, as the API lists them. */
async function listTodos(): Promise<ApiTodo[]> {
  return (await api('GET', '/api/v1/todos')).body as ApiTodo[];
}

async function deleteAllTodos(): Promise<void> {
  for (const todo of await listTodos()) await api('DELETE', `/api/v1/todos/${todo.id}`);
}

/** `hoursFromNow` as an ISO instant. */
function deadlineIn(hoursFromNow: number): string {
  return new Date(Date.now() + hoursFromNow * 3_600_000).toISOString();
}

/** Resolves once `check` holds (polled every 50 ms); fails after `timeoutMs` saying what it waited for. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  await waitUntil(what, async () => (await check()) || undefined, timeoutMs, 50);
}

interface PageOptions {
  /** Where to open the page. Default: `/`. */
  path?: string;
  /** A console error the test provokes on purpose. */
  expectedConsoleError?: RegExp;
}

/**
 * Opens the page in a context of its own, waits for the first list, runs `body`, and checks
 * that nothing went wrong on the way: no uncaught error, no console error (CSP violations
 * are reported there), no request to anywhere but the page's origin.
 */
async function withPage(t: Test, body: (page: Page) => Promise<void>, options: PageOptions = {}): Promise<void> {
  const context = await browser.newContext(BROWSER_CONTEXT);
  context.setDefaultTimeout(10_000);
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !options.expectedConsoleError?.test(message.text()))
        problems.push(`console: ${message.text()}`);
    });
    page.on('request', (request) => {
      if (new URL(request.url()).origin !== new URL(stack.url).origin)
        problems.push(`request off the origin: ${request.url()}`);
    });
    await page.goto(new URL(options.path ?? '/', stack.url).href);
    await page.locator('#todos[aria-busy="false"]').waitFor({ state: 'attached' });
    await body(page);
    t.strictSame(problems, [], 'no uncaught error, console error or request off the origin');
  } finally {
    await context.close();
  }
}

const titleInput = (page: Page) => page.getByRole('textbox', { name: 'Title', exact: true });
const row = (page: Page, title: string) =>
  page.getByRole('listitem').filter({ has: page.locator('.todo-title').getByText(title, { exact: true }) });
const checkbox = (page: Page, title: string) =>
  page.getByRole('checkbox', { name: `Completed: ${title}`, exact: true });
const editButton = (page: Page, title: string) =>
  page.getByRole('button', { name: `Edit title of ${title}`, exact: true });
const deleteButton = (page: Page, title: string) => page.getByRole('button', { name: `Delete ${title}`, exact: true });
const text = async (page: Page, selector: string) => (await page.locator(selector).textContent())?.trim() ?? '';
/** The focused element's accessible-name source and id, to say where the focus is. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const element = document.activeElement;
    return { id: element?.id ?? '', label: element?.getAttribute('aria-label') ?? '', tag: element?.tagName ?? '' };
  });

/** One todo by id; its body is an ApiTodo when the status is 200. */
async function fetchTodo(id: number): Promise<{ status: number; body: ApiTodo }> {
  const { status, body } = await api('GET', `/api/v1/todos/${id}`);
  return { status, body: body as ApiTodo };
}

async function titles(page: Page): Promise<string[]> {
  return page.locator('#todos .todo-title').allTextContents();
}

t.test('the page says it is loading, then that the list is empty; it is live', async (t) => {
  await deleteAllTodos();
  await withPage(t, async (page) => {
    let answerList!: () => void;
    const listMayBeAnswered = new Promise<void>((resolve) => (answerList = resolve));
    await page.route('**/api/v1/todos', async (route) => {
      await listMayBeAnswered;
      await route.continue();
    });
    await page.reload();
    t.equal(await text(page, '#count'), 'Loading todos…', 'until the first list arrives');
    t.equal(await page.locator('#todos').getAttribute('aria-busy'), 'true');
    answerList();

    await eventually('the count is shown', async () => (await text(page, '#count')) === '0 todos');
    t.match(await text(page, '#empty'), /No todos yet/);
    t.ok(await page.locator('#empty').isVisible(), 'the empty state is shown');
    await eventually('the live status says Live', async () => (await text(page, '#live-status')) === 'Live');
  });
});

t.test('add with the mouse: title, description and a deadline in local time', async (t) => {
  await withPage(t, async (page) => {
    await titleInput(page).fill('Mouse-added todo');
    await page.getByLabel('Description').fill('typed, then clicked');
    await page.getByLabel('Deadline').fill('2030-01-02T09:30');
    await page.getByRole('button', { name: 'Add todo' }).click();

    const added = row(page, 'Mouse-added todo');
    await added.waitFor();
    t.match(await added.textContent(), /typed, then clicked/, 'the description is shown');
    const deadline = (await added.locator('.todo-deadline').textContent()) ?? '';
    t.match(deadline, /^due in \d+ years? · /, `the deadline is relative (${deadline})`);
    t.match(deadline, /2 Jan 2030, 9:30/, 'and absolute, in the browser’s time zone');
    t.equal(await titleInput(page).inputValue(), '', 'the form is cleared');
    t.equal((await focused(page)).id, 'new-title', 'the focus is back in the title');
    t.equal(await text(page, '#announcer'), 'Added “Mouse-added todo”.');

    const todos = await listTodos();
    const stored = todos.find((todo) => todo.title === 'Mouse-added todo');
    t.equal(
      stored?.deadline_at,
      '2030-01-01T23:30:00',
      '9:30 in Brisbane (UTC+10) is stored as 23:30 UTC the day before',
    );
    t.equal(stored?.description, 'typed, then clicked');
    t.equal(
      await text(page, '#count'),
      `${todos.length} ${todos.length === 1 ? 'todo' : 'todos'}`,
      'the count follows',
    );
  });
});

t.test('keyboard only: Tab to the title, Enter adds, Space completes, Enter edits and deletes', async (t) => {
  await createTodo({ title: 'Neighbour of the keyboard todo' });
  await withPage(t, async (page) => {
    await page.keyboard.press('Tab');
    t.equal((await focused(page)).id, 'new-title', 'the first Tab reaches the title');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    t.not(outline, 'none', 'the focused field shows a focus ring');

    await page.keyboard.type('Keyboard todo');
    await page.keyboard.press('Enter');
    await row(page, 'Keyboard todo').waitFor();
    t.equal((await focused(page)).id, 'new-title', 'the focus stays in the title for the next todo');
    t.equal(await titleInput(page).inputValue(), '');
    const [id] = (await listTodos()).filter((todo) => todo.title === 'Keyboard todo').map((todo) => todo.id);

    // Tab through the form and the filters to the new todo, the first in the list.
    for (let presses = 0; (await focused(page)).label !== 'Completed: Keyboard todo'; presses += 1) {
      if (presses === 40) throw new Error('40 Tabs did not reach the new todo’s checkbox');
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Space');
    await eventually('Space marks it completed', async () => (await fetchTodo(id!)).body.completed);
    t.ok(await checkbox(page, 'Keyboard todo').isChecked(), 'the box is ticked');

    await page.keyboard.press('Tab');
    t.equal((await focused(page)).label, 'Edit title of Keyboard todo');
    await page.keyboard.press('Enter');
    t.equal((await focused(page)).id, `todo-${id}-new-title`, 'Enter on Edit puts the focus in the title field');
    await page.keyboard.type('Keyboard todo, renamed'); // the old title is selected, so it is replaced
    await page.keyboard.press('Enter');
    await eventually(
      'Enter saves the title',
      async () => (await fetchTodo(id!)).body.title === 'Keyboard todo, renamed',
    );
    await row(page, 'Keyboard todo, renamed').waitFor();
    t.equal((await focused(page)).label, 'Edit title of Keyboard todo, renamed', 'the focus returns to Edit');

    await page.keyboard.press('Tab');
    t.equal((await focused(page)).label, 'Delete Keyboard todo, renamed');
    await page.keyboard.press('Enter');
    await row(page, 'Keyboard todo, renamed').waitFor({ state: 'detached' });
    t.equal((await fetchTodo(id!)).status, 404, 'deleted');
    t.equal(
      (await focused(page)).label,
      'Completed: Neighbour of the keyboard todo',
      'the focus moves to the todo that took its place',
    );
  });
});

t.test('complete and reopen with the mouse', async (t) => {
  const todo = await createTodo({ title: 'Toggle me' });
  await withPage(t, async (page) => {
    await checkbox(page, 'Toggle me').check();
    await eventually('the API has it completed', async () => (await fetchTodo(todo.id)).body.completed);
    t.match(await row(page, 'Toggle me').getAttribute('class'), /is-completed/, 'the row shows it completed');

    await checkbox(page, 'Toggle me').uncheck();
    await eventually('the API has it open again', async () => !(await fetchTodo(todo.id)).body.completed);
    t.notMatch(await row(page, 'Toggle me').getAttribute('class'), /is-completed/);
  });
});

t.test('clicking again while a save is under way: one request at a time, the last click wins', async (t) => {
  const todo = await createTodo({ title: 'Changed my mind' });
  await withPage(t, async (page) => {
    const sent: unknown[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    let releaseFirst!: () => void;
    const firstMayGo = new Promise<void>((resolve) => (releaseFirst = resolve));
    // The first save is held before it reaches the API, so the second click comes while it is under way.
    await page.route(`**/api/v1/todos/${todo.id}`, async (route) => {
      if (route.request().method() !== 'PUT') return route.continue();
      sent.push(route.request().postDataJSON());
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      if (sent.length === 1) await firstMayGo;
      await route.continue();
      inFlight -= 1;
    });
    await checkbox(page, 'Changed my mind').check();
    await eventually('the first save is sent', async () => sent.length === 1);
    await checkbox(page, 'Changed my mind').uncheck();
    t.notMatch(
      await row(page, 'Changed my mind').getAttribute('class'),
      /is-completed/,
      'the second click shows at once',
    );
    releaseFirst();

    await eventually('both saves are done', async () => sent.length === 2 && inFlight === 0);
    await eventually('the API has it open', async () => !(await fetchTodo(todo.id)).body.completed);
    t.same(sent, [{ completed: true }, { completed: false }], 'the second save went after the first');
    t.equal(mostInFlight, 1, 'never two at once');
    t.equal(await checkbox(page, 'Changed my mind').isChecked(), false, 'the first answer did not tick it again');
    t.notMatch(await row(page, 'Changed my mind').getAttribute('class'), /is-completed/);
  });
});

t.test('edit a title: Save stores it, Escape cancels', async (t) => {
  const todo = await createTodo({ title: 'Old title' });
  await withPage(t, async (page) => {
    await editButton(page, 'Old title').click();
    await page.getByLabel('New title for Old title').fill('New title');
    await page.getByRole('button', { name: 'Save title of Old title', exact: true }).click();
    await row(page, 'New title').waitFor();
    t.equal((await fetchTodo(todo.id)).body.title, 'New title');
    t.equal(await text(page, '#announcer'), 'Renamed to “New title”.');

    await editButton(page, 'New title').click();
    await page.getByLabel('New title for New title').fill('Not saved');
    await page.keyboard.press('Escape');
    t.equal(await row(page, 'New title').count(), 1, 'Escape leaves the title as it was');
    t.equal((await focused(page)).label, 'Edit title of New title', 'and returns the focus to Edit');
    t.equal((await fetchTodo(todo.id)).body.title, 'New title', 'nothing was sent');
  });
});

t.test('saving a title twice while the first save is under way sends it once', async (t) => {
  const todo = await createTodo({ title: 'Rename once' });
  await withPage(t, async (page) => {
    let puts = 0;
    let releaseFirst!: () => void;
    const firstMayGo = new Promise<void>((resolve) => (releaseFirst = resolve));
    await page.route(`**/api/v1/todos/${todo.id}`, async (route) => {
      if (route.request().method() !== 'PUT') return route.continue();
      puts += 1;
      await firstMayGo;
      await route.continue();
    });
    await editButton(page, 'Rename once').click();
    await page.getByLabel('New title for Rename once').fill('Renamed once');
    await page.keyboard.press('Enter');
    await eventually('the first save is sent', async () => puts === 1);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Save title of Rename once', exact: true }).click();
    releaseFirst();
    await row(page, 'Renamed once').waitFor();
    t.equal(puts, 1, 'one PUT for one rename');
    t.equal((await fetchTodo(todo.id)).body.title, 'Renamed once');
  });
});

t.test('delete removes the todo and moves the focus to the next one', async (t) => {
  const older = await createTodo({ title: 'Stays' });
  const newer = await createTodo({ title: 'Goes' });
  await withPage(t, async (page) => {
    await deleteButton(page, 'Goes').click();
    await row(page, 'Goes').waitFor({ state: 'detached' });
    t.equal((await fetchTodo(newer.id)).status, 404, 'deleted in the API');
    t.equal((await fetchTodo(older.id)).status, 200, 'its neighbour is not');
    t.equal((await focused(page)).label, 'Completed: Stays', 'the focus moves to the next todo');
    t.equal(await text(page, '#announcer'), 'Deleted “Goes”.');
  });
});

t.test('filters: completed and due-within, alone and combined, kept in the URL', async (t) => {
  await deleteAllTodos();
  await createTodo({ title: 'open, due tomorrow', deadline_at: deadlineIn(24) });
  await createTodo({ title: 'done, due tomorrow', deadline_at: deadlineIn(24), completed: true });
  await createTodo({ title: 'open, due in 10 days', deadline_at: deadlineIn(240) });
  await createTodo({ title: 'open, overdue', deadline_at: deadlineIn(-5) });
  await createTodo({ title: 'open, no deadline' });

  await withPage(t, async (page) => {
    const shows = async (expected: string[]) => {
      const wanted = [...expected].sort().join(' | ');
      await eventually(`the list shows ${wanted}`, async () => (await titles(page)).sort().join(' | ') === wanted);
    };
    await page.getByRole('radio', { name: 'Open' }).check();
    await shows(['open, due tomorrow', 'open, due in 10 days', 'open, overdue', 'open, no deadline']);
    t.equal(await text(page, '#count'), '4 open todos');

    await page.getByRole('radio', { name: 'Completed' }).check();
    await shows(['done, due tomorrow']);
    t.equal(await text(page, '#count'), '1 completed todo');

    await page.getByRole('radio', { name: 'All' }).check();
    await page.getByLabel('Due within (days)').fill('3');
    await shows(['open, due tomorrow', 'done, due tomorrow', 'open, overdue']);
    t.equal(await text(page, '#count'), '3 todos due within 3 days');

    await page.getByRole('radio', { name: 'Open' }).check();
    await shows(['open, due tomorrow', 'open, overdue']);
    t.equal(new URL(page.url()).search, '?completed=false&window=3', 'the URL keeps the filters');

    await page.getByLabel('Due within (days)').fill('1.5');
    t.equal(
      await page.getByLabel('Due within (days)').getAttribute('aria-invalid'),
      'true',
      'a fractional window is marked invalid',
    );
    t.match(await text(page, '#window-hint'), /whole number of days/);
    await shows(['open, due tomorrow', 'open, overdue']);

    await page.getByLabel('Due within (days)').fill('');
    await shows(['open, due tomorrow', 'open, due in 10 days', 'open, overdue', 'open, no deadline']);
  });

  await withPage(
    t,
    async (page) => {
      t.ok(await page.getByRole('radio', { name: 'Completed' }).isChecked(), 'a reloaded URL restores the filters');
      t.equal(await page.getByLabel('Due within (days)').inputValue(), '3');
      t.strictSame(await titles(page), ['done, due tomorrow']);
      await page.getByLabel('Due within (days)').fill('0');
      await eventually(
        'no completed todo is due within 0 days',
        async () => (await text(page, '#count')) === '0 completed todos due within 0 days',
      );
      t.equal(await text(page, '#empty'), 'No todos match these filters.');
    },
    { path: '/?completed=true&window=3' },
  );
});

t.test('an error from the API is shown, and the form keeps what was typed', async (t) => {
  // Chromium logs every 4xx answer to a fetch as a console error.
  const expectedConsoleError = /^Failed to load resource: the server responded with a status of 400/;
  await withPage(
    t,
    async (page) => {
      const tooLong = 'x'.repeat(81);
      // The input's maxlength stops a person at 80 characters; without it the API must refuse.
      await titleInput(page).evaluate((input) => input.removeAttribute('maxlength'));
      await titleInput(page).fill(tooLong);
      await page.getByRole('button', { name: 'Add todo' }).click();
      const alert = page.getByRole('alert');
      await eventually('the error is shown', async () => ((await alert.textContent()) ?? '') !== '');
      t.equal(
        await alert.textContent(),
        'Could not add the todo: title must be a string of at most 80 characters without NUL characters',
        'the API’s own message, said by an alert',
      );
      t.equal(await titleInput(page).inputValue(), tooLong, 'what was typed is kept to be corrected');
      t.equal((await focused(page)).id, 'new-title', 'the focus is on the title to correct it');

      await titleInput(page).fill('Corrected');
      await page.keyboard.press('Enter');
      await row(page, 'Corrected').waitFor();
      t.equal(await alert.textContent(), '', 'the next success clears the error');
    },
    { expectedConsoleError },
  );
});

t.test('adding again after an answer was lost creates the todo once (the same Idempotency-Key)', async (t) => {
  const expectedConsoleError = /^Failed to load resource: the server responded with a status of 503/;
  await withPage(
    t,
    async (page) => {
      const keys: Array<string | null> = [];
      let answersLost = 0;
      // The first POST reaches the API and is applied, but the page gets a 503 instead of its
      // 201: what a client sees when a write's answer is lost (a timeout, a dropped connection).
      await page.route('**/api/v1/todos', async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        keys.push(await route.request().headerValue('idempotency-key'));
        if (answersLost > 0) return route.continue();
        answersLost += 1;
        await (await route.fetch()).body();
        return route.fulfill({
          status: 503,
          contentType: 'application/json',
          headers: { 'retry-after': '1' },
          body: JSON.stringify({ error: 'database unavailable, retry shortly' }),
        });
      });
      await titleInput(page).fill('Applied once');
      await page.getByRole('button', { name: 'Add todo' }).click();
      const alert = page.getByRole('alert');
      await eventually('the error is shown', async () => ((await alert.textContent()) ?? '') !== '');
      t.equal(await alert.textContent(), 'Could not add the todo: database unavailable, retry shortly');

      await page.getByRole('button', { name: 'Add todo' }).click();
      await eventually(
        'the form is cleared after the retry succeeds',
        async () => (await titleInput(page).inputValue()) === '',
      );
      t.equal(keys.length, 2, 'two POSTs were sent');
      t.match(keys[0], /^[0-9a-f]{32}$/, 'the first carried an Idempotency-Key');
      t.equal(keys[1], keys[0], 'the retry carried the same key');
      const todos = await listTodos();
      t.equal(todos.filter((todo) => todo.title === 'Applied once').length, 1, 'and the todo exists once');

      await titleInput(page).fill('Another one');
      await page.keyboard.press('Enter');
      await row(page, 'Another one').waitFor();
      t.not(keys[2], keys[0], 'the next todo gets a key of its own');
    },
    { expectedConsoleError },
  );
});

t.test('a todo created through the API appears without a reload, its neighbours untouched', async (t) => {
  await createTodo({ title: 'Already there' });
  await withPage(t, async (page) => {
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    const existing = await row(page, 'Already there').elementHandle();

    await createTodo({ title: 'Created by another client' });
    const created = Date.now();
    await row(page, 'Created by another client').waitFor();
    const elapsed = Date.now() - created;
    t.ok(
      elapsed < POLL_INTERVAL_MS + 2_000,
      `shown ${elapsed} ms after it was created (polling every ${POLL_INTERVAL_MS} ms)`,
    );
    t.ok(await page.evaluate(() => 'sameDocument' in window), 'without a reload');
    t.ok(
      await existing.evaluate((element) => element.isConnected),
      'the row already shown is the same element: not re-rendered',
    );
  });
});

t.test('an unchanged list is polled with If-None-Match and answered 304', async (t) => {
  await withPage(t, async (page) => {
    const polls: Array<{ status: number; ifNoneMatch: string | null }> = [];
    page.on('response', async (response) => {
      if (new URL(response.url()).pathname !== '/api/v1/todos') return;
      polls.push({ status: response.status(), ifNoneMatch: await response.request().headerValue('if-none-match') });
    });
    await eventually(
      'two polls are answered 304',
      async () => polls.filter((poll) => poll.status === 304).length >= 2,
      4 * POLL_INTERVAL_MS,
    );
    t.ok(
      polls.every((poll) => poll.ifNoneMatch),
      'every poll sends the ETag of the list shown',
    );
    t.strictSame(
      [...new Set(polls.map((poll) => poll.status))],
      [304],
      `unchanged, every poll is a 304 (${polls.length} polls)`,
    );
  });
});

t.test('polling pauses while the tab is hidden and resumes when it is shown', async (t) => {
  await withPage(t, async (page) => {
    let polls = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/v1/todos') polls += 1;
    });
    const setHidden = (hidden: boolean) =>
      page.evaluate((hidden) => {
        // Headless Chromium's tab is always visible: the page is told otherwise.
        if (hidden) {
          Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
          Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
        } else {
          Reflect.deleteProperty(document, 'hidden');
          Reflect.deleteProperty(document, 'visibilityState');
        }
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);

    await setHidden(true);
    t.equal(await text(page, '#live-status'), 'Paused while this tab is hidden');
    const before = polls;
    await sleep(POLL_INTERVAL_MS * 1.5);
    t.equal(polls, before, 'no poll while hidden');

    await setHidden(false);
    await eventually('a poll right after the tab is shown', async () => polls > before, POLL_INTERVAL_MS / 2);
    await eventually('live again', async () => (await text(page, '#live-status')) === 'Live');
  });
});

t.test('screenshot for the README', async (t) => {
  await deleteAllTodos();
  await createTodo({ title: 'Tidy up after the load test', description: 'Thousands of todos from k6: delete the lot' });
  await createTodo({ title: 'Check the autoscaling alarms', deadline_at: deadlineIn(5) });
  await createTodo({
    title: 'Write up the cache results',
    description: 'Hit rate, p95 with and without Redis',
    deadline_at: deadlineIn(3 * 24),
  });
  await createTodo({ title: 'Load test the read path', deadline_at: deadlineIn(-26), completed: true });
  await createTodo({
    title: 'CSSE6400 Cloud Assignment',
    description: 'Split reads from writes, then scale them',
    deadline_at: deadlineIn(-2),
  });
  await withPage(t, async (page) => {
    await titleInput(page).fill('Review the ALB listener rules');
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.ok(statSync(SCREENSHOT).size > 10_000, `saved ${SCREENSHOT}`);
  });
});
