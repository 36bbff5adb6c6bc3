"""The consumer pages: the Digital Link resolver (the QR code's URL), PIN claims, counterfeit reports, proofs."""
from __future__ import annotations

import time
from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, make_response, render_template, request

from apps.traceability import digital_link
from apps.traceability.consumer import look_up, report_counterfeit
from apps.traceability.epc_keys import item_key, lot_key
from apps.traceability.errors import TraceError
from apps.traceability.identifiers import IdentifierError
from apps.traceability.proofs import item_proofs
from apps.traceability.service import TraceService
from apps.traceability.store import Code
from apps.traceability.web.i18n import language, translate

consumer = Blueprint("trace_consumer", __name__, template_folder="templates", static_folder="static",
                     static_url_path="/trace-static")


def service() -> TraceService:
    """The traceability service the app was built with."""
    return current_app.extensions["trace_service"]  # type: ignore[no-any-return]


def _link(gtin: str, lot: str | None, serial: str | None) -> digital_link.DigitalLink:
    """The Digital Link of the request path (refused with an IdentifierError when malformed)."""
    path = f"/01/{gtin}" + (f"/10/{lot}" if lot is not None else "") + (f"/21/{serial}" if serial is not None else "")
    query = request.query_string.decode("latin-1")
    return digital_link.parse(f"{request.scheme}://{request.host}{path}" + (f"?{query}" if query else ""))


def _place() -> str:
    """Where a scan came from: the client's hint, else its network (the address without its last part)."""
    hint = request.args.get("place") or request.form.get("place") or ""
    if hint:
        return hint[:64]
    address = request.headers.get("X-Forwarded-For", request.remote_addr or "").split(",")[0].strip()
    return address.rsplit(".", 1)[0] if "." in address else address[:32]


@consumer.get("/01/<gtin>/21/<serial>")
@consumer.get("/01/<gtin>/10/<lot>/21/<serial>")
def item_page(gtin: str, serial: str, lot: str | None = None) -> Any:
    """The consumer page an item's QR code opens."""
    lang = language()
    try:
        link = _link(gtin, lot, serial)
    except IdentifierError as exc:
        return render_template("trace/bad_code.html", message=str(exc), lang=lang, t=translate), 400
    result = look_up(service(), link, _place(), request.remote_addr or "", int(time.time() * 1000), date.today())
    response = make_response(render_template("trace/item.html", r=result, lang=lang, t=translate,
                                             claimed=request.args.get("claimed"), reported=request.args.get("reported")))
    if request.args.get("lang") in ("en", "zh"):
        response.set_cookie("lang", request.args["lang"], max_age=365 * 86400, samesite="Lax")
    return response


@consumer.get("/01/<gtin>/21/<serial>/proofs")
@consumer.get("/01/<gtin>/10/<lot>/21/<serial>/proofs")
def item_proofs_json(gtin: str, serial: str, lot: str | None = None) -> Any:
    """The on-chain proofs of an item's facts, checked by the light client (JSON; the page loads it)."""
    try:
        link = _link(gtin, lot, serial)
    except IdentifierError as exc:
        return jsonify({"error": str(exc), "field": exc.field}), 400
    svc = service()
    code = svc.store.get(Code, link.gtin.digits, link.serial or "")
    keys = [item_key(link.gtin.digits, link.serial or "")] + ([lot_key(link.gtin.digits, code.lot)] if code else [])
    events = svc.store.events_of(keys)
    return jsonify({"proofs": item_proofs(svc, link.gtin.digits, link.serial or "", events)})


@consumer.post("/01/<gtin>/21/<serial>/claim")
@consumer.post("/01/<gtin>/10/<lot>/21/<serial>/claim")
def claim(gtin: str, serial: str, lot: str | None = None) -> Any:
    """Claim the scratch-off PIN (once per item, on chain)."""
    link = _link(gtin, lot, serial)
    pin = (request.form.get("pin") or "").strip().upper()
    try:
        if len(pin) != 10 or not pin.isalnum():
            raise TraceError("a PIN has 10 letters and digits", "pin")
        service().claim_pin(link.gtin.digits, link.serial or "", pin)
    except TraceError as exc:
        return render_template("trace/message.html", message=exc.message, lang=language(), t=translate,
                               back=link.path), exc.status if exc.status < 500 else 400
    return render_template("trace/message.html", message=translate("pin_ok"), lang=language(), t=translate,
                           back=link.path)


@consumer.post("/01/<gtin>/21/<serial>/report")
@consumer.post("/01/<gtin>/10/<lot>/21/<serial>/report")
def report(gtin: str, serial: str, lot: str | None = None) -> Response:
    """Record a counterfeit report."""
    link = _link(gtin, lot, serial)
    report_counterfeit(service(), item_key(link.gtin.digits, link.serial or ""), request.form.get("note", ""),
                       _place(), int(time.time() * 1000))
    return make_response(render_template("trace/message.html", message=translate("report_sent"), lang=language(),
                                         t=translate, back=link.path))
