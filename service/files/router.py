from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError

from service.auth.dependencies import CurrentUser
from service.db import SessionDep
from service.errors import BEARER_ERRORS, ErrorOut, NotFound, ServiceError, error_responses
from service.files import access, downloads
from service.files.dependencies import Uploader, UploadsDep
from service.files.images import THUMBNAIL_TYPE
from service.files.kinds import IMAGE_TYPES, OCTET_STREAM
from service.files.multipart import MalformedBody, MissingFile
from service.files.schemas import FileOut
from service.userlimits import Action, UserLimitsDep

router = APIRouter(tags=["files"])

FETCH_ERRORS = error_responses(*BEARER_ERRORS, 404, 422)  # 422: FastAPI declares it for any path parameter
# What content is served as: the images inline, everything else as an attachment.
_SERVED_AS: dict[str, dict[str, object]] = {kind: {} for kind in (*sorted(IMAGE_TYPES), OCTET_STREAM)}
# The request headers a download reads itself (downloads.py), declared for the document.
_DOWNLOAD_HEADERS = {
    "parameters": [
        {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": text}
        for name, text in (
            ("Range", "`bytes=a-b`, `bytes=a-` or `bytes=-n`: 206 with that range"),
            ("If-None-Match", "the ETag held: 304 when it is still the file's"),
        )
    ]
}
_MULTIPART = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


class Unreadable(ServiceError):
    status_code = 400


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


@router.post(
    "/files",
    status_code=201,
    response_model=FileOut,
    responses=error_responses(*BEARER_ERRORS, 400, 413, 422, 429),
    openapi_extra=_MULTIPART,
)
async def upload(request: Request, user: Uploader, uploads: UploadsDep, user_limits: UserLimitsDep) -> FileOut:
    """Store the multipart body's `file` part (streamed, never held whole). Its
    type is detected from its bytes; images get width, height and a thumbnail.
    Over CHAT_MAX_FILE_BYTES or the uploader's CHAT_FILE_QUOTA_BYTES: 413."""
    await user_limits.spend(Action.UPLOAD_FILE, user.id)
    try:
        file = await uploads.upload(
            user.id, request.stream(), request.headers.get("content-type"), _declared_length(request)
        )
    except MissingFile as exc:
        raise RequestValidationError([{"type": "missing", "loc": ("body", "file"), "msg": str(exc)}]) from None
    except MalformedBody as exc:
        raise Unreadable(str(exc)) from None
    return FileOut.of(file)


@router.get("/files/{file_id}", response_model=FileOut, responses=FETCH_ERRORS)
async def get_file(file_id: str, user: CurrentUser, session: SessionDep) -> FileOut:
    """The file, for its uploader while unattached, then for whoever may read its room."""
    return FileOut.of(await access.file_for_reader(session, file_id, user))


@router.get(
    "/files/{file_id}/content",
    response_class=Response,
    responses={
        200: {"description": "The file's bytes", "content": _SERVED_AS},
        206: {"description": "The range asked for", "content": _SERVED_AS},
        304: {"description": "Not modified (If-None-Match)"},
        416: {"description": "The range starts past the end", "model": ErrorOut},
        **FETCH_ERRORS,
    },
    openapi_extra=_DOWNLOAD_HEADERS,
)
async def get_content(
    file_id: str, request: Request, user: CurrentUser, session: SessionDep, uploads: UploadsDep
) -> Response:
    """The bytes, streamed; `Range` gives 206. Only PNG, JPEG, GIF and WebP are
    inline, everything else an attachment (docs/files.md)."""
    file = await access.file_for_reader(session, file_id, user)
    return await downloads.answer(
        request,
        uploads.storage,
        file.storage_key,
        size=file.size,
        sha256=file.sha256,
        content_type=file.content_type,
        filename=file.filename,
    )


@router.get(
    "/files/{file_id}/thumbnail",
    response_class=Response,
    responses={
        200: {"description": "A WebP at most 400 px on its longer side", "content": {THUMBNAIL_TYPE: {}}},
        **FETCH_ERRORS,
    },
)
async def get_thumbnail(
    file_id: str, request: Request, user: CurrentUser, session: SessionDep, uploads: UploadsDep
) -> Response:
    """The image's thumbnail; 404 when it has none (not an image, or too large or undecodable)."""
    file = await access.file_for_reader(session, file_id, user)
    if file.thumbnail_key is None:
        raise NotFound("this file has no thumbnail")
    return await downloads.thumbnail(request, uploads.storage, file.thumbnail_key, etag=f'"{file.sha256}-t"')
