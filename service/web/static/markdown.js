// The Markdown subset of messages, parsed to a small tree (no DOM, no markup: message-body.js
// builds nodes from it). Blocks: paragraphs (line breaks kept, as in chat), ``` code blocks,
// > quotes, - and 1. lists. Inline: **bold**, *italic*, ~~strike~~, `code`, [text](url) and
// bare http(s) URLs. Links go to http(s) and mailto only; anything else stays text.
// Bounded: quotes and emphasis nest at most MAX_DEPTH deep, and a delimiter without a
// closer is searched for once, so a body of delimiters stays linear.

const MAX_DEPTH = 4;
const MAX_URL = 2048;
const MAX_LABEL = 1000;
const FENCE = /^ {0,3}```/;
const FENCE_END = /^ {0,3}```\s*$/;
const QUOTE = /^ {0,3}> ?/;
const BULLET = /^ {0,3}[-*+] +(.*)$/;
const NUMBERED = /^ {0,3}(\d{1,9})[.)] +(.*)$/;
const PUNCT = /[!-/:-@[-`{-~]/;
const WORD = /[\p{L}\p{N}]/u;
const SPACE = /\s/;
const BARE_URL = /https?:\/\/[^\s<>"`]+/iy;
const SCHEME = /^(https?:\/\/[^/\s]|mailto:[^\s])/i;
const UNSAFE_CHAR = /[\u0000-\u0020\u007f<>"`]/;
const KIND = { "**": "strong", __: "strong", "~~": "strike", "*": "em", _: "em" };

/** The URL if a link may go there (http, https, mailto; no spaces or controls), else null. */
export function safeHref(url) {
  return SCHEME.test(url) && !UNSAFE_CHAR.test(url) && url.length <= MAX_URL ? url : null;
}

/** The body's blocks: {type: "paragraph", children} | {type: "code_block", text} |
 * {type: "quote", children: blocks} | {type: "list", ordered, start, items: [inlines]}.
 * Inlines: {type: "text" | "code", text} | {type: "strong" | "em" | "strike", children} |
 * {type: "link", href, children}. */
export function parseMarkdown(body) {
  return blocks(body.replace(/\r\n?/g, "\n").split("\n"), 0);
}

function blocks(lines, depth) {
  const out = [];
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) out.push({ type: "paragraph", children: inline(paragraph.join("\n"), 0, true) });
    paragraph = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (FENCE.test(line)) {
      flush();
      const code = [];
      for (i += 1; i < lines.length && !FENCE_END.test(lines[i]); i += 1) code.push(lines[i]);
      i += 1; // past the closing fence (or the end)
      out.push({ type: "code_block", text: code.join("\n") });
    } else if (QUOTE.test(line) && depth < MAX_DEPTH) {
      flush();
      const quoted = [];
      for (; i < lines.length && QUOTE.test(lines[i]); i += 1) quoted.push(lines[i].replace(QUOTE, ""));
      out.push({ type: "quote", children: blocks(quoted, depth + 1) });
    } else if (BULLET.test(line) || NUMBERED.test(line)) {
      flush();
      const ordered = !BULLET.test(line);
      const pattern = ordered ? NUMBERED : BULLET;
      const items = [];
      for (; i < lines.length && pattern.test(lines[i]); i += 1) {
        const match = pattern.exec(lines[i]);
        items.push(inline(match[match.length - 1], 0, true));
      }
      out.push({ type: "list", ordered, start: ordered ? Number(NUMBERED.exec(line)[1]) : 1, items });
    } else {
      if (line.trim()) paragraph.push(line);
      else flush();
      i += 1;
    }
  }
  flush();
  return out;
}

function runLength(text, at, char) {
  let end = at;
  while (text[end] === char) end += 1;
  return end - at;
}

/** `code` at `at`: {text, end}, or null when its run of backticks is never matched. */
function codeSpan(text, at) {
  const run = runLength(text, at, "`");
  let i = at + run;
  while ((i = text.indexOf("`", i)) !== -1) {
    const closing = runLength(text, i, "`");
    if (closing === run) {
      let code = text.slice(at + run, i);
      if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ") && code.trim()) code = code.slice(1, -1);
      return { text: code, end: i + run };
    }
    i += closing;
  }
  return null;
}

/** A bare URL starting at `at` (not inside a word), its trailing punctuation left out. */
function bareUrlAt(text, at) {
  if (text[at] !== "h" && text[at] !== "H") return null;
  if (at > 0 && WORD.test(text[at - 1])) return null;
  BARE_URL.lastIndex = at;
  const match = BARE_URL.exec(text);
  if (!match) return null;
  let url = match[0].slice(0, MAX_URL);
  for (;;) {
    const last = url[url.length - 1];
    const unbalanced = last === ")" && url.split("(").length < url.split(")").length;
    if (!".,:;!?'*_~".includes(last) && !unbalanced) break;
    url = url.slice(0, -1);
  }
  return safeHref(url);
}

/** [label](url) at `at`: {node, end}, or {failed: the "]"} when no "[" before that "]"
 * can start a link (they would all end at it), or null (then "[" is text). */
function linkAt(text, at, depth) {
  const close = text.indexOf("]", at + 1);
  if (close === -1) return { failed: text.length };
  if (close - at > MAX_LABEL || close === at + 1) return null;
  if (text[close + 1] !== "(") return { failed: close };
  let i = close + 2;
  while (text[i] === " ") i += 1;
  const start = i;
  let open = 0;
  for (; i < text.length && i - start <= MAX_URL; i += 1) {
    const char = text[i];
    // Brackets end it too (percent-encode them): "[a]([a](…" is then linear.
    if (SPACE.test(char) || char === "[" || char === "]" || (char === ")" && open === 0)) break;
    if (char === "(") open += 1;
    if (char === ")") open -= 1;
  }
  const href = safeHref(text.slice(start, i));
  while (text[i] === " ") i += 1;
  if (!href || text[i] !== ")") return { failed: close };
  return { node: { type: "link", href, children: inline(text.slice(at + 1, close), depth + 1, false) }, end: i + 1 };
}

/** The emphasis delimiter at `at` ("**", "*", …), or null. */
function delimiterAt(text, at) {
  const two = text.slice(at, at + 2);
  if (two === "**" || two === "__" || two === "~~") return two;
  return text[at] === "*" || text[at] === "_" ? text[at] : null;
}

function opens(text, at, delim) {
  const next = text[at + delim.length];
  if (next === undefined || SPACE.test(next)) return false;
  return delim[0] !== "_" || at === 0 || !WORD.test(text[at - 1]); // snake_case is not emphasis
}

function closes(text, at, delim) {
  if (SPACE.test(text[at - 1])) return false;
  const next = text[at + delim.length];
  return delim[0] !== "_" || next === undefined || !WORD.test(next);
}

/** Where `delim` opened at `at` closes, skipping code, URLs and escapes; -1 if nowhere.
 * `unclosed`: delimiter → from where no closer was found (closers do not depend on the opener). */
function closerOf(text, at, delim, unclosed) {
  const from = at + delim.length + 1; // never empty
  if (from >= (unclosed.get(delim) ?? Infinity)) return -1;
  const char = delim[0];
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\") i += 2;
    else if (c === "`") i = codeSpan(text, i)?.end ?? i + runLength(text, i, "`");
    else if (c === char) {
      const run = runLength(text, i, char);
      if (run === delim.length && closes(text, i, delim)) return i;
      i += run;
    } else {
      const url = bareUrlAt(text, i);
      i += url ? url.length : 1;
    }
  }
  unclosed.set(delim, from);
  return -1;
}

/** Inline nodes of `text`; `links`: false inside a link's label. */
function inline(text, depth, links) {
  const out = [];
  let plain = "";
  const push = (node) => {
    if (plain) out.push({ type: "text", text: plain });
    plain = "";
    out.push(node);
  };
  const unclosed = new Map();
  let noLinkBefore = -1; // a "[" before it starts no link
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && PUNCT.test(text[i + 1] ?? "")) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      const span = codeSpan(text, i);
      const end = span ? span.end : i + runLength(text, i, "`");
      if (span) push({ type: "code", text: span.text });
      else plain += text.slice(i, end);
      i = end;
      continue;
    }
    const link = links && c === "[" && i >= noLinkBefore ? linkAt(text, i, depth) : null;
    if (link?.failed !== undefined) noLinkBefore = link.failed;
    else if (link) {
      push(link.node);
      i = link.end;
      continue;
    }
    const url = links ? bareUrlAt(text, i) : null;
    if (url) {
      push({ type: "link", href: url, children: [{ type: "text", text: url }] });
      i += url.length;
      continue;
    }
    const delim = delimiterAt(text, i);
    if (delim && depth < MAX_DEPTH && opens(text, i, delim)) {
      const close = closerOf(text, i, delim, unclosed);
      if (close !== -1) {
        push({ type: KIND[delim], children: inline(text.slice(i + delim.length, close), depth + 1, links) });
        i = close + delim.length;
        continue;
      }
    }
    const literal = delim ?? c;
    plain += literal;
    i += literal.length;
  }
  if (plain) out.push({ type: "text", text: plain });
  return out;
}
