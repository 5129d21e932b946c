import { ApiError, createTodo, deleteTodo, newIdempotencyKey, updateTodo, type Todo } from './api.js';
import { localInputToIso } from './dates.js';
import { LiveFeed, type FeedState } from './live-feed.js';
import { TodoList, type RowActions } from './todo-list.js';

/**
 * Rows beyond this are not rendered: a load test can leave tens of thousands of todos, and
 * the page must stay responsive. The count still says how many there are.
 */
const MAX_RENDERED_ROWS = 200;
const WINDOW_INVALID = 'Enter a whole number of days, e.g. 7, or -3 for todos at least 3 days overdue.';
/** How often "due in 3 hours" and overdue marks are recomputed when the list itself is unchanged. */
const TIMES_REFRESH_MS = 30_000;

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`index.html has no ${type.name} #${id}`);
  return found;
}

const addForm = byId('add-form', HTMLFormElement);
const titleInput = byId('new-title', HTMLInputElement);
const descriptionInput = byId('new-description', HTMLInputElement);
const deadlineInput = byId('new-deadline', HTMLInputElement);
const addButton = byId('add-button', HTMLButtonElement);
const errorBox = byId('error', HTMLParagraphElement);
const announcer = byId('announcer', HTMLParagraphElement);
const liveStatus = byId('live-status', HTMLParagraphElement);
const listHeading = byId('list-heading', HTMLHeadingElement);
const count = byId('count', HTMLParagraphElement);
const filtersForm = byId('filters', HTMLFormElement);
const windowInput = byId('window', HTMLInputElement);
const windowHint = byId('window-hint', HTMLParagraphElement);
const WINDOW_HINT = windowHint.textContent;
const emptyMessage = byId('empty', HTMLParagraphElement);
const todoList = byId('todos', HTMLUListElement);
const cappedNote = byId('capped', HTMLParagraphElement);

function showError(message: string): void {
  errorBox.textContent = message;
}

/** Read out by screen readers: what an action did, where the focus does not show it. */
function announce(message: string): void {
  announcer.textContent = message;
}

/**
 * Runs one write; on failure shows `failure` with the API's reason and resolves to undefined.
 * Either way the list is fetched again at once: the write's effect, or whatever made it fail
 * (a todo deleted elsewhere), is on screen without waiting for the next poll.
 */
async function write(failure: string, request: () => Promise<Todo>): Promise<Todo | undefined> {
  showError('');
  try {
    return await request();
  } catch (error) {
    const reason = error instanceof ApiError ? error.message : String(error);
    showError(`${failure}: ${reason}`);
    return undefined;
  } finally {
    void feed.refresh();
  }
}

// Filters: the radio group `completed` and the `window` number, mirrored in the page's URL
// so that a filtered view can be reloaded or shared.

interface Filters {
  completed: '' | 'true' | 'false';
  /** Whole days as typed, or '' for no window. */
  window: string;
}

/** The filters a URL asks for; a bad window is kept, to be shown as invalid. */
function filtersFromUrl(): Filters {
  const params = new URLSearchParams(location.search);
  const completed = params.get('completed');
  return {
    completed: completed === 'true' || completed === 'false' ? completed : '',
    window: params.get('window') ?? '',
  };
}

function showFilters(filters: Filters): void {
  for (const radio of filtersForm.querySelectorAll<HTMLInputElement>('input[name="completed"]')) {
    radio.checked = radio.value === filters.completed;
  }
  windowInput.value = filters.window;
}

/**
 * The filters as entered, or undefined while the window is not a whole number of days in the
 * API's range (the input's step, min and max), which the window's hint then says.
 */
function filtersFromForm(): Filters | undefined {
  const validWindow = windowInput.checkValidity();
  windowInput.setAttribute('aria-invalid', String(!validWindow));
  windowHint.classList.toggle('is-invalid', !validWindow);
  windowHint.textContent = validWindow ? WINDOW_HINT : WINDOW_INVALID;
  if (!validWindow) return undefined;
  const completed = new FormData(filtersForm).get('completed');
  return { completed: completed === 'true' || completed === 'false' ? completed : '', window: windowInput.value };
}

function queryOf(filters: Filters): URLSearchParams {
  const query = new URLSearchParams();
  if (filters.completed) query.set('completed', filters.completed);
  if (filters.window) query.set('window', filters.window);
  return query;
}

/** "12 todos", "3 open todos", "1 completed todo due within 7 days". */
function describeCount(total: number, filters: Filters): string {
  const state = { '': '', false: 'open ', true: 'completed ' }[filters.completed];
  const noun = total === 1 ? 'todo' : 'todos';
  const days = Number(filters.window);
  const window =
    filters.window === ''
      ? ''
      : days >= 0
        ? ` due within ${days} ${days === 1 ? 'day' : 'days'}`
        : ` overdue by ${-days} days or more`;
  return `${total.toLocaleString()} ${state}${noun}${window}`;
}

showFilters(filtersFromUrl());
let filters: Filters = filtersFromForm() ?? { completed: '', window: '' };

function applyFilters(): void {
  const entered = filtersFromForm();
  if (!entered) return;
  filters = entered;
  const query = queryOf(filters);
  const search = query.toString();
  history.replaceState(null, '', search ? `?${search}` : location.pathname);
  feed.setQuery(query);
}

filtersForm.addEventListener('input', applyFilters);
filtersForm.addEventListener('submit', (event) => {
  event.preventDefault();
  applyFilters();
});

// The list.

const rowActions: RowActions = {
  setCompleted: (todo, completed) =>
    write(`Could not mark “${todo.title}” as ${completed ? 'completed' : 'open'}`, () =>
      updateTodo(todo.id, { completed }),
    ),
  rename: async (todo, title) => {
    const renamed = await write(`Could not rename “${todo.title}”`, () => updateTodo(todo.id, { title }));
    if (renamed) announce(`Renamed to “${renamed.title}”.`);
    return renamed;
  },
  remove: async (todo) => {
    const removed = await write(`Could not delete “${todo.title}”`, () => deleteTodo(todo.id));
    if (removed) announce(`Deleted “${removed.title}”.`);
    return removed;
  },
};
const list = new TodoList(todoList, rowActions, listHeading);

function showList(todos: Todo[]): void {
  const shown = todos.slice(0, MAX_RENDERED_ROWS);
  list.render(shown, new Date());
  todoList.setAttribute('aria-busy', 'false');
  count.textContent = describeCount(todos.length, filters);
  const filtered = filters.completed !== '' || filters.window !== '';
  emptyMessage.hidden = todos.length > 0;
  emptyMessage.textContent = filtered ? 'No todos match these filters.' : 'No todos yet: add the first one above.';
  cappedNote.hidden = shown.length === todos.length;
  cappedNote.textContent = `Showing the newest ${shown.length.toLocaleString()} of ${todos.length.toLocaleString()}; the filters narrow the list.`;
}

const LIVE_STATUS_TEXT: Record<Exclude<FeedState['name'], 'reconnecting'>, string> = {
  live: 'Live',
  paused: 'Paused while this tab is hidden',
};

function showFeedState(state: FeedState): void {
  liveStatus.dataset.state = state.name;
  liveStatus.textContent =
    state.name === 'reconnecting' ? `Reconnecting: ${state.reason}` : LIVE_STATUS_TEXT[state.name];
}

const feed = new LiveFeed({ list: showList, state: showFeedState });
feed.start(queryOf(filters));
setInterval(() => list.showTimes(new Date()), TIMES_REFRESH_MS);

// Adding: Enter in any field submits; the focus returns to the title for the next todo.

addForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void addTodo();
});

/**
 * The Idempotency-Key of the todo being added, kept while its submission has not succeeded:
 * adding the same todo again after an error (whose first attempt may have been applied)
 * reuses it, so the todo is created once. Changed fields are another todo, with a new key.
 */
let pendingAdd: { body: string; key: string } | undefined;

async function addTodo(): Promise<void> {
  const description = descriptionInput.value;
  const deadline = deadlineInput.value;
  const body = {
    title: titleInput.value,
    description: description === '' ? null : description,
    deadline_at: deadline === '' ? null : localInputToIso(deadline),
  };
  const serialized = JSON.stringify(body);
  if (pendingAdd?.body !== serialized) pendingAdd = { body: serialized, key: newIdempotencyKey() };
  const { key } = pendingAdd;
  addButton.disabled = true;
  const added = await write('Could not add the todo', () => createTodo(body, key));
  addButton.disabled = false;
  if (added) {
    pendingAdd = undefined;
    addForm.reset();
    announce(`Added “${added.title}”.`);
  }
  titleInput.focus();
}
