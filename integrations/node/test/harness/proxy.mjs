// A TCP proxy in front of uss that a test can cut and restore at once: the adapters reach uss
// through it, while assertions read uss directly.
import { connect, createServer } from "node:net";

import { UssUnavailableError } from "uss-client";

export class Proxy {
  static async start(target) {
    const p = new Proxy(target);
    await new Promise((resolve) => p.server.listen(0, "127.0.0.1", resolve));
    return p;
  }

  constructor(target) {
    const [host, port] = target.split(":");
    this.broken = false;
    this.connections = 0;
    this.sockets = new Set();
    this.server = createServer((client) => {
      this.connections++;
      if (this.broken) {
        client.destroy();
        return;
      }
      const upstream = connect(Number(port), host);
      this.track(client, upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close);
      upstream.on("error", close);
      client.on("close", close);
      upstream.on("close", close);
    });
  }

  track(...sockets) {
    for (const s of sockets) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    }
  }

  get url() {
    const { port } = this.server.address();
    return `http://127.0.0.1:${port}`;
  }

  /** cut closes every connection and refuses new ones until restore. */
  cut() {
    this.broken = true;
    for (const s of this.sockets) {
      s.destroy();
    }
  }

  restore() {
    this.broken = false;
  }

  close() {
    this.cut();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * cutUntilAFailedRead cuts the proxy now and restores it as soon as the adapter reports the
 * failed read this causes: uss answers again between the SDK's read and its write.
 */
export function cutUntilAFailedRead(proxy, log) {
  proxy.cut();
  log.then = (err) => {
    if (err instanceof UssUnavailableError) {
      proxy.restore();
    }
  };
}
