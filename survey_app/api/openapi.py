"""The API's OpenAPI 3.1 document, served at /api/v1/openapi.json."""

ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "enum": [
            "unauthorized", "forbidden", "invalid_json", "validation_failed", "unknown_campaign",
            "unknown_agency", "agency_not_in_scope", "campaign_closed", "not_issuable",
            "http_404", "http_405", "http_413", "http_429", "internal"]},
        "message": {"type": "string"},
        "details": {"type": "object", "additionalProperties": {"type": "string"}}}}},
}


def _errors(*codes):
    return {str(c): {"description": "Error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for c in codes}


def spec(server_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Khảo sát sự hài lòng — API", "version": "1.0.0",
                 "description": "Invitations from the one-stop case system and responses "
                                "from kiosk tablets. Authenticate with `Authorization: "
                                "Bearer sk_…` (keys from `flask create-api-key`)."},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": ERROR,
                "Answers": {"type": "object", "description":
                            "Item code → value: satisfaction 1–5 or 0 (not applicable); "
                            "priority 1–3; single choice a choice code; multiple choice a "
                            "list of choice codes; text a string.",
                            "additionalProperties": {"oneOf": [
                                {"type": "integer"}, {"type": "string"},
                                {"type": "array", "items": {"type": "string"}}]}},
            },
        },
        "paths": {
            "/invitations": {"post": {
                "summary": "Create a single-use invitation link and its QR code",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["campaign", "agency"],
                    "properties": {"campaign": {"type": "string"}, "agency": {"type": "string"},
                                   "procedure_code": {"type": "string", "maxLength": 60},
                                   "expires_in_days": {"type": "integer", "minimum": 1,
                                                       "maximum": 90, "default": 14}}}}}},
                "responses": {"201": {"description": "Created", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "serial": {"type": "string"}, "url": {"type": "string"},
                        "expires_at": {"type": "string", "format": "date-time"},
                        "qr_png_base64": {"type": "string"}, "qr_svg": {"type": "string"}}}}}},
                    **_errors(400, 401, 403, 404, 409, 413, 422, 429)}}},
            "/responses": {"post": {
                "summary": "Submit a response from a kiosk",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["campaign", "agency", "answers"],
                    "properties": {"campaign": {"type": "string"}, "agency": {"type": "string"},
                                   "answers": {"$ref": "#/components/schemas/Answers"},
                                   "started_at": {"type": "string", "format": "date-time"}}}}}},
                "responses": {"201": {"description": "Stored", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "receipt_code": {"type": "string"},
                        "submitted_at": {"type": "string", "format": "date-time"}}}}}},
                    **_errors(400, 401, 403, 404, 409, 413, 422, 429)}}},
            "/campaigns/{code}": {"get": {
                "summary": "A campaign's status and response counts per agency",
                "parameters": [{"name": "code", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Status"}, **_errors(401, 404, 429)}}},
        },
    }
