// Builds the uss server the tests run, from this repository.
import { buildServer, serverBinary } from "./harness/uss.mjs";

await buildServer();
console.log(`built ${serverBinary}`);
