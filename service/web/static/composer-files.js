// The files the composer will send (attachments.js): chosen with Attach, dropped on the room,
// or pasted into the message; each shown with its name, size and upload progress, or why it
// failed, and a Remove button until it is sent. Names go in as text only.

import { SignedOut } from "./api.js";
import { Attachments, MAX_FILES, uploadFailure } from "./attachments.js";
import { $, el } from "./dom.js";
import { humanSize } from "./file-size.js";
import { UploadAborted, UploadError } from "./uploader.js";

/** The files a drop or a paste carries (none when it carries only text). */
function filesOf(transfer) {
  return transfer ? [...transfer.files] : [];
}

/** Retry on a failed upload (the click is handled with Remove's, by its data-retry). */
function retryButton(item) {
  const retry = el("button", "link", "Retry");
  retry.type = "button";
  retry.dataset.key = String(item.key);
  retry.dataset.retry = "1";
  retry.setAttribute("aria-label", `Retry the upload of ${item.name}`);
  return retry;
}

export class ComposerFiles {
  /** uploader: Uploader; changed(): whether the message can be sent may have changed */
  constructor(uploader, changed) {
    this.uploader = uploader;
    this.changed = changed;
    this.files = new Attachments();
    this.uploads = new Map(); // key → {abort()}
    this.chosen = new Map(); // key → the File chosen, for a Retry after a failed upload
    this.note = "";
    $("attach").addEventListener("click", () => $("attach-input").click());
    $("attach-input").addEventListener("change", (event) => {
      this.add(event.target.files);
      event.target.value = ""; // the same file may be chosen again
    });
    $("message-input").addEventListener("paste", (event) => {
      const files = filesOf(event.clipboardData);
      if (!files.length || $("composer").hidden) return;
      event.preventDefault();
      this.add(files);
    });
    const room = $("view-room");
    room.addEventListener("dragover", (event) => {
      if ($("composer").hidden || !event.dataTransfer?.types.includes("Files")) return;
      event.preventDefault(); // a drop target
      event.dataTransfer.dropEffect = "copy";
      room.classList.add("dropping");
    });
    room.addEventListener("dragleave", (event) => {
      if (!room.contains(event.relatedTarget)) room.classList.remove("dropping");
    });
    room.addEventListener("drop", (event) => {
      room.classList.remove("dropping");
      const files = filesOf(event.dataTransfer);
      if (!files.length || $("composer").hidden) return;
      event.preventDefault();
      this.add(files);
    });
    // A file dropped anywhere else must not replace the page with itself.
    for (const type of ["dragover", "drop"]) {
      window.addEventListener(type, (event) => {
        if (event.defaultPrevented || !event.dataTransfer?.types.includes("Files")) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "none";
      });
    }
    $("attachments").addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest("button[data-key]") : null;
      if (button && button.dataset.retry) this.retry(Number(button.dataset.key));
      else if (button) this.remove(Number(button.dataset.key));
    });
  }

  canSend(body) {
    return this.files.canSend(body);
  }

  /** The uploaded files for the message being sent; the list empties. */
  take() {
    this.note = "";
    const files = this.files.take();
    this.uploads.clear();
    this.chosen.clear();
    this.#render();
    return files;
  }

  /** Another room, or signed out: what was chosen is dropped, uploads stopped. */
  clear() {
    for (const item of this.files.clear()) this.uploads.get(item.key)?.abort();
    this.uploads.clear();
    this.chosen.clear();
    this.note = "";
    this.#render();
  }

  add(chosen) {
    const list = [...chosen];
    const { added, refused } = this.files.add(list);
    this.note = refused ? `At most ${MAX_FILES} files a message: ${refused} not added.` : "";
    added.forEach((item, index) => this.#upload(item, list[index]));
    this.#render();
  }

  /** A failed upload is tried again, from the start. */
  retry(key) {
    const item = this.files.items.find((entry) => entry.key === key);
    if (!item || item.state !== "failed" || !this.chosen.has(key)) return;
    Object.assign(item, { state: "uploading", progress: 0, error: "" });
    this.#upload(item, this.chosen.get(key));
    this.#render();
    $("attachments").querySelector(`li[data-key="${Number(key)}"] button`)?.focus();
  }

  remove(key) {
    const item = this.files.remove(key);
    if (!item) return;
    this.uploads.get(key)?.abort();
    this.uploads.delete(key);
    this.chosen.delete(key);
    this.note = "";
    this.#render();
    $("message-input").focus();
  }

  async #upload(item, file) {
    this.chosen.set(item.key, file);
    const upload = this.uploader.start(file, (fraction) => {
      this.files.progress(item.key, fraction);
      this.#renderProgress(item.key);
    });
    this.uploads.set(item.key, upload);
    try {
      this.files.uploaded(item.key, await upload.done);
    } catch (error) {
      if (error instanceof UploadAborted || error instanceof SignedOut) return;
      const status = error instanceof UploadError ? error.status : 0;
      this.files.failed(item.key, uploadFailure(status, error.message, error.retryAfter ?? 0));
    }
    this.uploads.delete(item.key);
    this.#render();
  }

  #renderProgress(key) {
    const item = this.files.items.find((entry) => entry.key === key);
    const node = $("attachments").querySelector(`li[data-key="${Number(key)}"]`);
    if (!item || !node) return;
    node.querySelector("progress").value = item.progress;
    node.querySelector(".attachment-state").textContent = `uploading ${Math.floor(item.progress * 100)}%`;
  }

  #render() {
    const nodes = this.files.items.map((item) => {
      const node = el("li", `attachment ${item.state}`);
      node.dataset.key = String(item.key);
      const progress = el("progress");
      progress.max = 1;
      progress.value = item.progress;
      progress.setAttribute("aria-label", `Upload of ${item.name}`);
      const state = {
        uploading: `uploading ${Math.floor(item.progress * 100)}%`,
        uploaded: "uploaded",
        failed: `not uploaded: ${item.error}`,
      }[item.state];
      const remove = el("button", "link", "Remove");
      remove.type = "button";
      remove.dataset.key = String(item.key);
      remove.setAttribute("aria-label", `Remove ${item.name}`);
      node.append(el("span", "file-name", item.name), el("span", "file-size", humanSize(item.size)));
      if (item.state !== "failed") node.append(progress);
      node.append(el("span", "attachment-state", state));
      if (item.state === "failed") node.append(retryButton(item));
      node.append(remove);
      return node;
    });
    $("attachments").replaceChildren(...nodes);
    $("attachments").hidden = nodes.length === 0;
    $("attachments-note").textContent = this.note;
    this.changed();
  }
}
