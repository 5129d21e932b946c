/**
 * Reading a scenario's settings from the environment (k6's __ENV): a preset per SCALE, and
 * every value of it overridable by its own variable. A bad value stops the run before it
 * starts, with a message naming the variable and what it takes.
 */

/** Where summaries go unless RESULTS_DIR says otherwise: loadtests/results, wherever k6 runs from. */
const DEFAULT_RESULTS_DIR = decodeURIComponent(import.meta.resolve('../../results/').replace(/^file:\/\//, ''));

/** The preset named by SCALE (default `defaultScale`); returns [name, preset]. */
export function scalePreset(presets, defaultScale) {
  const name = __ENV.SCALE || defaultScale;
  const preset = presets[name];
  if (!preset) throw new Error(`SCALE must be one of ${Object.keys(presets).join(', ')} (got "${name}")`);
  return [name, preset];
}

/** The system under test's base URL, without a trailing slash. */
export function endpoint() {
  const value = (__ENV.ENDPOINT || 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(value)) {
    throw new Error(`ENDPOINT must be the API's base URL, e.g. http://127.0.0.1:8080 (got "${value}")`);
  }
  return value;
}

export function resultsDir() {
  return (__ENV.RESULTS_DIR || DEFAULT_RESULTS_DIR).replace(/\/+$/, '');
}

/** A whole number of at least `min`, from `name` or else `fallback`. */
export function wholeNumber(name, fallback, min = 0) {
  const text = __ENV[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be a whole number ≥ ${min} (got "${text}")`);
  return value;
}

/** Seconds, fractions allowed (think times are given to sleep(), which takes seconds). */
export function seconds(name, fallback) {
  const text = __ENV[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a number of seconds ≥ 0, e.g. 120 or 0.5 (got "${text}")`);
  return value;
}

const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

/** A k6 duration such as 90s, 3m or 1m30s. */
export function duration(name, fallback) {
  const text = __ENV[name];
  if (text === undefined || text === '') return fallback;
  if (!DURATION.test(text)) throw new Error(`${name} must be a duration such as 90s, 3m or 1m30s (got "${text}")`);
  return text;
}

/**
 * ramping-vus stages written `duration:target,…`, e.g. `1m:1500,3m:7500,2m:0` (1 minute
 * to 1500 VUs, 3 minutes to 7500, 2 minutes down to 0).
 */
export function stages(name, fallback) {
  const text = __ENV[name];
  if (text === undefined || text === '') return fallback;
  return text.split(',').map((stage) => {
    const [stageDuration, target] = stage.trim().split(':');
    if (!DURATION.test(stageDuration ?? '') || !/^\d+$/.test(target ?? '')) {
      throw new Error(`${name} must be stages written duration:VUs,… such as 1m:1500,3m:7500,2m:0 (got "${text}")`);
    }
    return { duration: stageDuration, target: Number(target) };
  });
}

/** `1m:1500, 3m:7500, 2m:0`: stages as the summary shows them. */
export function describeStages(list) {
  return list.map((stage) => `${stage.duration}:${stage.target}`).join(', ');
}
