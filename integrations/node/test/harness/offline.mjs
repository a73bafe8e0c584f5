// Watches every TCP connection the test process opens, so that a test can show the SDKs ran
// offline: every host looked up and every address connected to is the loopback.
import diagnosticsChannel from "node:diagnostics_channel";
import { isIP } from "node:net";

const loopback = (address) => address === "::1" || address === "localhost" || /^127\./.test(address) || /^::ffff:127\./.test(address);

export function watchNetwork() {
  const outside = [];
  const onSocket = ({ socket }) => {
    socket.once("lookup", (_err, address, _family, host) => {
      if (!loopback(host) && !(isIP(address) && loopback(address))) {
        outside.push(host);
      }
    });
    socket.once("connect", () => {
      if (!loopback(socket.remoteAddress ?? "")) {
        outside.push(socket.remoteAddress);
      }
    });
  };
  diagnosticsChannel.subscribe("net.client.socket", onSocket);
  return {
    /** Hosts and addresses outside the loopback the process tried to reach. */
    outside,
    stop: () => diagnosticsChannel.unsubscribe("net.client.socket", onSocket),
  };
}
