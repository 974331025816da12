// A message's files: images as thumbnails that open full size, anything else as a chip with
// its name, size and Download. Only elements and text nodes: a filename is never markup, and
// nothing from a file's bytes becomes HTML. The bytes need the token, so the thumbnails are
// drawn and the buttons handled by file-actions.js; fileOf() gives it an element's File.

import { el } from "./dom.js";
import { humanSize } from "./file-size.js";

const THUMBNAIL_PX = 400; // the server's thumbnails fit in 400 × 400
const files = new WeakMap(); // element → its File

/** The File an element of fileList() stands for (or null). */
export function fileOf(element) {
  const holder = element.closest("[data-file]");
  return holder ? (files.get(holder) ?? null) : null;
}

function button(text, action, className) {
  const node = el("button", className, text);
  node.type = "button";
  node.dataset.action = action;
  return node;
}

/** The thumbnail's size as the server made it, so the layout does not jump when it is drawn. */
function thumbnailSize(file) {
  const { width, height } = file;
  if (!(width > 0 && height > 0)) return null;
  const scale = Math.min(1, THUMBNAIL_PX / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

function imageItem(file) {
  const item = el("li", "file file-image");
  const open = button("", "open-image", "file-thumb");
  open.setAttribute("aria-label", `Open ${file.filename} (image, ${humanSize(file.size)})`);
  open.title = file.filename;
  const canvas = el("canvas", "thumbnail");
  const size = thumbnailSize(file);
  if (size) Object.assign(canvas, size);
  canvas.dataset.state = "loading"; // file-actions.js draws it: "shown" or "failed"
  open.append(canvas);
  item.append(open);
  return item;
}

function chipItem(file) {
  const item = el("li", "file file-chip");
  const name = el("span", "file-name", file.filename);
  name.title = file.filename;
  const download = button("Download", "download-file", "link file-download");
  download.setAttribute("aria-label", `Download ${file.filename}`);
  item.append(name, el("span", "file-size", humanSize(file.size)), download);
  return item;
}

/** The files of a message as a list, in the message's order. */
export function fileList(list) {
  const node = el("ul", "files");
  node.setAttribute("aria-label", "Files");
  for (const file of list) {
    const item = file.thumbnail_url ? imageItem(file) : chipItem(file);
    item.dataset.file = file.id;
    files.set(item, file);
    node.append(item);
  }
  return node;
}
