import assert from "node:assert/strict";
import { CniError, CniErrorCode, cniErrorJson, toCniError } from "./errors.ts";

Deno.test("CniErrorCode holds the spec's well-known codes", () => {
  assert.deepEqual(
    [
      CniErrorCode.IncompatibleVersion,
      CniErrorCode.UnsupportedField,
      CniErrorCode.UnknownContainer,
      CniErrorCode.InvalidEnvironment,
      CniErrorCode.IoFailure,
      CniErrorCode.DecodingFailure,
      CniErrorCode.InvalidNetworkConfig,
      CniErrorCode.TryAgainLater,
      CniErrorCode.PluginNotAvailable,
      CniErrorCode.PluginNotAvailableLimitedConnectivity,
    ],
    [1, 2, 3, 4, 5, 6, 7, 11, 50, 51],
  );
  assert.ok(CniErrorCode.Internal >= 100, "plugin-specific codes are 100+");
});

Deno.test("cniErrorJson() prints cniVersion, code, msg and details only when present", () => {
  assert.deepEqual(cniErrorJson("1.0.0", new CniError(7, "Bad", "longer")), {
    cniVersion: "1.0.0",
    code: 7,
    msg: "Bad",
    details: "longer",
  });
  assert.deepEqual(cniErrorJson("0.4.0", new CniError(11, "Later")), {
    cniVersion: "0.4.0",
    code: 11,
    msg: "Later",
  });
});

Deno.test("toCniError() keeps CniErrors and turns anything else into an internal error", () => {
  const e = new CniError(4, "Missing CNI_IFNAME: required for ADD");
  assert.equal(toCniError(e), e);
  const wrapped = toCniError(new TypeError("x is undefined"));
  assert.equal(wrapped.code, CniErrorCode.Internal);
  assert.match(wrapped.msg, /^Internal error in the hypha CNI plugin: x is undefined$/);
});
