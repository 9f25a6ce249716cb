import { describe, expect, test } from "@jest/globals";
import { Readable } from "node:stream";
import { Authorizer, type Sender } from "./auth.js";
import type { Credentials } from "./credentials.js";
import { defaultTimeouts, type Endpoint, type Response, type SendOptions } from "./transport.js";

/** A recording fake of the transport: the token endpoint answers from a script. */
function fakeTransport(
  answer: (options: SendOptions) => { status: number; body: object },
): Sender & {
  calls: SendOptions[];
} {
  const calls: SendOptions[] = [];
  return {
    calls,
    send(_endpoint: Endpoint, options: SendOptions): Promise<Response> {
      calls.push(options);
      const { status, body } = answer(options);
      return Promise.resolve({
        status,
        headers: {},
        body: Readable.from([Buffer.from(JSON.stringify(body))]) as unknown as Response["body"],
        url: new URL(options.path),
      });
    },
  };
}

const endpoint: Endpoint = {
  key: "registry r.example",
  label: "registry r.example",
  host: "r.example",
  allowHttp: false,
  tls: {},
  mirror: false,
};
const challenge =
  'Bearer realm="https://auth.example/token",service="r.example",scope="repository:a/b:pull"';
const scopes = ["repository:a/b:pull"];

describe("bearer token flow", () => {
  test("first request anonymous; the challenge fetches a token; later requests reuse it until expiry", async () => {
    let now = 1_000_000;
    let n = 0;
    const transport = fakeTransport(() => ({
      status: 200,
      body: { token: `t${++n}`, expires_in: 120 },
    }));
    const auth = new Authorizer({ transport, timeouts: defaultTimeouts, now: () => now });
    expect(await auth.authorization(endpoint, scopes, undefined)).toBeUndefined();
    expect(await auth.answer(endpoint, challenge, scopes, undefined, "pull a/b")).toBe("Bearer t1");
    const url = new URL(transport.calls[0]!.path);
    expect(url.origin + url.pathname).toBe("https://auth.example/token");
    expect(url.searchParams.get("service")).toBe("r.example");
    expect(url.searchParams.getAll("scope")).toEqual(["repository:a/b:pull"]);
    expect(transport.calls[0]!.headers?.Authorization).toBeUndefined();

    expect(await auth.authorization(endpoint, scopes, undefined)).toBe("Bearer t1");
    now += 105_000; // 15 s before expiry: still good
    expect(await auth.authorization(endpoint, scopes, undefined)).toBe("Bearer t1");
    now += 6_000; // 9 s before expiry: refreshed early
    expect(await auth.authorization(endpoint, scopes, undefined)).toBe("Bearer t2");
    // Another scope is another token.
    expect(await auth.authorization(endpoint, ["repository:c:pull"], undefined)).toBe("Bearer t3");
    expect(auth.tokenRequests).toBe(3);
  });

  test("concurrent requests of one scope share one token request; expires_in defaults to 60 s", async () => {
    let now = 0;
    const transport = fakeTransport(() => ({
      status: 200,
      body: { access_token: "a", token: "ignored" },
    }));
    const auth = new Authorizer({ transport, timeouts: defaultTimeouts, now: () => now });
    await auth.answer(endpoint, challenge, scopes, undefined, "x");
    const [a, b] = await Promise.all([
      auth.authorization(endpoint, ["repository:z:pull"], undefined),
      auth.authorization(endpoint, ["repository:z:pull"], undefined),
    ]);
    expect([a, b]).toEqual(["Bearer a", "Bearer a"]);
    expect(transport.calls).toHaveLength(2);
    now += 49_000;
    await auth.authorization(endpoint, ["repository:z:pull"], undefined);
    expect(transport.calls).toHaveLength(2);
    now += 2_000;
    await auth.authorization(endpoint, ["repository:z:pull"], undefined);
    expect(transport.calls).toHaveLength(3);
  });

  test("basic credentials go to the token endpoint; identity tokens are exchanged by POST", async () => {
    const transport = fakeTransport(() => ({ status: 200, body: { token: "t" } }));
    const auth = new Authorizer({ transport, timeouts: defaultTimeouts });
    const basic: Credentials = { kind: "basic", username: "u", password: "p" };
    await auth.answer(endpoint, challenge, scopes, basic, "x");
    expect(transport.calls[0]!.headers?.Authorization).toBe(
      `Basic ${Buffer.from("u:p").toString("base64")}`,
    );
    expect(new URL(transport.calls[0]!.path).searchParams.get("account")).toBe("u");

    await auth.answer(
      endpoint,
      challenge,
      scopes,
      { kind: "identityToken", token: "refresh" },
      "x",
    );
    const post = transport.calls[1]!;
    expect(post.method).toBe("POST");
    const form = new URLSearchParams((post.body as Buffer).toString());
    expect(Object.fromEntries(form)).toEqual({
      grant_type: "refresh_token",
      refresh_token: "refresh",
      client_id: "skiff",
      service: "r.example",
      scope: "repository:a/b:pull",
    });
  });

  test("refusals are Unauthenticated with a reason", async () => {
    const transport = fakeTransport(() => ({ status: 401, body: {} }));
    const auth = new Authorizer({ transport, timeouts: defaultTimeouts });
    await expect(
      auth.answer(endpoint, challenge, scopes, undefined, "pull a/b"),
    ).rejects.toMatchObject({
      kind: "Unauthenticated",
      message: expect.stringMatching(/token server https:\/\/auth.example refused the credentials/),
    });
    await expect(
      auth.answer(endpoint, 'Basic realm="x"', scopes, undefined, "pull a/b"),
    ).rejects.toMatchObject({
      kind: "Unauthenticated",
      message: expect.stringMatching(/username and password/),
    });
    await expect(
      auth.answer(endpoint, "Negotiate", scopes, undefined, "pull a/b"),
    ).rejects.toMatchObject({
      kind: "Unauthenticated",
    });
    expect(
      await auth.answer(
        endpoint,
        'Basic realm="x"',
        scopes,
        { kind: "basic", username: "u", password: "p" },
        "x",
      ),
    ).toMatch(/^Basic /);
    expect(await auth.authorization(endpoint, scopes, { kind: "registryToken", token: "rt" })).toBe(
      "Bearer rt",
    );
  });
});
