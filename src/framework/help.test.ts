// `vault path-help` output, character for character as the Go SDK lays it out.
import { describe, expect, it } from "vitest";
import { TypeBool, TypeDurationSecond, TypeString } from "./field-types.ts";
import { indent, pathHelpText, rootHelpText } from "./help.ts";
import { definePath, genericNameRegex } from "./path.ts";

describe("path help", () => {
  it("lists fields alphabetically with type names and indented descriptions", () => {
    const path = definePath({
      pattern: `roles/${genericNameRegex("name")}`,
      fields: {
        ttl: { type: TypeDurationSecond, description: "Lease TTL.\nSecond line." },
        name: { type: TypeString, description: "  Name of the role.  " },
        old: { type: TypeString, description: "Use ttl.", deprecated: true },
        bare: { type: TypeBool },
      },
      operations: {},
      helpSynopsis: "Manage roles.\n",
      helpDescription: "\nRoles say which policies a token gets.\n",
    });
    expect(pathHelpText(path, "roles/web")).toBe(
      [
        "Request:        roles/web",
        String.raw`Matching Route: ^roles/(?P<name>\w(([\w.-]+)?\w)?)$`,
        "",
        "Manage roles.",
        "",
        "## PARAMETERS",
        "",
        "    bare (bool)",
        "",
        "        <no description>",
        "",
        "    name (string)",
        "",
        "        Name of the role.",
        "",
        "    old (string)",
        "",
        "        (DEPRECATED) Use ttl.",
        "",
        "    ttl (duration (sec))",
        "",
        "        Lease TTL.",
        "        Second line.",
        "",
        "## DESCRIPTION",
        "",
        "Roles say which policies a token gets.",
      ].join("\n"),
    );
  });

  it("fills in missing synopsis and description, and leaves two blank lines when there are no fields", () => {
    const path = definePath({ pattern: "^x", operations: {} });
    expect(pathHelpText(path, "x")).toBe(
      ["Request:        x", "Matching Route: ^x$", "", "<no synopsis>", "", "", "## DESCRIPTION", "", "<no description>"].join(
        "\n",
      ),
    );
  });
});

describe("root help", () => {
  it("lists every route sorted, with its synopsis", () => {
    const paths = [
      definePath({ pattern: "b/?$", operations: {}, helpSynopsis: "Synopsis b." }),
      definePath({ pattern: "c", operations: {} }),
      definePath({ pattern: "a", operations: {}, helpSynopsis: " Synopsis a. " }),
    ];
    expect(rootHelpText("\nThe example backend.\n", paths)).toBe(
      [
        "## DESCRIPTION",
        "",
        "The example backend.",
        "",
        "## PATHS",
        "",
        "The following paths are supported by this backend. To view help for",
        "any of the paths below, use the help command with any route matching",
        "the path pattern. Note that depending on the policy of your auth token,",
        "you may or may not be able to access certain paths.",
        "",
        "    ^a$",
        "        Synopsis a.",
        "",
        "    ^b/?$",
        "        Synopsis b.",
        "",
        "    ^c$",
      ].join("\n"),
    );
  });
});

describe("indent (the template function)", () => {
  it.each([
    ["", ""],
    ["a", "    a"],
    ["a\nb", "    a\n    b"],
    ["a\n\nb", "    a\n    \n    b"],
    ["a\n", "    a"],
    ["a\r\nb", "    a\n    b"],
  ])("%j", (text, indented) => {
    expect(indent(4, text)).toBe(indented);
  });
});
