// The message Markdown subset: what a body parses to (the view builds nodes from it, never markup).

import assert from "node:assert/strict";
import { test } from "node:test";

import { parseMarkdown, safeHref } from "../../../service/web/static/markdown.js";

const text = (value) => ({ type: "text", text: value });
const para = (...children) => ({ type: "paragraph", children });
const link = (href, ...children) => ({ type: "link", href, children });

/** Every node of the tree, depth first. */
function* nodes(list) {
  for (const node of list) {
    yield node;
    if (node.children) yield* nodes(node.children);
    if (node.items) for (const item of node.items) yield* nodes(item);
  }
}

test("plain text is one paragraph of text, its line breaks kept", () => {
  assert.deepEqual(parseMarkdown("hello"), [para(text("hello"))]);
  assert.deepEqual(parseMarkdown("line one\nline two"), [para(text("line one\nline two"))]);
  assert.deepEqual(parseMarkdown("one\n\n\ntwo"), [para(text("one")), para(text("two"))]);
  assert.deepEqual(parseMarkdown(""), []);
});

test("bold, italic, strike and inline code", () => {
  assert.deepEqual(parseMarkdown("**b** *i* _j_ ~~s~~ `c`"), [
    para(
      { type: "strong", children: [text("b")] },
      text(" "),
      { type: "em", children: [text("i")] },
      text(" "),
      { type: "em", children: [text("j")] },
      text(" "),
      { type: "strike", children: [text("s")] },
      text(" "),
      { type: "code", text: "c" },
    ),
  ]);
  assert.deepEqual(parseMarkdown("__bold *and italic*__"), [
    para({ type: "strong", children: [text("bold "), { type: "em", children: [text("and italic")] }] }),
  ]);
});

test("what only looks like emphasis stays text", () => {
  for (const body of ["snake_case_name", "@ann_1234abcd said", "2 * 3 * 4", "**unclosed", "a ~~ b", "x__y__z", "`open"]) {
    assert.deepEqual(parseMarkdown(body), [para(text(body))], body);
  }
  assert.deepEqual(parseMarkdown("\\*not italic\\*"), [para(text("*not italic*"))]);
});

test("inline code keeps its text as typed", () => {
  assert.deepEqual(parseMarkdown("run `<b>**x**</b> https://a.example`"), [
    para(text("run "), { type: "code", text: "<b>**x**</b> https://a.example" }),
  ]);
  assert.deepEqual(parseMarkdown("``a ` b``"), [para({ type: "code", text: "a ` b" })]);
});

test("code blocks keep their lines as typed", () => {
  assert.deepEqual(parseMarkdown("before\n```js\n<img src=x onerror=alert(1)>\n  **no**\n```\nafter"), [
    para(text("before")),
    { type: "code_block", text: "<img src=x onerror=alert(1)>\n  **no**" },
    para(text("after")),
  ]);
  assert.deepEqual(parseMarkdown("```\nnever closed\n"), [{ type: "code_block", text: "never closed\n" }]);
});

test("quotes hold blocks; lists hold items, ordered ones from their first number", () => {
  assert.deepEqual(parseMarkdown("> quoted **here**\n> more\nreply"), [
    { type: "quote", children: [para(text("quoted "), { type: "strong", children: [text("here")] }, text("\nmore"))] },
    para(text("reply")),
  ]);
  assert.deepEqual(parseMarkdown("- one\n* two\n\n3. three\n4) four"), [
    { type: "list", ordered: false, start: 1, items: [[text("one")], [text("two")]] },
    { type: "list", ordered: true, start: 3, items: [[text("three")], [text("four")]] },
  ]);
  assert.deepEqual(parseMarkdown("-not a list\n1.5 neither"), [para(text("-not a list\n1.5 neither"))]);
});

test("deeply nested quotes are bounded", () => {
  const tree = parseMarkdown(`${"> ".repeat(50)}deep`);
  let depth = 0;
  for (const node of nodes(tree)) if (node.type === "quote") depth += 1;
  assert.ok(depth <= 4, `depth ${depth}`);
  assert.ok([...nodes(tree)].some((node) => node.type === "text" && node.text.includes("deep")));
});

test("links: written or bare, http(s) and mailto only", () => {
  assert.deepEqual(parseMarkdown("[the docs](https://example.com/docs?a=1&b=2)"), [
    para(link("https://example.com/docs?a=1&b=2", text("the docs"))),
  ]);
  assert.deepEqual(parseMarkdown("see https://example.com/a_b_c. Or (http://x.example/p)!"), [
    para(
      text("see "),
      link("https://example.com/a_b_c", text("https://example.com/a_b_c")),
      text(". Or ("),
      link("http://x.example/p", text("http://x.example/p")),
      text(")!"),
    ),
  ]);
  assert.deepEqual(parseMarkdown("https://en.example/wiki/Foo_(bar)"), [
    para(link("https://en.example/wiki/Foo_(bar)", text("https://en.example/wiki/Foo_(bar)"))),
  ]);
  assert.deepEqual(parseMarkdown("[mail](mailto:ann@example.com)"), [para(link("mailto:ann@example.com", text("mail")))]);
  // A link's text is not linked again.
  assert.deepEqual(parseMarkdown("[https://a.example](https://b.example)"), [
    para(link("https://b.example", text("https://a.example"))),
  ]);
});

test("a link to anything but http(s) or mailto is text", () => {
  const bodies = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox)",
    "[x](//evil.example)",
    "javascript:alert(1)",
  ];
  for (const body of bodies) {
    const tree = parseMarkdown(body);
    assert.ok(![...nodes(tree)].some((node) => node.type === "link"), body);
  }
  assert.equal(safeHref("javascript:alert(1)"), null);
  assert.equal(safeHref("https://example.com/"), "https://example.com/");
  assert.equal(safeHref("HTTPS://example.com/"), "HTTPS://example.com/");
  assert.equal(safeHref("https://exa mple.com/"), null);
});

test("a body of delimiters only parses quickly to its own text", () => {
  for (const body of ["*".repeat(4000), "_a".repeat(2000), "a" + "`".repeat(4000), "[".repeat(2000) + "](".repeat(1000), "[a](".repeat(1000)]) {
    const tree = parseMarkdown(body);
    const shown = [...nodes(tree)].map((node) => node.text ?? "").join("");
    assert.ok(shown.length > 0 && shown.length <= body.length);
  }
});
