import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { LogsConfig } from './config.js';
import { logQueries } from './log-queries.js';

/**
 * The log group every task writes to (awslogs driver, one stream per service and task) and
 * the saved Logs Insights queries that read it.
 */
export class Logs extends pulumi.ComponentResource {
  readonly groupName: pulumi.Output<string>;
  readonly groupArn: pulumi.Output<string>;

  constructor(name: string, args: LogsConfig, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Logs', name, {}, opts);

    const group = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: args.groupName, retentionInDays: args.retentionDays },
      { parent: this },
    );
    for (const { name: queryName, query } of logQueries) {
      new aws.cloudwatch.QueryDefinition(
        queryName.replace('/', '-'),
        { name: queryName, queryString: query, logGroupNames: [group.name] },
        { parent: this },
      );
    }

    this.groupName = group.name;
    this.groupArn = group.arn;
    this.registerOutputs({ groupName: this.groupName });
  }
}
