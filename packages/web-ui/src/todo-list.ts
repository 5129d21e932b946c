/**
 * The list of todos in the DOM, keyed by id: a poll that brings thousands of todos touches
 * only the rows that changed, and the focused control of an unchanged row stays where it is.
 */
import type { Todo } from './api.js';
import { describeCreated, describeDeadline, formatAbsolute, parseApiDate } from './dates.js';

/** What the rows' controls do; each resolves to the todo as the API now has it, or undefined when it failed (and said so). */
export interface RowActions {
  setCompleted(todo: Todo, completed: boolean): Promise<Todo | undefined>;
  rename(todo: Todo, title: string): Promise<Todo | undefined>;
  remove(todo: Todo): Promise<Todo | undefined>;
}

/** The API's limit (TITLE_MAX in @taskoverflow/domain), as the add form's maxlength also says. */
const TITLE_MAX_LENGTH = 80;

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  properties: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const created = Object.assign(document.createElement(tag), properties);
  created.append(...children);
  return created;
}

/** One todo's row. Its elements live as long as the todo is listed; update() patches them. */
class TodoRow {
  readonly element = element('li', { className: 'todo' });
  readonly #checkbox = element('input', { type: 'checkbox', className: 'todo-completed' });
  readonly #title = element('p', { className: 'todo-title' });
  readonly #description = element('p', { className: 'todo-description' });
  readonly #deadline = element('time', { className: 'todo-deadline' });
  readonly #created = element('time', { className: 'todo-created' });
  readonly #editButton = element('button', { type: 'button', className: 'todo-edit', textContent: 'Edit' });
  readonly #deleteButton = element('button', { type: 'button', className: 'todo-delete', textContent: 'Delete' });
  #todo: Todo;
  #editor: HTMLFormElement | undefined;
  /** Set while a change of completed is on its way: a poll answered meanwhile must not undo the tick. */
  #saving = false;
  #renaming = false;

  constructor(
    todo: Todo,
    private readonly actions: RowActions,
    private readonly onRemoved: (row: TodoRow) => void,
    now: Date,
  ) {
    this.#todo = todo;
    this.element.dataset.id = String(todo.id);
    this.element.append(
      this.#checkbox,
      element(
        'div',
        { className: 'todo-body' },
        this.#title,
        this.#description,
        element('p', { className: 'todo-meta' }, this.#deadline, this.#created),
      ),
      element('div', { className: 'todo-actions' }, this.#editButton, this.#deleteButton),
    );
    this.#checkbox.addEventListener('change', () => void this.#saveCompleted());
    this.#editButton.addEventListener('click', () => this.#startEditing());
    this.#deleteButton.addEventListener('click', () => void this.#delete());
    this.#fill(now);
  }

  get id(): number {
    return this.#todo.id;
  }

  /** Shows `todo`; untouched when the API has not changed it since (same updated_at). */
  update(todo: Todo, now: Date): void {
    if (todo.updated_at === this.#todo.updated_at) return;
    this.#todo = todo;
    this.#fill(now);
  }

  #fill(now: Date): void {
    const todo = this.#todo;
    if (!this.#saving) this.#showCompleted(todo.completed);
    this.#checkbox.setAttribute('aria-label', `Completed: ${todo.title}`);
    this.#title.textContent = todo.title;
    this.#description.textContent = todo.description ?? '';
    this.#description.hidden = !todo.description;
    this.#editButton.setAttribute('aria-label', `Edit title of ${todo.title}`);
    this.#deleteButton.setAttribute('aria-label', `Delete ${todo.title}`);
    this.showTimes(now);
  }

  /** The clock-dependent texts: relative times, and whether the deadline has passed. */
  showTimes(now: Date): void {
    const todo = this.#todo;
    const deadline = todo.deadline_at === null ? undefined : parseApiDate(todo.deadline_at);
    const description = deadline && describeDeadline(deadline, now, todo.completed);
    this.element.classList.toggle('is-overdue', description?.overdue ?? false);
    this.#deadline.hidden = todo.deadline_at === null;
    if (deadline && description) {
      this.#deadline.dateTime = deadline.toISOString();
      this.#deadline.textContent = `${description.relative} · ${formatAbsolute(deadline)}`;
    } else {
      this.#deadline.textContent = todo.deadline_at ?? '';
    }
    const created = parseApiDate(todo.created_at);
    if (created) {
      this.#created.dateTime = created.toISOString();
      this.#created.textContent = describeCreated(created, now);
      this.#created.title = formatAbsolute(created);
    }
  }

  /** The control to focus when this row is the one nearest a deleted row. */
  focus(): void {
    this.#checkbox.focus();
  }

  #showCompleted(completed: boolean): void {
    this.#checkbox.checked = completed;
    this.element.classList.toggle('is-completed', completed);
  }

  /**
   * One save at a time per row: a click while one is under way only moves the tick, and the
   * save then sends the newest state. Two requests at once could be applied in either order
   * (and the first answer would undo the second click on screen).
   */
  async #saveCompleted(): Promise<void> {
    this.#showCompleted(this.#checkbox.checked);
    if (this.#saving) return;
    this.#saving = true;
    while (this.#checkbox.checked !== this.#todo.completed) {
      const saved = await this.actions.setCompleted(this.#todo, this.#checkbox.checked);
      if (!saved) break;
      this.update(saved, new Date());
    }
    this.#saving = false;
    this.#showCompleted(this.#todo.completed);
  }

  #startEditing(): void {
    if (this.#editor) return;
    const inputId = `todo-${this.#todo.id}-new-title`;
    const input = element('input', {
      id: inputId,
      value: this.#todo.title,
      required: true,
      maxLength: TITLE_MAX_LENGTH,
      autocomplete: 'off',
    });
    const save = element('button', { type: 'submit', className: 'primary', textContent: 'Save' });
    const cancel = element('button', { type: 'button', textContent: 'Cancel' });
    save.setAttribute('aria-label', `Save title of ${this.#todo.title}`);
    cancel.setAttribute('aria-label', `Cancel editing ${this.#todo.title}`);
    const editor = element(
      'form',
      { className: 'todo-editor' },
      element('label', {
        htmlFor: inputId,
        className: 'visually-hidden',
        textContent: `New title for ${this.#todo.title}`,
      }),
      input,
      save,
      cancel,
    );
    editor.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#saveTitle(input.value);
    });
    cancel.addEventListener('click', () => this.#stopEditing());
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.#stopEditing();
    });
    this.#editor = editor;
    this.#title.replaceWith(editor);
    this.#editButton.hidden = true;
    input.focus();
    input.select();
  }

  async #saveTitle(title: string): Promise<void> {
    // A second Enter or click while the first is on its way would send the rename twice.
    if (this.#renaming) return;
    this.#renaming = true;
    const saved = await this.actions.rename(this.#todo, title);
    this.#renaming = false;
    if (!saved) {
      this.#editor?.querySelector('input')?.focus();
      return;
    }
    this.update(saved, new Date());
    this.#stopEditing();
  }

  #stopEditing(): void {
    this.#editor?.replaceWith(this.#title);
    this.#editor = undefined;
    this.#editButton.hidden = false;
    this.#editButton.focus();
  }

  async #delete(): Promise<void> {
    // Disabled meanwhile: a second click would only get "Todo not found".
    this.#deleteButton.disabled = true;
    if (await this.actions.remove(this.#todo)) {
      this.onRemoved(this);
      return;
    }
    this.#deleteButton.disabled = false;
    this.#deleteButton.focus();
  }
}

export class TodoList {
  readonly #rows = new Map<number, TodoRow>();

  constructor(
    private readonly list: HTMLUListElement,
    private readonly actions: RowActions,
    /** Takes the focus when a deleted row leaves no row to move it to. */
    private readonly focusWhenEmpty: HTMLElement,
  ) {}

  /** Shows `todos` in this order, reusing the row of each todo already shown. */
  render(todos: readonly Todo[], now: Date): void {
    const listed = new Set(todos.map((todo) => todo.id));
    for (const [id, row] of this.#rows) {
      if (!listed.has(id)) this.#drop(row);
    }
    // Walks the list once: a row already in place is passed, any other is moved (or
    // inserted) there, so prepending a new todo moves no existing row.
    let next = this.list.firstElementChild;
    for (const todo of todos) {
      let row = this.#rows.get(todo.id);
      if (row) row.update(todo, now);
      else {
        row = new TodoRow(todo, this.actions, (removed) => this.#removeAndRefocus(removed), now);
        this.#rows.set(todo.id, row);
      }
      if (row.element === next) next = next.nextElementSibling;
      else this.list.insertBefore(row.element, next);
    }
  }

  /** Brings relative times ("due in 3 hours") and overdue marks up to date. */
  showTimes(now: Date): void {
    for (const row of this.#rows.values()) row.showTimes(now);
  }

  #drop(row: TodoRow): void {
    row.element.remove();
    this.#rows.delete(row.id);
  }

  /** A row deleted from this page: the focus goes to the row that takes its place, else the one before. */
  #removeAndRefocus(row: TodoRow): void {
    const neighbour = row.element.nextElementSibling ?? row.element.previousElementSibling;
    const neighbourRow = neighbour instanceof HTMLElement ? this.#rows.get(Number(neighbour.dataset.id)) : undefined;
    this.#drop(row);
    if (neighbourRow) neighbourRow.focus();
    else this.focusWhenEmpty.focus();
  }
}
