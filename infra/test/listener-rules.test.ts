import { defaultService, routeRequest, routingRules, type RoutingRule } from '@taskoverflow/routing';
import t, { type Test } from 'tap';
import {
  ALB_VALUES_PER_CONDITION,
  ALB_VALUES_PER_RULE,
  albListenerRules,
  type AlbListenerRule,
} from '../src/listener-rules.js';
import { routeLikeAlb, SAMPLE_METHODS, SAMPLE_PATHS } from './helpers/alb.js';

function assertWithinAlbLimits(t: Test, rules: AlbListenerRule[]): void {
  for (const rule of rules) {
    t.ok(
      rule.methods.length >= 1 && rule.methods.length <= ALB_VALUES_PER_CONDITION,
      `${rule.name}: methods fit one condition`,
    );
    t.ok(
      rule.pathPatterns.length >= 1 && rule.pathPatterns.length <= ALB_VALUES_PER_CONDITION,
      `${rule.name}: paths fit one condition`,
    );
    t.ok(rule.methods.length + rule.pathPatterns.length <= ALB_VALUES_PER_RULE, `${rule.name}: values fit one rule`);
  }
  t.equal(new Set(rules.map((rule) => rule.priority)).size, rules.length, 'priorities are unique');
}

t.test('the routing table becomes ALB rules that route every request as the table does', async (t) => {
  const rules = albListenerRules(routingRules);
  assertWithinAlbLimits(t, rules);
  for (const method of SAMPLE_METHODS) {
    for (const path of SAMPLE_PATHS) {
      t.equal(routeLikeAlb(rules, defaultService, method, path), routeRequest(method, path), `${method} ${path}`);
    }
  }
});

t.test('a rule too big for one ALB rule is split into pieces that keep its place and meaning', async (t) => {
  const big: RoutingRule = {
    name: 'big',
    priority: 5,
    service: 'todo-write',
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    pathPatterns: ['/a/*', '/b/*', '/c', '/d', '/e?'],
  };
  const after: RoutingRule = {
    name: 'after',
    priority: 6,
    service: 'todo-read',
    methods: ['GET'],
    pathPatterns: ['/*'],
  };
  const rules = albListenerRules([after, big]);
  assertWithinAlbLimits(t, rules);

  const pieces = rules.filter((rule) => rule.name.startsWith('big-'));
  t.ok(pieces.length > 1, 'split');
  const covered = new Set(
    pieces.flatMap((piece) => piece.methods.flatMap((method) => piece.pathPatterns.map((path) => `${method} ${path}`))),
  );
  t.equal(
    covered.size,
    big.methods.length * big.pathPatterns.length,
    'every method × path pair of the rule is covered',
  );
  t.ok(
    pieces.every((piece) => piece.priority < rules.find((rule) => rule.name === 'after')!.priority),
    'all pieces come before the next routing rule',
  );

  const table = [big, after];
  for (const method of SAMPLE_METHODS) {
    for (const path of ['/a/x', '/b/y/z', '/c', '/d', '/ex', '/e', '/f']) {
      const expected = routeLikeAlb(table, 'todo-read', method, path);
      t.equal(routeLikeAlb(rules, 'todo-read', method, path), expected, `${method} ${path}`);
    }
  }
});

t.test('rules the ALB cannot express are refused', async (t) => {
  const rule: RoutingRule = { name: 'r', priority: 1, service: 'todo-read', methods: ['GET'], pathPatterns: ['/'] };
  t.throws(() => albListenerRules([{ ...rule, methods: [] }]), /at least one method/);
  t.throws(() => albListenerRules([{ ...rule, pathPatterns: [] }]), /at least one method and one path/);
  t.throws(() => albListenerRules([{ ...rule, priority: 501 }]), /priority range/);
  t.throws(() => albListenerRules([{ ...rule, priority: 0 }]), /priority range/);
});
