// An image of a message at full size, over the page: its name, Download and Close; Escape,
// Close or a click beside the image closes it and the focus goes back to the thumbnail.

import { errorText } from "./actions.js";
import { $ } from "./dom.js";

/** Draw a raster image's bytes on `canvas`, at its own size; false when they are not one. */
export async function drawImage(canvas, blob) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    return false;
  }
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  bitmap.close();
  return true;
}

export class ImageOverlay {
  /** download(file) → Promise<error text> */
  constructor(download) {
    this.file = null;
    this.opener = null;
    this.opened = 0; // which opening a late image belongs to
    const view = $("image-view");
    $("image-view-close").addEventListener("click", () => this.close());
    $("image-view-download").addEventListener("click", async () => {
      if (!this.file) return;
      $("image-view-status").textContent = "";
      const problem = await download(this.file);
      if (problem) $("image-view-status").textContent = `Download failed: ${problem}`;
    });
    view.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.close();
      } else if (event.key === "Tab") {
        // A modal view: the focus stays on its two buttons.
        event.preventDefault();
        const other = document.activeElement === $("image-view-close") ? "image-view-download" : "image-view-close";
        $(other).focus();
      }
    });
    view.addEventListener("click", (event) => {
      if (event.target === view) this.close();
    });
  }

  /** Show `file` (its bytes on their way as `bytes`, a Promise<Blob>); `opener` gets the focus back. */
  async open(file, bytes, opener) {
    const opening = ++this.opened;
    this.file = file;
    this.opener = opener;
    const canvas = $("image-view-canvas");
    canvas.width = 0;
    canvas.height = 0;
    canvas.dataset.state = "loading";
    canvas.setAttribute("aria-label", file.filename);
    $("image-view-name").textContent = file.filename;
    $("image-view-status").textContent = "Loading…";
    $("image-view").hidden = false;
    $("image-view-close").focus();
    let problem = "";
    try {
      if (!(await drawImage(canvas, await bytes))) problem = "this image cannot be shown";
    } catch (error) {
      problem = errorText(error);
    }
    if (opening !== this.opened) return;
    canvas.dataset.state = problem ? "failed" : "shown";
    $("image-view-status").textContent = problem;
  }

  close() {
    if ($("image-view").hidden) return;
    this.opened += 1;
    this.file = null;
    $("image-view").hidden = true;
    const canvas = $("image-view-canvas");
    canvas.width = 0; // its pixels go
    canvas.height = 0;
    if (this.opener && this.opener.isConnected) this.opener.focus();
    this.opener = null;
  }
}
