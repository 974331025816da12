// The files the composer is about to send: each one uploading (with its progress), uploaded
// (the server's File) or failed (why), removable until sent; at most MAX_FILES a message.
// Plain state, no DOM: the composer's view (composer-files.js) renders it.

export const MAX_FILES = 10;

/** Why an upload was refused, for the user: `status` 0 means no answer came. */
export function uploadFailure(status, detail, retryAfter = 0) {
  if (status === 413) return detail || "the file is too large";
  if (status === 429) return `too many uploads: try again ${retryAfter > 0 ? `in ${retryAfter} s` : "shortly"}`;
  if (status === 0) return "the server could not be reached";
  return detail || `upload failed (${status})`;
}

export class Attachments {
  constructor() {
    this.items = []; // {key, name, size, state: "uploading" | "uploaded" | "failed", progress 0..1, error, file}
    this.nextKey = 1;
  }

  /** Files the user chose ({name, size} each, e.g. DOM Files): as many as fit are added. */
  add(files) {
    const room = Math.max(0, MAX_FILES - this.items.length);
    const added = [...files].slice(0, room).map((chosen) => ({
      key: this.nextKey++,
      name: chosen.name,
      size: chosen.size,
      state: "uploading",
      progress: 0,
      error: "",
      file: null,
    }));
    this.items.push(...added);
    return { added, refused: Math.max(0, files.length - room) };
  }

  #find(key, state = "uploading") {
    return this.items.find((item) => item.key === key && item.state === state) ?? null;
  }

  /** How much of it has been sent, 0 to 1. */
  progress(key, fraction) {
    const item = this.#find(key);
    if (item) item.progress = Math.min(1, Math.max(0, fraction));
  }

  /** The server stored it: `file` is its File object. */
  uploaded(key, file) {
    const item = this.#find(key);
    if (!item) return;
    Object.assign(item, { state: "uploaded", progress: 1, file });
  }

  failed(key, reason) {
    const item = this.#find(key);
    if (item) Object.assign(item, { state: "failed", error: reason });
  }

  /** The user gave it up: the item, to stop its upload, or null when it is not here. */
  remove(key) {
    const at = this.items.findIndex((item) => item.key === key);
    return at < 0 ? null : this.items.splice(at, 1)[0];
  }

  get uploading() {
    return this.items.some((item) => item.state === "uploading");
  }

  /** A message goes with text or files or both, once every file is uploaded (a failed one is removed first). */
  canSend(body) {
    if (this.items.some((item) => item.state !== "uploaded")) return false;
    return this.items.length > 0 || body.trim() !== "";
  }

  /** The uploaded files, in the order chosen, for the message being sent; the list empties. */
  take() {
    const files = this.items.filter((item) => item.state === "uploaded").map((item) => item.file);
    this.items = [];
    return files;
  }

  /** Empty the list; the items, to stop their uploads. */
  clear() {
    const items = this.items;
    this.items = [];
    return items;
  }
}
