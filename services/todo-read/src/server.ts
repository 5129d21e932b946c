import { runService } from '@taskoverflow/http-kit';
import { buildTodoReadApp, loadConfig } from './app.js';

await runService({ name: 'todo-read', loadConfig, build: buildTodoReadApp });
