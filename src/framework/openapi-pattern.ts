// Pattern expansion for OpenAPI: a path regex becomes one OpenAPI path per
// combination of its optional parts and alternatives, with named groups as
// `{name}` (the Go SDK's expandPattern, which walks the RE2 syntax tree; this
// walks a JavaScript regex with a small parser for the translatable subset).
// Go's parser also simplifies (e.g. `(a|b)` of single characters becomes a
// class, which has no OpenAPI form); such rare differences are not copied.

type PatternNode =
  | { kind: "empty" }
  | { kind: "literal"; text: string }
  | { kind: "concat"; items: PatternNode[] }
  | { kind: "alternate"; options: PatternNode[] }
  | { kind: "optional"; item: PatternNode }
  | { kind: "named"; name: string }
  | { kind: "untranslatable" };

class UntranslatablePattern extends Error {}

/**
 * A small parser for the regex subset that has an OpenAPI form (JavaScript
 * syntax). Anything else (classes, `.`, `*`, `+`, `{n}`, lookarounds,
 * back-references) parses to an "untranslatable" node; inside a named group
 * nothing matters, as the group becomes a parameter.
 */
class PatternParser {
  private index = 0;

  constructor(private readonly source: string) {}

  parse(): PatternNode {
    const node = this.alternation();
    if (this.index < this.source.length) throw new UntranslatablePattern("unbalanced parenthesis");
    return node;
  }

  private peek(offset = 0): string {
    return this.source[this.index + offset] ?? "";
  }

  private alternation(): PatternNode {
    const options = [this.sequence()];
    while (this.peek() === "|") {
      this.index++;
      options.push(this.sequence());
    }
    return options.length === 1 ? (options[0] ?? { kind: "empty" }) : { kind: "alternate", options };
  }

  private sequence(): PatternNode {
    const items: PatternNode[] = [];
    while (this.index < this.source.length && this.peek() !== "|" && this.peek() !== ")") {
      items.push(this.quantified(this.atom()));
    }
    return { kind: "concat", items };
  }

  private quantified(atom: PatternNode): PatternNode {
    const next = this.peek();
    if (next === "?") {
      this.index++;
      if (this.peek() === "?") this.index++; // lazy makes no difference to the paths
      return { kind: "optional", item: atom };
    }
    if (next === "*" || next === "+") {
      this.index++;
      if (this.peek() === "?") this.index++;
      return { kind: "untranslatable" };
    }
    if (next === "{") {
      const close = this.source.indexOf("}", this.index);
      this.index = close < 0 ? this.source.length : close + 1;
      if (this.peek() === "?") this.index++;
      return { kind: "untranslatable" };
    }
    return atom;
  }

  private atom(): PatternNode {
    const char = this.peek();
    if (char === "(") return this.group();
    if (char === "[") {
      this.skipClass();
      return { kind: "untranslatable" };
    }
    this.index++;
    if (char === "^" || char === "$") return { kind: "empty" };
    if (char === ".") return { kind: "untranslatable" };
    if (char === "\\") return this.escape();
    // Keep surrogate pairs together.
    const code = char.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdbff && this.index < this.source.length) {
      const low = this.peek();
      this.index++;
      return { kind: "literal", text: char + low };
    }
    return { kind: "literal", text: char };
  }

  private escape(): PatternNode {
    const char = this.peek();
    this.index++;
    switch (char) {
      case "b":
      case "B":
        return { kind: "empty" };
      case "n":
        return { kind: "literal", text: "\n" };
      case "t":
        return { kind: "literal", text: "\t" };
      case "r":
        return { kind: "literal", text: "\r" };
      case "f":
        return { kind: "literal", text: "\f" };
      case "v":
        return { kind: "literal", text: "\v" };
      case "x": {
        const hex = this.source.slice(this.index, this.index + 2);
        this.index += 2;
        return { kind: "literal", text: String.fromCharCode(Number.parseInt(hex, 16)) };
      }
      case "u": {
        if (this.peek() === "{") {
          const close = this.source.indexOf("}", this.index);
          const hex = this.source.slice(this.index + 1, close);
          this.index = close + 1;
          return { kind: "literal", text: String.fromCodePoint(Number.parseInt(hex, 16)) };
        }
        const hex = this.source.slice(this.index, this.index + 4);
        this.index += 4;
        return { kind: "literal", text: String.fromCharCode(Number.parseInt(hex, 16)) };
      }
      case "p":
      case "P":
      case "k":
        if (this.peek() === "{" || this.peek() === "<") {
          const close = this.source.indexOf(this.peek() === "{" ? "}" : ">", this.index);
          this.index = close < 0 ? this.source.length : close + 1;
        }
        return { kind: "untranslatable" };
      default:
        if (/^[dDwWsS1-9]$/.test(char)) return { kind: "untranslatable" };
        if (char === "0") return { kind: "literal", text: "\0" };
        return { kind: "literal", text: char };
    }
  }

  private skipClass(): void {
    this.index++; // [
    while (this.index < this.source.length && this.peek() !== "]") {
      if (this.peek() === "\\") this.index++;
      this.index++;
    }
    this.index++; // ]
  }

  private group(): PatternNode {
    this.index++; // (
    let name: string | undefined;
    let lookaround = false;
    if (this.peek() === "?") {
      const marker = this.peek(1);
      if (marker === ":") {
        this.index += 2;
      } else if (marker === "<" && this.peek(2) !== "=" && this.peek(2) !== "!") {
        const close = this.source.indexOf(">", this.index);
        name = this.source.slice(this.index + 2, close);
        this.index = close + 1;
      } else {
        lookaround = true;
        this.index += marker === "<" ? 3 : 2;
      }
    }
    const inner = this.alternation();
    if (this.peek() !== ")") throw new UntranslatablePattern("unbalanced parenthesis");
    this.index++;
    if (lookaround) return { kind: "untranslatable" };
    if (name !== undefined) return { kind: "named", name };
    // Unnamed groups only group, as in Go's treatment of Vault patterns.
    return inner;
  }
}

interface Collector {
  text: string;
  /** Length at which a lone optional "/" was appended (Go's conditionalSlashAppendedAtLength). */
  optionalSlashAt: number;
}

function collect(node: PatternNode, into: Collector[], captures: Set<string>): Collector[] {
  switch (node.kind) {
    case "empty":
      return into;
    case "literal":
      for (const collector of into) collector.text += node.text;
      return into;
    case "concat": {
      let current = into;
      for (const item of node.items) current = collect(item, current, captures);
      return current;
    }
    case "alternate": {
      const all: Collector[] = [];
      for (const option of node.options) {
        all.push(...collect(option, into.map((collector) => ({ ...collector })), captures));
      }
      return all;
    }
    case "optional": {
      const withItem = collect(
        node.item,
        into.map((collector) => ({ ...collector })),
        captures,
      );
      // Patterns commonly end in `/?`; that variant is dropped unless more follows.
      if (node.item.kind === "literal" && node.item.text === "/") {
        for (const collector of withItem) collector.optionalSlashAt = collector.text.length;
      }
      return [...into, ...withItem];
    }
    case "named":
      for (const collector of into) collector.text += `{${node.name}}`;
      captures.add(node.name);
      return into;
    case "untranslatable":
      throw new UntranslatablePattern("pattern has no OpenAPI form");
  }
}

export interface ExpandedPattern {
  paths: string[];
  /** Every named group of the pattern, wherever it sits. */
  captures: Set<string>;
}

/**
 * The OpenAPI paths a pattern stands for, e.g. `roles/?` → `roles`,
 * `creds(/(?<name>.+))?` → `creds`, `creds/{name}`. Undefined when the
 * pattern has parts outside named groups that OpenAPI cannot express.
 */
export function expandPattern(pattern: string): ExpandedPattern | undefined {
  const captures = new Set<string>();
  try {
    const tree = new PatternParser(pattern).parse();
    const collectors = collect(tree, [{ text: "", optionalSlashAt: -1 }], captures);
    const paths = collectors
      .filter((collector) => collector.optionalSlashAt !== collector.text.length)
      .map((collector) => collector.text);
    return { paths, captures };
  } catch (error) {
    if (error instanceof UntranslatablePattern) return undefined;
    throw error;
  }
}
