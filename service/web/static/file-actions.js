// What the files of messages do, wherever a message is shown (the log, a thread, the pinned
// list): thumbnails drawn once their element is in the page, an image opened full size
// (image-overlay.js), a file downloaded. Bytes come with the token (file-fetch.js) as Blobs.
// Images are drawn on a <canvas> from the decoded bitmap, never loaded by URL: the page's
// policy allows images from its own origin only, and a bitmap is never markup.

import { errorText } from "./actions.js";
import { fileOf } from "./file-view.js";
import { ImageOverlay, drawImage } from "./image-overlay.js";

/** The browser saves `blob` as `filename`: a blob URL on a download link, revoked once clicked. */
export function saveBlob(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
}

export class FileActions {
  constructor(fetcher) {
    this.fetcher = fetcher;
    this.overlay = new ImageOverlay((file) => this.#download(file));
    new MutationObserver(() => this.#drawThumbnails()).observe(document.body, { childList: true, subtree: true });
    document.addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest("button[data-action]") : null;
      const file = button && fileOf(button);
      if (!file) return;
      if (button.dataset.action === "open-image") this.overlay.open(file, this.fetcher.blob(file.url), button);
      else if (button.dataset.action === "download-file") this.#downloadFrom(button, file);
    });
  }

  /** Signed out: the full-size view closes and nothing fetched is kept (another login may follow). */
  reset() {
    this.overlay.close();
    this.fetcher.forget();
  }

  #drawThumbnails() {
    for (const canvas of document.querySelectorAll('canvas.thumbnail[data-state="loading"]')) {
      canvas.dataset.state = "drawing";
      const file = fileOf(canvas);
      if (!file) continue;
      this.fetcher
        .thumbnail(file)
        .then((blob) => drawImage(canvas, blob))
        .catch(() => false)
        .then((drawn) => (canvas.dataset.state = drawn ? "shown" : "failed"));
    }
  }

  async #downloadFrom(button, file) {
    button.disabled = true;
    button.textContent = "Downloading…";
    const problem = await this.#download(file);
    button.disabled = false;
    button.textContent = problem ? `Download (failed: ${problem})` : "Download";
  }

  /** → error text, "" when saved. */
  async #download(file) {
    try {
      saveBlob(await this.fetcher.blob(file.url), file.filename);
      return "";
    } catch (error) {
      return errorText(error);
    }
  }
}
