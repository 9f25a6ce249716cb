/**
 * Node builtins loaded with require, not import. An ESM import of a builtin reads every
 * one of its exports, which runs their lazy getters: node:http's WebSocket, CloseEvent
 * and MessageEvent load Node's bundled undici (0.75 MB of source; nodejs/node#59686) and
 * node:tls's rootCertificates parses every bundled root certificate. Skiff needs neither
 * at start-up; together they were 3 MiB of skiff-cri's idle RSS.
 */
import type * as Http from "node:http";
import { createRequire } from "node:module";
import type * as Tls from "node:tls";

const require = createRequire(import.meta.url);

export const http = require("node:http") as typeof Http;
export const tls = require("node:tls") as typeof Tls;
