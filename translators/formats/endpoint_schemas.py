"""Validate JSON bodies of the non-chat endpoints (images, speech, moderations, batches, fine-tuning)."""

from __future__ import annotations

from marshmallow import fields
from marshmallow.validate import Length, OneOf, Range

from translators.formats.schemas import BodySchema, Number, _Open


class ImageGenerationSchema(_Open):
    prompt = fields.String(required=True, validate=Length(min=1))
    model = fields.String()
    n = fields.Integer(strict=True, validate=Range(min=1, max=10))
    size = fields.String()
    response_format = fields.String(validate=OneOf(("url", "b64_json")))


class SpeechSchema(_Open):
    model = fields.String(required=True, validate=Length(min=1))
    input = fields.String(required=True, validate=Length(min=1))
    voice = fields.Raw(required=True)
    speed = Number(validate=Range(0.25, 4.0))


class ModerationSchema(_Open):
    input = fields.Raw(required=True)
    model = fields.String()


class BatchSchema(_Open):
    input_file_id = fields.String(required=True, validate=Length(min=1))
    endpoint = fields.String(required=True, validate=Length(min=1))
    completion_window = fields.String(required=True)


class FineTuneSchema(_Open):
    model = fields.String(required=True, validate=Length(min=1))
    training_file = fields.String(required=True, validate=Length(min=1))
    validation_file = fields.String(allow_none=True)
    suffix = fields.String(allow_none=True)


image_generation = BodySchema(ImageGenerationSchema)
speech = BodySchema(SpeechSchema)
moderation = BodySchema(ModerationSchema)
batch = BodySchema(BatchSchema)
fine_tune = BodySchema(FineTuneSchema)
