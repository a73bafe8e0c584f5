// Compiled (not run) by npm test: the declarations as a CommonJS program sees them.
import uss = require("uss-client");

const client = new uss.UssClient({ url: "http://127.0.0.1:8080", apiKey: "key" });
export const deleted: Promise<uss.Deleted> = client.eraseUser("u");
export const storage: uss.VwoFmeStorage = new uss.VwoFmeStorage(client);
export const flushed: Promise<void> = new uss.GrowthBookStickyBucketService(client).flush();
