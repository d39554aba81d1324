// Times of flows and of `--since`/`--until`: flows carry RFC 3339 text with nanoseconds; queries
// take a duration before now ("5m", "1h30m") or an absolute time. Milliseconds since the epoch as
// a float (the sub-millisecond part as a fraction) are what is compared: precise to about a
// quarter of a microsecond, which orders flows well; the flows' own text keeps the nanoseconds.

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** Milliseconds since the epoch of an RFC 3339 time (sub-milliseconds as a fraction); NaN if bad. */
export function parseRfc3339(text: string): number {
  const fast = parseUtcFast(text);
  return fast >= 0 ? fast : parseRfc3339Slow(text);
}

/**
 * The flows' own form, `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, without a regular expression or a Date
 * (queries over a full store compare thousands of times); -1 for anything else.
 */
function parseUtcFast(t: string): number {
  const n = t.length;
  if (n < 20 || n > 30 || t.charCodeAt(n - 1) !== 90 /* Z */) return -1;
  if (t[4] !== "-" || t[7] !== "-" || t[10] !== "T" || t[13] !== ":" || t[16] !== ":") return -1;
  if (n > 20 && (t[19] !== "." || n === 21)) return -1;
  const num = (from: number, len: number) => {
    let v = 0;
    for (let i = from; i < from + len; i++) {
      const d = t.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return -1;
      v = v * 10 + d;
    }
    return v;
  };
  const y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2);
  const sec = num(17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59) return -1;
  if (sec < 0 || sec > 59 || d > daysInMonth(y, mo)) return -1;
  let frac = 0;
  let scale = 100;
  for (let i = 20; i < n - 1; i++) {
    const digit = t.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    frac += digit * scale;
    scale /= 10;
  }
  return Date.UTC(y, mo - 1, d, h, mi, sec) + frac;
}

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

function parseRfc3339Slow(text: string): number {
  const m = RFC3339.exec(text);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!fieldsRoundTrip(ms, y!, mo!, d!, h!, mi!, s!)) return NaN;
  let offset = 0;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone!.startsWith("-") ? -1 : 1;
    const hours = Number(zone!.slice(1, 3));
    const minutes = Number(zone!.slice(4, 6));
    if (hours > 23 || minutes > 59) return NaN;
    offset = sign * (hours * 60 + minutes) * 60_000;
  }
  return ms - offset + (frac ? Number(`0.${frac}`) * 1000 : 0);
}

/** A flow's time in milliseconds (see the header); 0 for a flow without a valid time. */
export function flowTimeMs(flow: { time: string }): number {
  const t = parseRfc3339(flow.time);
  return Number.isNaN(t) ? 0 : t;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Go-style durations ("300ms", "5m", "1h30m", plus "d" for days); undefined if not one. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)) {
    total += Number(part[1]) * UNIT_MS[part[2]!]!;
  }
  return total;
}

export const TIME_FORMS = "a duration before now (e.g. 30s, 5m, 1h30m, 2d) or an RFC 3339 time " +
  "(e.g. 2026-12-05T10:00:00Z)";

/**
 * `--since`/`--until`: a duration before `now`, an RFC 3339 time, or a date/time without zone
 * (`2026-12-05`, `2026-12-05T10:00`: UTC, as Hubble's parser reads them). Returns milliseconds
 * since the epoch, or the reason it is not a time.
 */
export function parseTimeFlag(text: string, now: number): number | string {
  const d = parseDuration(text);
  if (d !== undefined) return now - d;
  const t = parseRfc3339(text);
  if (!Number.isNaN(t)) return t;
  const m = LOCAL_DATE_TIME.exec(text);
  if (m) {
    const [, y, mo, day, h = "00", mi = "00", s = "00"] = m;
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(day), Number(h), Number(mi), Number(s));
    if (fieldsRoundTrip(ms, y!, mo!, day!, h, mi, s)) return ms;
    return `is not a valid date: ${TIME_FORMS}`;
  }
  if (RFC3339.test(text) || /^\d{4}-\d{2}-\d{2}[Tt ]/.test(text)) {
    return `is not a valid time: ${TIME_FORMS}`;
  }
  return `must be ${TIME_FORMS}`;
}

/** RFC 3339 text of epoch milliseconds, UTC with nine digits (microseconds, as precise as the
 * float is; the flows' own form). */
export function formatRfc3339(ms: number): string {
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString(); // 2026-12-05T10:15:42.123Z
  const micros = Math.min(999, Math.round((ms - whole) * 1000));
  return `${iso.slice(0, 23)}${String(micros).padStart(3, "0")}000Z`;
}

function fieldsRoundTrip(ms: number, ...fields: string[]): boolean {
  if (Number.isNaN(ms)) return false;
  const d = new Date(ms);
  const got = [
    d.getUTCFullYear(),
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
  ];
  return fields.every((f, i) => Number(f) === got[i]);
}
