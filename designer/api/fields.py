"""Merge fields: the catalogue of fields a template of a module may use (the editors' pickers)."""

from marshmallow import Schema, fields

from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.templating.catalogue import MODULES, catalogue_json

bp = ApiBlueprint(
    "Fields",
    __name__,
    url_prefix="/api/v1/fields",
    description="Merge fields: what a template of each module may use.",
)
protect(bp)


class FieldSchema(Schema):
    name = fields.String(
        required=True,
        metadata={"description": "As written in a template.", "example": "contact.first_name"},
    )
    label = fields.String(required=True, metadata={"example": "Contact: first name"})
    type = fields.String(
        required=True,
        metadata={
            "description": "string, number, money, date, datetime, list, or a custom field's "
            "type; picks what the pickers insert (`| date`, `| money(currency)`, a "
            "loop for a list).",
            "example": "string",
        },
    )
    example = fields.String(
        required=True,
        metadata={"description": "A value as it might look (may be empty).", "example": "Jan"},
    )


class CatalogueSchema(Schema):
    module = fields.String(required=True, metadata={"example": "contact"})
    fields = fields.List(
        fields.Nested(FieldSchema),
        required=True,
        metadata={
            "description": "Every field, the module's own first, then the sender's and the "
            "company's."
        },
    )


@bp.route("/<any({}):module>".format(",".join(MODULES)))
@bp.response(200, CatalogueSchema)
@bp.alt_response(404, response="NOT_FOUND", description="No such module")
def catalogue(module):
    """The merge fields a template of a module may use, with labels, types and examples."""
    return catalogue_json(module)
