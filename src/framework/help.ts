// Help texts in the exact layout of the Go SDK's templates, so that
// `vault path-help` prints the same thing for this plugin as for a Go engine.
import type { Path } from "./path.ts";

/**
 * The SDK's `indent` template function: every line of `text` prefixed by
 * `count` spaces (blank lines become just the spaces). Empty text yields "".
 */
export function indent(count: number, text: string): string {
  if (text === "") return "";
  const lines = text.split("\n").map((line) => line.replace(/\r$/, ""));
  // bufio.Scanner yields no final empty line for text that ends in "\n".
  if (text.endsWith("\n")) lines.pop();
  const prefix = " ".repeat(count);
  return lines.map((line) => prefix + line).join("\n");
}

/** Go's sort.Strings order (bytewise); plain `<` compares UTF-16 units, which agrees for ASCII. */
function byBytes(left: string, right: string): number {
  return Buffer.compare(Buffer.from(left, "utf8"), Buffer.from(right, "utf8"));
}

/** The help text of one path for a request to `requestPath`. */
export function pathHelpText(path: Path, requestPath: string): string {
  const synopsis = path.helpSynopsis.trim() || "<no synopsis>";
  const description = path.helpDescription.trim() || "<no description>";
  let text = `\nRequest:        ${requestPath}\nMatching Route: ${goRegexSyntax(path.anchoredPattern)}\n\n${synopsis}\n\n`;
  const names = Object.keys(path.fields).sort(byBytes);
  if (names.length > 0) {
    text += "## PARAMETERS\n";
    for (const name of names) {
      const field = path.fields[name];
      if (field === undefined) continue;
      const fieldDescription = field.description?.trim() || "<no description>";
      const shown = field.deprecated === true ? `(DEPRECATED) ${fieldDescription}` : fieldDescription;
      text += `\n${indent(4, name)} (${field.type.helpName})\n\n${indent(8, shown)}\n`;
    }
  }
  text += `\n## DESCRIPTION\n\n${description}\n`;
  return text.trim();
}

const PATHS_PREAMBLE = [
  "The following paths are supported by this backend. To view help for",
  "any of the paths below, use the help command with any route matching",
  "the path pattern. Note that depending on the policy of your auth token,",
  "you may or may not be able to access certain paths.",
].join("\n");

/** The backend's root help: its description, then every route (sorted) with its synopsis. */
export function rootHelpText(backendHelp: string, paths: readonly Path[]): string {
  const routes = paths.map((path) => ({ route: goRegexSyntax(path.anchoredPattern), synopsis: path.helpSynopsis.trim() }));
  routes.sort((left, right) => byBytes(left.route, right.route));
  let text = `\n## DESCRIPTION\n\n${backendHelp.trim()}\n\n## PATHS\n\n${PATHS_PREAMBLE}\n\n`;
  for (const { route, synopsis } of routes) text += `${indent(4, route)}\n${indent(8, synopsis)}\n\n`;
  text += "\n\n";
  return text.trim();
}

/**
 * Help shows routes as Vault's Go engines do: RE2's `(?P<name>…)` groups. Our
 * patterns are JavaScript regexes, whose named groups lack the `P`.
 */
export function goRegexSyntax(pattern: string): string {
  return pattern.replace(/\(\?<(?![=!])/g, "(?P<");
}
