/**
 * A small argument parser: options anywhere before `--`, `--name value`, `--name=value`,
 * `-x value`, bundled short flags (`-vF`), `--no-name` for negatable flags, repeatable
 * options. It knows nothing about commands: each command passes its own table, so `--help`
 * text and parsing are written side by side and cannot drift apart.
 */
import { UsageError } from "./errors.js";

export interface OptionSpec {
  /** "flag": boolean; "value": takes an argument. */
  kind: "flag" | "value";
  short?: string;
  /** `--no-NAME` sets a flag to false. */
  negatable?: boolean;
  /** Collect every occurrence (values only). */
  repeat?: boolean;
}

export type OptionTable = Record<string, OptionSpec>;

export interface Parsed {
  /** Flags as booleans, values as strings, repeated values as string arrays. */
  options: Record<string, boolean | string | string[] | undefined>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], table: OptionTable): Parsed {
  const options: Parsed["options"] = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(table)) if (spec.short) byShort.set(spec.short, name);

  const set = (name: string, spec: OptionSpec, value: string | boolean) => {
    if (spec.repeat && typeof value === "string") ((options[name] as string[] | undefined) ?? (options[name] = [])).push(value);
    else options[name] = value;
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      let spec = table[name];
      let negated = false;
      if (spec === undefined && name.startsWith("no-") && table[name.slice(3)]?.negatable) {
        name = name.slice(3);
        spec = table[name];
        negated = true;
      }
      if (spec === undefined) throw new UsageError(`unknown option --${name} (see --help)`);
      if (spec.kind === "flag") {
        if (eq !== -1) throw new UsageError(`--${name} takes no value`);
        set(name, spec, !negated);
      } else {
        const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        set(name, spec, value);
      }
      continue;
    }
    // A lone "-" and negative-looking items stay positional; so does anything HTTPie-like.
    if (arg.startsWith("-") && arg.length > 1 && !/^-\d/.test(arg)) {
      for (let j = 1; j < arg.length; j++) {
        const name = byShort.get(arg[j]);
        if (name === undefined) throw new UsageError(`unknown option -${arg[j]} (see --help)`);
        const spec = table[name];
        if (spec.kind === "flag") {
          set(name, spec, true);
          continue;
        }
        const rest = arg.slice(j + 1);
        const value = rest !== "" ? rest : argv[++i];
        if (value === undefined) throw new UsageError(`-${arg[j]} needs a value`);
        set(name, spec, value);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { options, positionals };
}

/** Typed getters, so commands do not repeat the casts. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.options[name];
  return typeof v === "string" ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean | undefined {
  const v = p.options[name];
  return typeof v === "boolean" ? v : undefined;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.options[name];
  return Array.isArray(v) ? v : [];
}
