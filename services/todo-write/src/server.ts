import { runService } from '@taskoverflow/http-kit';
import { buildTodoWriteApp, loadConfig } from './app.js';

await runService({ name: 'todo-write', loadConfig, build: buildTodoWriteApp });
