// One file uploaded to POST /api/v1/files with the bearer token. XMLHttpRequest, not fetch:
// only it reports the upload's progress. A 401 gets one refresh and one retry, as api.js does.

import { SignedOut } from "./api.js";

/** An upload the server refused or never answered (`status` 0); `retryAfter` in seconds (429). */
export class UploadError extends Error {
  constructor(status, detail, retryAfter = 0) {
    super(detail);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** The user removed the file while it was uploading. */
export class UploadAborted extends Error {}

function detailOf(text) {
  try {
    const detail = JSON.parse(text).detail;
    return typeof detail === "string" ? detail : "";
  } catch {
    return "";
  }
}

export class Uploader {
  constructor(auth) {
    this.auth = auth;
  }

  /** Start uploading `file` (a DOM File); onProgress(fraction 0..1).
   * → {done: Promise<File object>, abort()}; done rejects with UploadError, UploadAborted or SignedOut. */
  start(file, onProgress) {
    let request = null;
    let aborted = false;
    const attempt = (token) =>
      new Promise((resolve, reject) => {
        if (aborted) return reject(new UploadAborted());
        const xhr = new XMLHttpRequest();
        request = xhr;
        xhr.open("POST", "/api/v1/files");
        xhr.setRequestHeader("Authorization", `Bearer ${token}`);
        xhr.upload.onprogress = (event) => {
          if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
        };
        xhr.onload = () =>
          resolve({
            status: xhr.status,
            text: xhr.responseText,
            retryAfter: Number(xhr.getResponseHeader("Retry-After")) || 0,
          });
        xhr.onerror = () => resolve({ status: 0, text: "", retryAfter: 0 });
        xhr.onabort = () => reject(new UploadAborted());
        const form = new FormData();
        form.append("file", file, file.name);
        xhr.send(form);
      });
    const done = (async () => {
      let token = await this.auth.accessToken();
      let answer = await attempt(token);
      if (answer.status === 401) {
        token = await this.auth.accessToken({ rejected: token });
        answer = await attempt(token);
        if (answer.status === 401) {
          this.auth.signOut("session expired");
          throw new SignedOut("session expired");
        }
      }
      if (answer.status === 201) return JSON.parse(answer.text);
      throw new UploadError(answer.status, detailOf(answer.text), answer.retryAfter);
    })();
    return {
      done,
      abort() {
        aborted = true;
        if (request) request.abort();
      },
    };
  }
}
