// Strict structural validation of JSON values against TypeScript type declarations
// (kubernetes-types, @kubernetes-models/*, @grafana/schema), using the TypeScript compiler API.
//
// JSON-schema validators generated from OpenAPI usually let unknown fields through (the API
// server would prune or reject them); this walker reports every field the type does not
// declare, every wrong primitive kind, every value outside a literal union (enums), and every
// missing required field, with a JSON path.
import { createRequire } from "node:module";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const short = (s) => (s.length > 80 ? s.slice(0, 77) + "..." : s);

export class TypeShapes {
  // toolsDir: where node_modules with typescript and the type packages live.
  // imports: { alias: [moduleSpecifier, exportedTypeName] }
  constructor(toolsDir, imports) {
    toolsDir = resolve(toolsDir);
    const require = createRequire(join(toolsDir, "package.json"));
    const ts = require("typescript");
    this.ts = ts;
    const dir = mkdtempSync(join(toolsDir, ".tsshape-"));
    const file = join(dir, "types.ts");
    const lines = [];
    let i = 0;
    for (const [alias, [mod, name]] of Object.entries(imports)) {
      lines.push(`import type { ${name} as __T${i} } from ${JSON.stringify(mod)};`);
      lines.push(`export type ${alias} = __T${i};`);
      i++;
    }
    writeFileSync(file, lines.join("\n") + "\n");
    const options = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      target: ts.ScriptTarget.ES2022,
      types: [],
    };
    const program = ts.createProgram([file], options);
    const diags = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
    rmSync(dir, { recursive: true, force: true });
    if (diags.length) {
      throw new Error(
        "cannot load type declarations:\n" +
          diags.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n"),
      );
    }
    this.checker = program.getTypeChecker();
    const sf = program.getSourceFile(file);
    this.types = {};
    this.anchor = sf;
    for (const stmt of sf.statements) {
      if (ts.isTypeAliasDeclaration(stmt)) {
        this.types[stmt.name.text] = this.checker.getTypeAtLocation(stmt.name);
      }
    }
  }

  // Returns a list of "path: message" strings (empty when the value conforms).
  check(value, alias, path = "") {
    const type = this.types[alias];
    if (!type) throw new Error(`unknown type alias ${alias}`);
    const errors = [];
    this.#walk(value, type, path || "$", errors, 0);
    return errors;
  }

  #typeOfProp(sym) {
    const c = this.checker;
    if (c.getTypeOfSymbol) return c.getTypeOfSymbol(sym);
    return c.getTypeOfSymbolAtLocation(sym, sym.valueDeclaration ?? this.anchor);
  }

  #describe(type) {
    return this.checker.typeToString(type);
  }

  // The declared type text of a property or index signature ("Quantity", "IntOrString", ...).
  #declText(decl) {
    try {
      return decl?.type ? decl.type.getText() : "";
    } catch {
      return "";
    }
  }

  #walk(value, type, path, errors, depth, declared = "") {
    const ts = this.ts;
    const F = ts.TypeFlags;
    if (depth > 64) return;
    if (type.flags & (F.Any | F.Unknown)) return;
    if (value === null || value === undefined) return; // optional fields may be null in YAML

    // Unions: drop null/undefined, then dispatch on the value's kind.
    let members = type.isUnion() ? type.types : [type];
    members = members.filter((t) => !(t.flags & (F.Null | F.Undefined | F.Void)));
    if (members.some((t) => t.flags & (F.Any | F.Unknown))) return;

    const kind = Array.isArray(value) ? "array" : typeof value;
    const literalOk = (t) =>
      (t.flags & F.StringLiteral && kind === "string" && t.value === value) ||
      (t.flags & F.NumberLiteral && kind === "number" && t.value === value) ||
      (t.flags & F.BooleanLiteral && kind === "boolean" && this.#describe(t) === String(value));
    const primOk = (t) =>
      (t.flags & (F.String | F.TemplateLiteral) && kind === "string") ||
      (t.flags & F.Number && kind === "number") ||
      (t.flags & F.Boolean && kind === "boolean") ||
      (t.flags & F.BigInt && kind === "number");
    if (kind === "string" || kind === "number" || kind === "boolean") {
      if (members.some((t) => primOk(t) || literalOk(t))) return;
      // resource.Quantity is a string in the Go and TS types, but the API server also accepts
      // a plain number (cpu: 1).
      if (kind === "number" && /(^|\.)Quantity$/.test(declared)) return;
      const lits = members.filter((t) => t.flags & (F.StringLiteral | F.NumberLiteral | F.BooleanLiteral));
      if (lits.length && lits.length === members.length) {
        errors.push(`${path}: ${JSON.stringify(value)} is not one of ${lits.map((t) => this.#describe(t)).join(" | ")}`);
      } else {
        errors.push(`${path}: ${kind} ${JSON.stringify(value)} where ${this.#describe(type)} is expected`);
      }
      return;
    }
    const objectMembers = members.filter((t) => t.flags & F.Object || t.flags & F.Intersection || t.flags & F.NonPrimitive);
    if (kind === "array") {
      const arrays = objectMembers.filter((t) => this.checker.isArrayType(t) || this.checker.isTupleType(t));
      if (!arrays.length) {
        errors.push(`${path}: array where ${this.#describe(type)} is expected`);
        return;
      }
      const elem = this.checker.getTypeArguments(arrays[0]);
      value.forEach((v, i) => {
        const et = this.checker.isTupleType(arrays[0]) ? elem[i] ?? elem[elem.length - 1] : elem[0];
        if (et) this.#walk(v, et, `${path}[${i}]`, errors, depth + 1);
      });
      return;
    }
    // object
    const records = objectMembers.filter((t) => !this.checker.isArrayType(t) && !this.checker.isTupleType(t));
    if (!records.length) {
      errors.push(`${path}: object where ${this.#describe(type)} is expected`);
      return;
    }
    if (records.length === 1) {
      this.#walkObject(value, records[0], path, errors, depth);
      return;
    }
    // Several object shapes (e.g. Panel | RowPanel): take the one that fits best.
    let best = null;
    for (const t of records) {
      const errs = [];
      this.#walkObject(value, t, path, errs, depth);
      if (!errs.length) return;
      if (!best || errs.length < best.length) best = errs;
    }
    errors.push(...best);
  }

  #walkObject(value, type, path, errors, depth) {
    const ts = this.ts;
    const c = this.checker;
    if (type.flags & ts.TypeFlags.NonPrimitive) return; // `object`
    const props = c.getPropertiesOfType(type);
    const index = c.getIndexInfoOfType(type, ts.IndexKind.String);
    const byName = new Map(props.map((p) => [p.getName(), p]));
    for (const [key, v] of Object.entries(value)) {
      const p = byName.get(key);
      const sub = `${path}.${key}`;
      if (p) {
        this.#walk(v, this.#typeOfProp(p), sub, errors, depth + 1, this.#declText(p.valueDeclaration));
      } else if (index) {
        this.#walk(v, index.type, sub, errors, depth + 1, this.#declText(index.declaration));
      } else {
        errors.push(`${sub}: unknown field (not in ${short(c.typeToString(type))})`);
      }
    }
    for (const p of props) {
      const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
      if (!optional && !(p.getName() in value)) {
        // A required field whose type admits undefined is effectively optional.
        const t = this.#typeOfProp(p);
        const admitsUndefined = t.isUnion() && t.types.some((m) => m.flags & ts.TypeFlags.Undefined);
        if (!admitsUndefined) errors.push(`${path}.${p.getName()}: required field missing`);
      }
    }
  }
}
