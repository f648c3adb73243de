"""A host Flask application that mounts the gateway under ``/llm`` (and a second copy under ``/llm2``)."""

from __future__ import annotations

import json
import os

from flask import Flask, jsonify

from gateway import Gateway, make_blueprint

app = Flask("hostapp")
app.config["GATEWAY_PROVIDERS"] = json.loads(os.environ.get("HOST_GATEWAY_PROVIDERS", "{}"))


@app.get("/")
def home():
    return "host home page"


@app.get("/api/data")
def data():
    return jsonify({"zebra": 1, "apple": "é"})


Gateway().init_app(app)
app.register_blueprint(make_blueprint(), url_prefix="/llm")
app.register_blueprint(make_blueprint("gateway2"), url_prefix="/llm2")
