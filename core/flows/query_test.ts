import assert from "node:assert/strict";
import { FlowFilterError } from "./filter.ts";
import { flowQueryParams, parseFilterSpec, parseFlowQuery } from "./query.ts";

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const parse = (qs: string) => parseFlowQuery(new URLSearchParams(qs), NOW);

Deno.test("parseFlowQuery() builds one allow and one deny filter from flags", () => {
  const q = parse(
    "from-pod=shop/web&verdict=DROPPED&verdict=ERROR&not-namespace=kube-system&node=n1&last=5",
  );
  assert.deepEqual(q.filters, {
    allow: [{ source_pod: ["shop/web"], verdict: ["DROPPED", "ERROR"], node_name: ["n1"] }],
    deny: [{ namespace: ["kube-system"] }],
  });
  assert.equal(q.last, 5);
  assert.equal(q.follow, false);
  assert.equal(q.cluster, false);
  assert.deepEqual(parse("").filters, {});
});

Deno.test("parseFlowQuery() reads times, limits and modes", () => {
  const q = parse("since=5m&until=2026-12-05T11:59:00Z&follow=false&cluster=true&first=3");
  assert.equal(q.since, NOW - 300_000);
  assert.equal(q.until, NOW - 60_000);
  assert.equal(q.first, 3);
  assert.equal(q.cluster, true);
  assert.equal(parse("follow").follow, true);
  assert.equal(parse("follow=1&last=10").follow, true);
});

Deno.test("parseFlowQuery() errors name the flag and the reason", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["last=0", "last", `Invalid --last "0": must be a positive integer (at most 999999999)`],
    ["last=-3", "last", `Invalid --last "-3": must be a positive integer`],
    ["last=ten", "last", `Invalid --last "ten": must be a positive integer`],
    ["first=1.5", "first", `Invalid --first "1.5": must be a positive integer`],
    ["since=5x", "since", `Invalid --since "5x": must be a duration before now`],
    ["until=2026-12-32", "until", `Invalid --until "2026-12-32": is not a valid date`],
    [
      "since=2026-12-05T11:00:00Z&until=2026-12-05T10:00:00Z",
      "since",
      `Invalid --since "2026-12-05T11:00:00Z": is after --until "2026-12-05T10:00:00Z" ` +
      "(2026-12-05T11:00:00.000000000Z > 2026-12-05T10:00:00.000000000Z)",
    ],
    ["since=1m&since=2m", "since", `Invalid --since "2m": --since is given twice`],
    ["first=1&last=1", "first", `Invalid --first "1": cannot be combined with --last`],
    ["follow=true&first=1", "first", `Invalid --first "1": cannot be combined with --follow`],
    ["follow=true&until=1m", "until", `Invalid --until "1m": cannot be combined with --follow`],
    [
      "follow=true&cluster=true",
      "cluster",
      `Invalid --cluster "true": cannot be combined with --follow`,
    ],
    ["follow=yes", "follow", `Invalid --follow "yes": must be true or false`],
    ["verdict=NOPE", "verdict", `Invalid --verdict "NOPE": must be one of FORWARDED, DROPPED`],
    ["not-from-ip=x", "from-ip", `Invalid --from-ip "x": must be an IP address or a CIDR`],
    ["frm-pod=x", "frm-pod", `Invalid --frm-pod "x": unknown filter (known: from-pod, to-pod`],
  ];
  for (const [qs, field, message] of cases) {
    await t.step(qs, () => {
      assert.throws(() => parse(qs), (e: unknown) => {
        assert.ok(e instanceof FlowFilterError);
        assert.equal(e.field, field);
        assert.ok(e.message.startsWith(message), `${e.message}\n  does not start with\n${message}`);
        return true;
      });
    });
  }
});

Deno.test("flowQueryParams() sends absolute times and every filter, no modes", () => {
  const q = parse("pod=shop/web&not-verdict=FORWARDED&since=1h&last=7&cluster=true");
  const params = flowQueryParams(q);
  assert.equal(
    params.toString(),
    "pod=shop%2Fweb&not-verdict=FORWARDED&since=2026-12-05T11%3A00%3A00.000000000Z&last=7",
  );
  assert.deepEqual(parseFlowQuery(params, NOW + 999_999), { ...q, cluster: false });
});

Deno.test("parseFilterSpec() takes filters only", () => {
  assert.deepEqual(parseFilterSpec("verdict=DROPPED&not-namespace=kube-system"), {
    allow: [{ verdict: ["DROPPED"] }],
    deny: [{ namespace: ["kube-system"] }],
  });
  assert.deepEqual(parseFilterSpec("?protocol=udp"), { allow: [{ protocol: ["udp"] }] });
  assert.throws(() => parseFilterSpec("last=5"), /Invalid --last "5": is not a filter/);
  assert.throws(() => parseFilterSpec("verdict=X"), /Invalid --verdict "X"/);
});

Deno.test("parseFlowQuery() caps the parameters a client sends, naming the one over", () => {
  const fails = (qs: string | URLSearchParams, field: string, message: RegExp) =>
    assert.throws(() => parseFlowQuery(new URLSearchParams(qs), NOW), (e: unknown) => {
      assert.ok(e instanceof FlowFilterError);
      assert.equal(e.field, field);
      assert.match(e.message, message);
      return true;
    });
  fails(`since=${"1".repeat(300)}m`, "since", /\(301 characters\): must be at most 256 characters/);
  fails("verdict=DROPPED&=x", "query", /a query parameter has no name/);
  const many = new URLSearchParams();
  for (let i = 0; i < 80; i++) many.append("port", String(i + 1));
  fails(many, "port", /^Invalid --port "71": too many query parameters: at most 64 filter values/);
  many.delete("port");
  for (let i = 0; i < 65; i++) many.append("port", String(i + 1));
  fails(many, "port", /^Invalid --port "65": too many filter values: at most 64 in one query/);
  const long = parse(`node-name=${"*a".repeat(100)}`);
  assert.equal(long.filters.allow?.[0]?.node_name?.[0]?.length, 200);
});
