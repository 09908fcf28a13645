// The part of @mercuryworkshop/wisp-js's server API the WISP test uses (the package ships no types).
declare module "@mercuryworkshop/wisp-js/server" {
  import type { IncomingMessage } from "node:http";
  import type { Duplex } from "node:stream";
  export const server: {
    routeRequest(request: IncomingMessage, socket: Duplex, head: Buffer): void;
    options: Record<string, unknown>;
  };
  export const logging: { set_level(level: number): void; ERROR: number };
}
