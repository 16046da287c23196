"""Images: the stored images templates may show (the visual builder's picker), and uploads.

Uploaded images are stored once by content (``designer.assets``) and served
from the app's own address, which is what a template links to.
"""

from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from designer.api.pagination import PageQuerySchema, PageSchema, one_page
from designer.api.spec import ApiBlueprint
from designer.assets import AssetRejected, asset_path, list_assets, store_asset
from designer.auth import protect
from designer.errors import ApiError

bp = ApiBlueprint(
    "Images",
    __name__,
    url_prefix="/api/v1/images",
    description="Images stored in the app for templates to show.",
)
protect(bp)

#: Longest file name kept (the column holds 255 characters).
MAX_NAME = 200
MAX_FILES = 20


class ImageSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 17})
    name = fields.String(required=True, attribute="filename", metadata={"example": "logo.png"})
    content_type = fields.String(required=True, metadata={"example": "image/png"})
    size = fields.Integer(required=True, metadata={"description": "Bytes.", "example": 5120})
    src = fields.Method(
        "absolute_url",
        required=True,
        metadata={
            "type": "string",
            "description": "The address templates link to.",
            "example": "https://designer.example.com/assets/17/logo.png",
        },
    )

    def absolute_url(self, asset):
        return current_app.config["PUBLIC_URL"] + asset_path(asset)


class ImageListSchema(PageSchema):
    images = fields.List(fields.Nested(ImageSchema), required=True)


class UploadSchema(Schema):
    files = fields.List(
        Upload(),
        required=True,
        validate=validate.Length(1, MAX_FILES),
        metadata={"description": "PNG, JPEG, GIF, WebP or SVG images, 5 MB each at most."},
    )


class UploadedSchema(Schema):
    images = fields.List(fields.Nested(ImageSchema), required=True)


def _checked(upload):
    name = upload.filename or ""
    if not name or len(name) > MAX_NAME or "\x00" in name:
        raise ApiError(
            422,
            "asset_rejected",
            f"files: give each image a file name of 1 to {MAX_NAME} characters",
            {"fields": {"files": ["bad file name"]}},
        )
    if not (upload.mimetype or "").startswith("image/"):
        raise ApiError(422, "asset_rejected", f"{name}: only images can be placed in an e-mail")
    return upload


@bp.route("")
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, ImageListSchema)
def list_images(query):
    """The stored images, newest first."""
    images = [a for a in list_assets() if a.content_type.startswith("image/")]
    return one_page(images, query, "images")


@bp.route("", methods=["POST"])
@bp.arguments(UploadSchema, location="files")
@bp.response(201, UploadedSchema)
def upload_images(body):
    """Store images (a multipart upload of `files`); an image stored before is not stored
    twice."""
    uploads = [_checked(upload) for upload in body["files"]]
    try:
        return {"images": [store_asset(u.filename, u.mimetype, u.read()) for u in uploads]}
    except AssetRejected as exc:
        raise ApiError(422, "asset_rejected", str(exc)) from exc
