// node validate_asyncapi.mjs FILE: prints the parser's diagnostics as JSON; exit 1 on any error.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const source = await readFile(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(source);
const found = diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
console.log(JSON.stringify(found));
process.exit(document && !found.some((d) => d.severity === 0) ? 0 : 1);
