// A message's body as DOM nodes: its Markdown (markdown.js's tree) built element by element
// with text nodes, never markup from the body; the mentions it holds marked (mentions.js)
// outside code and links. Links open in a new tab, with no opener and no referrer; one
// whose words are not its URL names the URL in its title.

import { el } from "./dom.js";
import { parseMarkdown } from "./markdown.js";
import { mentionRuns } from "./mentions.js";

const TAGS = { strong: "strong", em: "em", strike: "del" };

/** The body of `text`; kind(lowercased name) → "me" | "other" | "room" | null (mentionKinds).
 * A single paragraph is a <p class="body">, as plain text always was; more is a <div>. */
export function bodyNode(text, kind) {
  const blocks = parseMarkdown(text);
  if (blocks.length <= 1 && (blocks[0]?.type ?? "paragraph") === "paragraph") {
    const body = el("p", "body");
    body.append(...inlines(blocks[0]?.children ?? [], kind));
    return body;
  }
  const body = el("div", "body blocks");
  body.append(...blocks.map((block) => blockNode(block, kind)));
  return body;
}

function blockNode(block, kind) {
  if (block.type === "code_block") {
    const pre = el("pre", "code-block");
    pre.append(el("code", "", block.text));
    return pre;
  }
  if (block.type === "quote") {
    const quote = el("blockquote");
    quote.append(...block.children.map((child) => blockNode(child, kind)));
    return quote;
  }
  if (block.type === "list") {
    const list = el(block.ordered ? "ol" : "ul");
    if (block.ordered && block.start !== 1) list.start = block.start;
    for (const item of block.items) {
      const li = el("li");
      li.append(...inlines(item, kind));
      list.append(li);
    }
    return list;
  }
  const paragraph = el("p");
  paragraph.append(...inlines(block.children, kind));
  return paragraph;
}

function inlines(nodes, kind) {
  return nodes.flatMap((node) => inlineNode(node, kind));
}

function inlineNode(node, kind) {
  if (node.type === "text") return textRuns(node.text, kind);
  if (node.type === "code") return [el("code", "", node.text)];
  if (node.type === "link") {
    const link = el("a");
    link.href = node.href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.append(...inlines(node.children, () => null));
    if (link.textContent !== node.href) link.title = node.href; // where a link's words go, before it is followed
    return [link];
  }
  const element = el(TAGS[node.type]);
  element.append(...inlines(node.children, kind));
  return [element];
}

function textRuns(text, kind) {
  return mentionRuns(text, kind).map((run) =>
    run.mention === null ? document.createTextNode(run.text) : el("span", `mention mention-${run.mention}`, run.text),
  );
}
