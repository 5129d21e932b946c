import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { defaultService, HEALTH_PATH, routingRules, SERVICES, type ServiceName } from '@taskoverflow/routing';
import { tlsSummary, WAF_EVALUATION_WINDOW_SECONDS, type LoadBalancerConfig, type TlsConfig } from './config.js';
import { albListenerRules } from './listener-rules.js';
import { CONTAINER_PORTS, HTTP_PORT, HTTPS_PORT } from './ports.js';

/**
 * How long the ALB keeps an idle client or target connection, in seconds. It must stay below
 * the services' keep-alive (KEEP_ALIVE_TIMEOUT_MS, 65 s, in packages/routing): the
 * ALB then always closes an idle connection before the service does, and never sends a
 * request down a connection the service is closing (which clients would see as a 502).
 */
export const IDLE_TIMEOUT_SECONDS = 60;

/**
 * How long a deregistering task keeps its in-flight requests before the ALB drops them, in
 * seconds. Requests take milliseconds; this plus the services' 10 s shutdown grace covers even
 * one that runs into REQUEST_TIMEOUT_MS (10 s). The default, 300 s, would stall every deploy
 * for five minutes.
 */
export const DEREGISTRATION_DELAY_SECONDS = 20;

/**
 * The TLS policy of the HTTPS listener: TLS 1.3 and 1.2 with forward-secret AEAD ciphers only
 * (Security Hub ELB.17 accepts it; the ALB's own default still allows TLS 1.0).
 */
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

/** Elastic Load Balancing's log-delivery service principal (access logs). */
const LOG_DELIVERY_SERVICE = 'logdelivery.elasticloadbalancing.amazonaws.com';

/** The WAF's JSON body for the requests its rate-based rule blocks. */
const RATE_LIMITED_BODY_KEY = 'rate-limited';

/** The ports the load balancer listens on, which its security group opens to the internet. */
export const publicPorts = (tls: TlsConfig): number[] => (tls.mode === 'off' ? [HTTP_PORT] : [HTTPS_PORT, HTTP_PORT]);

export interface LoadBalancerArgs extends LoadBalancerConfig {
  vpcId: pulumi.Input<string>;
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroupId: pulumi.Input<string>;
}

/**
 * The public entry point: an Application Load Balancer whose listener rules are the shared
 * routing table (@taskoverflow/routing), one target group per service, and the table's default
 * service as the default action.
 *
 * With a certificate (TlsConfig), the rules sit on an HTTPS listener on 443 (TLS_POLICY) and
 * port 80 only redirects to it (301); without one (a lab stack), they sit on plain HTTP on 80
 * and the `tls` output says so. Optionally a WAF web ACL with a per-IP rate-based rule guards
 * the ALB. Access logs go to an S3 bucket of their own (encrypted, private, expiring).
 */
export class LoadBalancer extends pulumi.ComponentResource {
  readonly url: pulumi.Output<string>;
  /** Whether and how the API is served over TLS, in words (a stack output). */
  readonly tls: string;
  /** For CloudWatch metrics: the `LoadBalancer` dimension. */
  readonly arnSuffix: pulumi.Output<string>;
  readonly targetGroups: Record<ServiceName, aws.lb.TargetGroup>;
  readonly accessLogBucket: pulumi.Output<string>;
  /** The WAF web ACL's ARN; undefined without `waf`. */
  readonly webAclArn: pulumi.Output<string> | undefined;
  /**
   * The listeners and their rules. ECS services depend on them: tasks can only register in a
   * target group that the load balancer already routes to.
   */
  readonly routing: pulumi.Resource[];

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:LoadBalancer', name, {}, opts);

    const accessLogs = this.accessLogBucketFor(name, args.accessLogRetentionDays);
    const alb = new aws.lb.LoadBalancer(
      name,
      {
        loadBalancerType: 'application',
        internal: false,
        subnets: args.subnetIds,
        securityGroups: [args.securityGroupId],
        idleTimeout: IDLE_TIMEOUT_SECONDS,
        dropInvalidHeaderFields: true,
        accessLogs: { bucket: accessLogs.bucket.bucket, enabled: true },
      },
      // ELB checks that it may write to the bucket when access logs are turned on.
      { parent: this, dependsOn: [accessLogs.policy] },
    );

    this.targetGroups = Object.fromEntries(
      SERVICES.map((service) => [
        service,
        new aws.lb.TargetGroup(
          `${name}-${service}`,
          {
            vpcId: args.vpcId,
            targetType: 'ip',
            protocol: 'HTTP',
            port: CONTAINER_PORTS[service],
            deregistrationDelay: DEREGISTRATION_DELAY_SECONDS,
            healthCheck: {
              path: HEALTH_PATH,
              matcher: '200',
              interval: 10,
              timeout: 5,
              healthyThreshold: 2,
              unhealthyThreshold: 3,
            },
            tags: { Service: service },
          },
          { parent: this },
        ),
      ]),
    ) as Record<ServiceName, aws.lb.TargetGroup>;

    const forwardToDefault = [{ type: 'forward', targetGroupArn: this.targetGroups[defaultService].arn }];
    const listeners: aws.lb.Listener[] = [];
    let apiListener: aws.lb.Listener;
    if (args.tls.mode === 'off') {
      apiListener = new aws.lb.Listener(
        `${name}-http`,
        { loadBalancerArn: alb.arn, port: HTTP_PORT, protocol: 'HTTP', defaultActions: forwardToDefault },
        { parent: this },
      );
      listeners.push(apiListener);
      this.url = pulumi.interpolate`http://${alb.dnsName}`;
    } else {
      const certificateArn =
        args.tls.mode === 'dns' ? this.dnsValidatedCertificate(name, args.tls, alb) : args.tls.certificateArn;
      apiListener = new aws.lb.Listener(
        `${name}-https`,
        {
          loadBalancerArn: alb.arn,
          port: HTTPS_PORT,
          protocol: 'HTTPS',
          sslPolicy: TLS_POLICY,
          certificateArn,
          defaultActions: forwardToDefault,
        },
        { parent: this },
      );
      const redirect = new aws.lb.Listener(
        `${name}-http`,
        {
          loadBalancerArn: alb.arn,
          port: HTTP_PORT,
          protocol: 'HTTP',
          defaultActions: [
            { type: 'redirect', redirect: { protocol: 'HTTPS', port: String(HTTPS_PORT), statusCode: 'HTTP_301' } },
          ],
        },
        { parent: this },
      );
      listeners.push(apiListener, redirect);
      const host = args.tls.domainName ?? alb.dnsName;
      this.url = pulumi.interpolate`https://${host}`;
    }
    this.tls = tlsSummary(args.tls);

    const rules = albListenerRules(routingRules).map(
      (rule) =>
        new aws.lb.ListenerRule(
          `${name}-${rule.name}`,
          {
            listenerArn: apiListener.arn,
            priority: rule.priority,
            conditions: [
              { httpRequestMethod: { values: rule.methods } },
              { pathPattern: { values: rule.pathPatterns } },
            ],
            actions: [{ type: 'forward', targetGroupArn: this.targetGroups[rule.service].arn }],
            tags: { Service: rule.service },
          },
          { parent: this },
        ),
    );

    if (args.wafRateLimitPer5Minutes !== undefined) {
      this.webAclArn = this.rateLimitingWebAcl(name, args.wafRateLimitPer5Minutes, alb).arn;
    }

    this.routing = [...listeners, ...rules];
    this.arnSuffix = alb.arnSuffix;
    this.accessLogBucket = accessLogs.bucket.bucket;
    this.registerOutputs({ url: this.url, tls: this.tls, accessLogBucket: this.accessLogBucket });
  }

  /**
   * An ACM certificate for the domain, validated by the DNS record ACM asks for in the Route 53
   * zone, and the domain's alias record to the ALB. The listener uses the certificate only once
   * it is issued (CertificateValidation waits for that).
   */
  private dnsValidatedCertificate(name: string, tls: Extract<TlsConfig, { mode: 'dns' }>, alb: aws.lb.LoadBalancer) {
    const certificate = new aws.acm.Certificate(
      `${name}-certificate`,
      { domainName: tls.domainName, validationMethod: 'DNS', tags: { Name: tls.domainName } },
      { parent: this },
    );
    // One domain name, so one validation record.
    const validation = certificate.domainValidationOptions.apply((options) => options[0]!);
    const record = new aws.route53.Record(
      `${name}-certificate-validation`,
      {
        zoneId: tls.hostedZoneId,
        name: validation.resourceRecordName,
        type: validation.resourceRecordType,
        records: [validation.resourceRecordValue],
        ttl: 300,
        allowOverwrite: true,
      },
      { parent: this },
    );
    const validated = new aws.acm.CertificateValidation(
      `${name}-certificate`,
      { certificateArn: certificate.arn, validationRecordFqdns: [record.fqdn] },
      { parent: this },
    );
    new aws.route53.Record(
      `${name}-alias`,
      {
        zoneId: tls.hostedZoneId,
        name: tls.domainName,
        type: 'A',
        aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
      },
      { parent: this },
    );
    return validated.certificateArn;
  }

  /**
   * A regional WAF web ACL on the ALB: a rate-based rule blocks an IP that sends more than
   * `limit` requests in 5 minutes (WAF_EVALUATION_WINDOW_SECONDS), answering 429 like the
   * services' own limiter; everything else passes. Blocked requests show in its metrics.
   */
  private rateLimitingWebAcl(name: string, limit: number, alb: aws.lb.LoadBalancer) {
    const visibility = (metricName: string) => ({
      metricName,
      cloudwatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
    });
    const webAcl = new aws.wafv2.WebAcl(
      `${name}-waf`,
      {
        description: 'TaskOverflow ALB: per-IP rate limit',
        scope: 'REGIONAL',
        defaultAction: { allow: {} },
        // The API's own error shape ({ "error": message }, packages/http-kit), so clients read one kind of 429.
        customResponseBodies: [
          {
            key: RATE_LIMITED_BODY_KEY,
            contentType: 'APPLICATION_JSON',
            content: JSON.stringify({
              error: `rate limit exceeded: at most ${limit} requests per 5 minutes from one address; retry later`,
            }),
          },
        ],
        rules: [
          {
            name: 'rate-limit-per-ip',
            priority: 0,
            action: {
              block: {
                customResponse: {
                  responseCode: 429,
                  customResponseBodyKey: RATE_LIMITED_BODY_KEY,
                  // WAF lifts the block once the IP's rate over the window falls below the limit.
                  responseHeaders: [{ name: 'Retry-After', value: '60' }],
                },
              },
            },
            statement: {
              rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: WAF_EVALUATION_WINDOW_SECONDS },
            },
            visibilityConfig: visibility(`${name}-rate-limit-per-ip`),
          },
        ],
        visibilityConfig: visibility(`${name}-waf`),
      },
      { parent: this },
    );
    new aws.wafv2.WebAclAssociation(`${name}-waf`, { resourceArn: alb.arn, webAclArn: webAcl.arn }, { parent: this });
    return webAcl;
  }

  /**
   * The access logs' bucket: private (public access blocked), SSE-S3 encrypted (the only
   * encryption ALB log delivery supports), TLS-only, objects expiring after `retentionDays`, and
   * writable by Elastic Load Balancing's log delivery, only under AWSLogs/<account>/: the
   * region's ELB account (regions opened before August 2022) and the logdelivery service
   * principal (those opened since, where the account lookup fails).
   */
  private accessLogBucketFor(name: string, retentionDays: number) {
    const bucket = new aws.s3.Bucket(
      `${name}-access-logs`,
      // Logs only: `pulumi destroy` empties it rather than failing on it.
      { forceDestroy: true },
      { parent: this },
    );
    new aws.s3.BucketPublicAccessBlock(
      `${name}-access-logs`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      { parent: this },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-access-logs`,
      { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }] },
      { parent: this },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-access-logs`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: 'expire-access-logs',
            status: 'Enabled',
            filter: {},
            expiration: { days: retentionDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
        ],
      },
      { parent: this },
    );
    const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    // Regions opened since August 2022 have no ELB account (the lookup fails there): the
    // service principal alone then writes the logs.
    const elbAccount = pulumi.output(
      aws.elb.getServiceAccount({}, { parent: this }).then(
        (account) => account.arn,
        () => undefined,
      ),
    );
    const logDelivery = elbAccount.apply((account) =>
      account ? { AWS: account, Service: LOG_DELIVERY_SERVICE } : { Service: LOG_DELIVERY_SERVICE },
    );
    const policy = new aws.s3.BucketPolicy(
      `${name}-access-logs`,
      {
        bucket: bucket.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'ElbLogDelivery',
              Effect: 'Allow',
              Principal: logDelivery,
              Action: 's3:PutObject',
              Resource: pulumi.interpolate`${bucket.arn}/AWSLogs/${accountId}/*`,
            },
            {
              Sid: 'TlsOnly',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        }),
      },
      { parent: this },
    );
    return { bucket, policy };
  }
}
