// Serves the production build (dist/) under a sub-path (see static-files.ts).
//   tsx e2e/static-server.ts [port] [prefix] [root]
import { createStaticServer } from "./static-files.ts";

const port = Number(process.argv[2] ?? 4173);
const prefix = process.argv[3] ?? "/demo/";
const root = process.argv[4] ?? "dist";

createStaticServer(root, prefix).listen(port, "127.0.0.1", () => console.log(`serving ${root} at http://127.0.0.1:${port}${prefix}`));
