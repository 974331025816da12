// A file's bytes, fetched with the bearer token in the Authorization header (never in a URL),
// as a Blob. Only the service's own file URLs are fetched: a message cannot send the token
// elsewhere. Thumbnails are kept (small WebPs), so redrawing a message fetches nothing again.

import { ApiError, SignedOut } from "./api.js";

const FILE_URL = /^\/api\/v1\/files\/[A-Za-z0-9_-]+\/(content|thumbnail)$/;
const THUMBNAILS_KEPT = 200;

export class FileFetcher {
  constructor(auth) {
    this.auth = auth;
    this.thumbnails = new Map(); // thumbnail url → Promise<Blob>, oldest first
  }

  /** The bytes at `url` (a File's url or thumbnail_url). */
  async blob(url) {
    if (typeof url !== "string" || !FILE_URL.test(url)) throw new ApiError(0, "not a file of this service");
    let token = await this.auth.accessToken();
    let response = await this.#get(url, token);
    if (response.status === 401) {
      token = await this.auth.accessToken({ rejected: token });
      response = await this.#get(url, token);
      if (response.status === 401) {
        this.auth.signOut("session expired");
        throw new SignedOut("session expired");
      }
    }
    if (!response.ok) throw new ApiError(response.status, response.status === 404 ? "not found" : `failed (${response.status})`);
    return response.blob();
  }

  /** A File's thumbnail, fetched once while it is among the last ones shown. */
  thumbnail(file) {
    const url = file.thumbnail_url;
    let blob = this.thumbnails.get(url);
    if (blob) this.thumbnails.delete(url); // to the newest end
    else blob = this.blob(url);
    this.thumbnails.set(url, blob);
    blob.catch(() => this.thumbnails.get(url) === blob && this.thumbnails.delete(url));
    if (this.thumbnails.size > THUMBNAILS_KEPT) this.thumbnails.delete(this.thumbnails.keys().next().value);
    return blob;
  }

  /** Signed out: nothing fetched is kept. */
  forget() {
    this.thumbnails.clear();
  }

  #get(url, token) {
    return fetch(url, { headers: { Authorization: `Bearer ${token}` }, credentials: "omit" });
  }
}
