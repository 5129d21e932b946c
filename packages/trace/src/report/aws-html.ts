/** bottlenecks.html's AWS section: what CloudWatch held for the run's window (aws-figures.ts). */
import type { AwsFigures, Utilization } from './aws-figures.js';
import { clock } from './aws-figures.js';
import { escapeHtml, formatMs as ms } from './format.js';
import { table } from './html.js';

export function awsSection(aws: AwsFigures | undefined): string {
  if (!aws) return '';
  const logs = aws.logs
    ? `${count(aws.logs.events)} log lines from ${aws.logs.streams.length} streams of ${aws.logs.logGroupName} (FilterLogEvents, ${count(aws.logs.pages)} pages), saved in logs/ for pnpm trace`
    : 'no log lines read';
  const services = aws.services;
  return `<section id="aws"><h2>On AWS: CloudWatch</h2>
<p>${escapeHtml(`${aws.region}, ${clock(aws.window.startMs)} to ${clock(aws.window.endMs)} UTC; metrics in ${aws.periodSeconds} s periods (a peak is the busiest period's average); ${logs}.`)}</p>
${aws.missing.map((line) => `<p class="missing">${escapeHtml(line)}</p>`).join('')}
${
  services.length > 0
    ? `<h3>ECS services</h3>${table(
        ['service', 'CPU avg', 'CPU peak', 'CPU max', 'memory peak', 'tasks (peak of max)', 'counted by'],
        services.map((service) => [
          service.ecsServiceName ? `${service.service} (${service.ecsServiceName})` : service.service,
          utilization(service.cpu, 'averagePercent'),
          utilization(service.cpu, 'peakMinutePercent'),
          utilization(service.cpu, 'maxPercent'),
          utilization(service.memory, 'peakMinutePercent'),
          service.tasks ? `${service.tasks.peak} of ${service.maxTasks ?? '?'}` : '—',
          service.tasks?.countedBy ?? '—',
        ]),
      )}
<h3>Load balancer, per target group</h3>${table(
        ['service', 'requests', 'response time avg', 'response time max', 'target 5xx', 'healthy tasks (min–max)'],
        services.map((service) => {
          const group = service.targetGroup;
          return [
            service.service,
            count(group?.requests),
            ms(group?.responseTimeAverageMs),
            ms(group?.responseTimeMaxMs),
            count(group?.target5xx),
            group?.healthyMin === undefined ? '—' : `${group.healthyMin}–${group.healthyMax ?? '?'}`,
          ];
        }),
      )}`
    : ''
}
${
  aws.loadBalancer
    ? table(
        ['load balancer', 'requests', 'its own 5xx', 'rejected connections'],
        [
          [
            'all',
            count(aws.loadBalancer.requests),
            count(aws.loadBalancer.elb5xx),
            count(aws.loadBalancer.rejectedConnections),
          ],
        ],
      )
    : ''
}
${
  aws.database
    ? `<h3>PostgreSQL (RDS ${escapeHtml(aws.database.instance)})</h3>${table(
        [
          'CPU avg',
          'CPU peak',
          'CPU max',
          'connections peak',
          'max_connections',
          'read IOPS avg / max',
          'write IOPS avg / max',
        ],
        [
          [
            utilization(aws.database.cpu, 'averagePercent'),
            utilization(aws.database.cpu, 'peakMinutePercent'),
            utilization(aws.database.cpu, 'maxPercent'),
            count(aws.database.connectionsPeak),
            count(aws.database.maxConnections),
            pair(aws.database.readIops),
            pair(aws.database.writeIops),
          ],
        ],
      )}`
    : ''
}
${
  aws.cache
    ? `<h3>Redis (ElastiCache ${escapeHtml(aws.cache.clusterId)})</h3>${table(
        ['engine CPU avg', 'engine CPU peak', 'engine CPU max', 'evictions', 'connections peak'],
        [
          [
            utilization(aws.cache.engineCpu, 'averagePercent'),
            utilization(aws.cache.engineCpu, 'peakMinutePercent'),
            utilization(aws.cache.engineCpu, 'maxPercent'),
            count(aws.cache.evictions),
            count(aws.cache.connectionsPeak),
          ],
        ],
      )}`
    : ''
}</section>`;
}

function utilization(figures: Utilization | undefined, which: keyof Utilization): string {
  const value = figures?.[which];
  return value === undefined ? '—' : `${value.toFixed(value < 10 ? 1 : 0)} %`;
}

function pair(figures: { average: number; max: number } | undefined): string {
  return figures ? `${figures.average.toFixed(1)} / ${figures.max.toFixed(1)}` : '—';
}

function count(value: number | undefined): string {
  return value === undefined ? '—' : Math.round(value).toLocaleString('en-US');
}
