/**
 * What each scenario sends, to which server, and which status every answer must have. The
 * order is the order they run in: `create` last, since every POST grows the table (and
 * replaces the dataset version) that the read scenarios measure. `stack` and `saturation`
 * put several processes under load at once (stack-scenarios.ts); the others, one server.
 */
export const SCENARIO_NAMES = [
  'ceiling',
  'cached-list',
  'cached-by-id',
  'uncached-list',
  'not-modified',
  'stack',
  'saturation',
  'create',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];
export const STACK_SCENARIO_NAMES = ['stack', 'saturation'] as const satisfies readonly ScenarioName[];
export type StackScenarioName = (typeof STACK_SCENARIO_NAMES)[number];
export type ServerScenarioName = Exclude<ScenarioName, StackScenarioName>;

export function isStackScenario(name: ScenarioName): name is StackScenarioName {
  return (STACK_SCENARIO_NAMES as readonly string[]).includes(name);
}

/** The processes the bench runs and a scenario can put under load. */
export type ServerRole = 'ceiling' | 'cached-read' | 'uncached-read' | 'write';

export interface Scenario {
  name: ServerScenarioName;
  /** As the report prints it, e.g. `cached list`. */
  label: string;
  server: ServerRole;
  method: 'GET' | 'POST';
  /** Each connection sends these paths in turn, over and over. */
  paths: string[];
  headers: Record<string, string>;
  body?: string;
  /** Every response must have this status; anything else is counted as unexpected. */
  expectedStatus: number;
  /** One line on what a request is, for the report. */
  request: string;
}

/** What the scenarios are built from: the seeded data as todo-read serves it. */
export interface ScenarioInputs {
  /** The ETag of the full list, as todo-read sent it. */
  listEtag: string;
  todoIds: number[];
}

export const LIST_PATH = '/api/v1/todos';
/** A create with a title only: the smallest valid body. */
const CREATE_BODY = JSON.stringify({ title: 'Created by pnpm bench' });

export function buildScenario(name: ServerScenarioName, inputs: ScenarioInputs): Scenario {
  const get = { method: 'GET' as const, headers: {}, expectedStatus: 200 };
  switch (name) {
    case 'ceiling':
      return {
        name,
        label: 'ceiling (node:http)',
        server: 'ceiling',
        ...get,
        paths: [LIST_PATH],
        request: 'the list bytes, pre-serialized',
      };
    case 'cached-list':
      return {
        name,
        label: 'cached list',
        server: 'cached-read',
        ...get,
        paths: [LIST_PATH],
        request: `GET ${LIST_PATH}`,
      };
    case 'cached-by-id':
      return {
        name,
        label: 'cached by id',
        server: 'cached-read',
        ...get,
        // Every seeded id in turn, so that the cache holds as many entries as there are todos.
        paths: inputs.todoIds.map((id) => `${LIST_PATH}/${id}`),
        request: `GET ${LIST_PATH}/:id, ids ${inputs.todoIds[0]}…${inputs.todoIds.at(-1)} in turn`,
      };
    case 'uncached-list':
      return {
        name,
        label: 'uncached list',
        server: 'uncached-read',
        ...get,
        paths: [LIST_PATH],
        request: `GET ${LIST_PATH}, no cache`,
      };
    case 'not-modified':
      return {
        name,
        label: '304 not modified',
        server: 'cached-read',
        ...get,
        paths: [LIST_PATH],
        headers: { 'if-none-match': inputs.listEtag },
        expectedStatus: 304,
        request: `GET ${LIST_PATH}, If-None-Match: the current ETag`,
      };
    case 'create':
      return {
        name,
        label: 'create (POST)',
        server: 'write',
        method: 'POST',
        paths: [LIST_PATH],
        headers: { 'content-type': 'application/json' },
        body: CREATE_BODY,
        expectedStatus: 201,
        request: `POST ${LIST_PATH} ${CREATE_BODY}`,
      };
  }
}
