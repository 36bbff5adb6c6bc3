"""The traceability consoles: brands (products, batches, labels, recalls), logistics and retailers (recording steps),
regulators (read-only traces of any batch, exported as spreadsheets).

Sign-in keeps the user in the session; every POST form carries the session's
CSRF token. A page is for the roles it names and, for a batch, its own brand
(regulators read everything and write nothing).
"""
from __future__ import annotations

import hmac
import os
import re
import secrets
import time
from datetime import date
from urllib.parse import urlencode
from functools import wraps
from typing import Any, Callable, Sequence

from flask import (
    Blueprint, Response, abort, current_app, g, jsonify, redirect, render_template, request, send_file, session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from sqlalchemy import func, or_, select

from apps.traceability import digital_link
from apps.traceability.consumer import look_up
from apps.traceability.epc_keys import item_key, key_to_uri, split_key, to_key
from apps.traceability.epcis import EpcisError, SensorReading, event_from_fields, to_document
from apps.traceability.errors import TraceError
from apps.traceability.identifiers import Gtin, IdentifierError, Sscc, parse_lot
from apps.traceability.jobs import (
    DONE, LABEL_FORMATS, Job, JobRunner, issue_batch_work, label_work, owned_batch,
)
from apps.traceability.regulator import (
    backward_trace, batch_events, committed_batch, export_xlsx, forward_trace, item_trace,
)
from apps.traceability.service import TraceService
from apps.traceability.store import Batch, Code, Event, EventEpc, Item, Product, Report, Scan
from apps.traceability.web.auth import TraceUser
from apps.traceability.web.i18n import LANGUAGES, language, translate
from chain.sdk import ApiError

console = Blueprint("trace_console", __name__, url_prefix="/console", template_folder="templates")

#: The steps the record form offers, and which roles record which.
STEPS = ("commissioning", "inspecting", "packing", "unpacking", "shipping", "receiving", "retail_selling",
         "decommissioning")
ROLE_STEPS: dict[str, tuple[str, ...]] = {
    "brand": STEPS,
    "logistics": ("packing", "unpacking", "shipping", "receiving"),
    "retailer": ("receiving", "packing", "unpacking", "shipping", "retail_selling"),
    "regulator": (),
}
#: EPCIS event type, action and disposition of each step.
STEP_EVENTS: dict[str, tuple[str, str, str | None]] = {
    "commissioning": ("ObjectEvent", "ADD", "active"),
    "inspecting": ("ObjectEvent", "OBSERVE", "conformant"),
    "packing": ("AggregationEvent", "ADD", "in_progress"),
    "unpacking": ("AggregationEvent", "DELETE", "in_progress"),
    "shipping": ("ObjectEvent", "OBSERVE", "in_transit"),
    "receiving": ("ObjectEvent", "OBSERVE", "in_progress"),
    "retail_selling": ("ObjectEvent", "OBSERVE", "retail_sold"),
    "decommissioning": ("ObjectEvent", "DELETE", "inactive"),
}
#: Identifiers one recorded step names at most (the contract's limit per list).
MAX_STEP_EPCS = 2000
WRITERS = ("brand", "logistics", "retailer")
_SPLIT = re.compile(r"[\s,;]+")


@console.record_once
def _setup(state: BlueprintSetupState) -> None:
    """Give the app what sessions and jobs need (a secret key, a job runner) unless it has them."""
    app = state.app
    if not app.secret_key:
        app.secret_key = os.environ.get("TRACE_SECRET_KEY") or secrets.token_hex(32)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    if "trace_jobs" not in app.extensions:
        app.extensions["trace_jobs"] = JobRunner(app.config.get("TRACE_JOBS_DIR") or os.environ.get("TRACE_JOBS_DIR"))


# --- shared by the console and the EPCIS API -------------------------------------------------------------------------


def service() -> TraceService:
    """The traceability service the app was built with."""
    return current_app.extensions["trace_service"]  # type: ignore[no-any-return]


def runner() -> JobRunner:
    """The app's background job runner."""
    return current_app.extensions["trace_jobs"]  # type: ignore[no-any-return]


def users() -> dict[str, TraceUser]:
    """The console users, by name."""
    return current_app.extensions.get("trace_users", {})  # type: ignore[no-any-return]


def session_user() -> TraceUser | None:
    """The user signed in to this session, if any."""
    name = session.get("trace_user")
    return users().get(name) if isinstance(name, str) else None


def check_password(username: str, password: str) -> TraceUser | None:
    """The user if the password is theirs."""
    user = users().get(username)
    return user if user is not None and user.check(password) else None


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(sent: str | None) -> bool:
    """True if a request carries this session's CSRF token."""
    token = session.get("csrf")
    return isinstance(token, str) and isinstance(sent, str) and hmac.compare_digest(token, sent)


# --- access ----------------------------------------------------------------------------------------------------------


def _user() -> TraceUser:
    return g.trace_user  # type: ignore[no-any-return]


def signed_in(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view for signed-in users of the given roles (any role if none given)."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = session_user()
            if user is None:
                return redirect(url_for("trace_console.login", next=request.full_path if request.method == "GET" else None))
            g.trace_user = user
            if roles and user.role not in roles:
                return _forbidden(user)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def _error(status: int, message: str) -> tuple[str, int]:
    """The console's error page."""
    return render_template("trace/console/error.html", status=status, message=message), status


def _forbidden(user: TraceUser) -> tuple[str, int]:
    return _error(403, translate("c_forbidden_role").format(role=translate(f"role_{user.role}")))


@console.errorhandler(404)
def _not_found(_: Exception) -> tuple[str, int]:
    return _error(404, translate("c_error_404"))


def _may_read_batch(batch: Batch) -> bool:
    user = _user()
    return user.role == "regulator" or (user.role == "brand" and batch.org == user.org)


@console.before_request
def _check_csrf() -> Any:
    """Refuse any POST without this session's CSRF token."""
    if request.method == "POST" and not csrf_ok(request.form.get("csrf_token")):
        return _error(400, translate("c_csrf"))
    return None


@console.after_request
def _remember_language(response: Response) -> Response:
    if request.args.get("lang") in LANGUAGES:
        response.set_cookie("lang", request.args["lang"], max_age=365 * 86400, samesite="Lax")
    return response


@console.context_processor
def _template_globals() -> dict[str, Any]:
    return {"t": translate, "lang": language(), "csrf_token": csrf_token, "user": session_user(),
            "label_of": _label_of, "lang_url": _lang_url}


def _lang_url(lang: str) -> str:
    """This page's URL (query kept) in another language."""
    args = request.args.to_dict()
    args["lang"] = lang
    return f"{request.path}?{urlencode(args)}"


def _label_of(org: str) -> str:
    party = service().config.parties.get(org)
    return party.label if party else org


# --- sign-in ---------------------------------------------------------------------------------------------------------


@console.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with a console account."""
    target = request.values.get("next") or ""
    if not target.startswith("/console") or target.startswith("/console/login"):
        target = url_for("trace_console.dashboard")
    if request.method == "GET":
        return render_template("trace/console/login.html", next=target, error="")
    user = check_password(request.form.get("username", ""), request.form.get("password", ""))
    if user is None:
        return render_template("trace/console/login.html", next=target, error=translate("c_bad_login")), 401
    session.clear()
    session["trace_user"] = user.username
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect(target)


@console.post("/logout")
def logout() -> Response:
    """Sign out."""
    session.clear()
    return redirect(url_for("trace_console.login"))


# --- dashboard -------------------------------------------------------------------------------------------------------


@console.get("/")
@signed_in()
def dashboard() -> Any:
    """The organisation's overview: products, batches, recent events, scans; a regulator's: every batch."""
    user, store = _user(), service().store
    products = store.products(user.org) if user.role == "brand" else []
    batches = store.batches(user.org if user.role == "brand" else None) if user.role in ("brand", "regulator") else []
    held = store.all(select(Item).where(Item.holder == user.org).order_by(Item.height.desc()).limit(50)) \
        if user.role in ("logistics", "retailer") else []
    return render_template("trace/console/dashboard.html", products=products, batches=batches[:50], held=held,
                           events=_recent_events(user, [p.gtin for p in products]),
                           scans=_scan_statistics(user, products))


def _recent_events(user: TraceUser, gtins: Sequence[str], limit: int = 20) -> list[Event]:
    """The latest events the organisation recorded or that touched its products (every event for a regulator)."""
    q = select(Event).order_by(Event.height.desc(), Event.event_time.desc()).limit(limit)
    if user.role != "regulator":
        touching = [EventEpc.key.like(f"{kind}:{g}.%") for g in gtins for kind in ("sgtin", "lgtin")]
        mine = Event.org == user.org
        q = q.where(or_(mine, Event.event_hash.in_(select(EventEpc.event_hash).where(or_(*touching))))
                    if touching else mine)
    return service().store.all(q)


def _scan_statistics(user: TraceUser, products: Sequence[Product]) -> dict[str, Any]:
    """Consumer scans per product and per verdict, for the bar charts."""
    if user.role != "brand" or not products:
        return {"products": [], "verdicts": [], "total": 0, "top": 0, "top_verdict": 0}
    store = service().store
    names = {p.gtin: p.name for p in products}
    mine = or_(*[Scan.key.like(f"sgtin:{gtin}.%") for gtin in names])
    gtin_of = func.substr(Scan.key, 7, 14)  # "sgtin:" + GTIN-14
    with store.session() as s:
        per_product = [(names.get(gtin, gtin), int(n)) for gtin, n in
                       s.execute(select(gtin_of, func.count(Scan.id)).where(mine).group_by(gtin_of).order_by(gtin_of))]
        verdicts = [(translate(v), int(n)) for v, n in
                    s.execute(select(Scan.verdict, func.count(Scan.id)).where(mine).group_by(Scan.verdict)
                              .order_by(func.count(Scan.id).desc()))]
    return {"products": per_product, "verdicts": verdicts, "total": sum(n for _, n in per_product),
            "top": max((n for _, n in per_product), default=0), "top_verdict": max((n for _, n in verdicts), default=0)}


# --- products --------------------------------------------------------------------------------------------------------


@console.route("/products", methods=["GET", "POST"])
@signed_in("brand")
def products() -> Any:
    """The brand's products, and registering one."""
    user, error, status = _user(), None, 200
    if request.method == "POST":
        form = request.form
        try:
            service().register_product(user.org, form.get("gtin", "").strip(), form.get("prefix", "").strip(),
                                       form.get("name", ""))
            return redirect(url_for("trace_console.products", registered=form.get("gtin", "").strip()))
        except (TraceError, IdentifierError) as exc:
            error, status = _refusal(exc), _status(exc)
    rows = service().store.products(user.org)
    prefixes = sorted({p.prefix for p in rows})
    return render_template("trace/console/products.html", products=rows, prefixes=prefixes, error=error,
                           form=request.form, registered=request.args.get("registered")), status


def _refusal(exc: Exception) -> dict[str, str]:
    """A refusal as the pages show it: the message and the field it names."""
    if isinstance(exc, TraceError):
        return {"message": exc.message, "field": exc.field}
    return {"message": str(exc), "field": getattr(exc, "field", "")}


def _status(exc: Exception) -> int:
    status = exc.status if isinstance(exc, TraceError) else 400
    return status if 400 <= status < 500 or status == 503 else 400


# --- batches and jobs -------------------------------------------------------------------------------------------------


@console.route("/batches", methods=["GET", "POST"])
@signed_in("brand", "regulator")
def batches() -> Any:
    """Batches (the brand's own, or all for a regulator), and the issuance form -> a job with a progress bar."""
    user, error, status = _user(), None, 200
    if request.method == "POST":
        if user.role != "brand":
            return _forbidden(user)
        form = request.form
        try:
            gtin = Gtin.parse(form.get("gtin", "").strip()).digits
            product = service().store.get(Product, gtin)
            if product is None or product.org != user.org:
                raise TraceError(translate("c_register_first").format(gtin=gtin), "gtin", 403 if product else 400)
            count = _whole(form.get("count", ""), "count")
            work = issue_batch_work(service(), user.org, gtin, parse_lot(form.get("lot", "").strip()), count,
                                    form.get("expiry", "").strip())
            job = runner().submit("issue_batch", user.org, work, {"gtin": gtin, "lot": form.get("lot", "").strip()})
            return redirect(url_for("trace_console.job_page", job_id=job.id))
        except (TraceError, IdentifierError) as exc:
            error, status = _refusal(exc), _status(exc)
    store = service().store
    return render_template("trace/console/batches.html", batches=store.batches(None if user.role == "regulator"
                                                                                  else user.org),
                           products=store.products(user.org) if user.role == "brand" else [], error=error,
                           form=request.form), status


def _whole(text: str, field: str) -> int:
    text = text.strip()
    if not text.isdigit() or len(text) > 9:
        raise TraceError(translate("c_whole_number"), field)
    return int(text)


@console.get("/batches/<gtin>/<path:lot>")
@signed_in("brand", "regulator")
def batch_page(gtin: str, lot: str) -> Any:
    """One batch: its commitment, labels, journey and the recall form."""
    try:
        batch = committed_batch(service().store, gtin, lot)
    except TraceError as exc:
        return _error(exc.status, exc.message)
    if not _may_read_batch(batch):
        return _error(403, translate("c_not_your_batch"))
    return _render_batch(batch)


def _render_batch(batch: Batch, error: dict[str, str] | None = None, status: int = 200) -> Any:
    store, user = service().store, _user()
    with store.session() as s:
        held = s.scalar(select(func.count()).select_from(Code).where(Code.gtin == batch.gtin, Code.lot == batch.lot))
    product = store.get(Product, batch.gtin)
    label_jobs = [j for j in runner().jobs(user.org, "labels")
                  if j.data.get("gtin") == batch.gtin and j.data.get("lot") == batch.lot] if user.role == "brand" else []
    owner = user.role == "brand" and batch.org == user.org
    return render_template("trace/console/batch.html", batch=batch, product=product, codes_held=held or 0,
                           owner=owner, formats=LABEL_FORMATS, label_jobs=label_jobs,
                           events=batch_events(store, batch, 200), error=error,
                           recalled_now=request.args.get("recalled")), status


@console.post("/labels")
@signed_in("brand")
def labels() -> Any:
    """Render a batch's labels in the background (its own brand only)."""
    form, user = request.form, _user()
    try:
        batch = owned_batch(service(), user.org, form.get("gtin", ""), form.get("lot", ""))
        fmt = form.get("format", "pdf")
        work = label_work(service(), runner(), batch, fmt, current_app.config.get("TRACE_LABEL_WORKERS", 2))
        job = runner().submit("labels", user.org, work, {"gtin": batch.gtin, "lot": batch.lot, "format": fmt})
    except (TraceError, IdentifierError) as exc:
        return _error(_status(exc), _refusal(exc)["message"])
    return redirect(url_for("trace_console.job_page", job_id=job.id))


@console.post("/recall")
@signed_in("brand")
def recall() -> Any:
    """Recall a batch (its own brand only); the consumer page shows it at once."""
    form, user = request.form, _user()
    try:
        batch = owned_batch(service(), user.org, form.get("gtin", ""), form.get("lot", ""))
    except (TraceError, IdentifierError) as exc:
        return _error(_status(exc), _refusal(exc)["message"])
    try:
        reason = form.get("reason", "").strip()
        if not reason:
            raise TraceError(translate("c_reason_needed"), "reason")
        service().recall(user.org, batch.gtin, batch.lot, reason)
    except TraceError as exc:
        return _render_batch(batch, _refusal(exc), _status(exc))
    return redirect(url_for("trace_console.batch_page", gtin=batch.gtin, lot=batch.lot, recalled=1))


def job_message(job: Job) -> str:
    """What a job is doing, in the request's language."""
    return translate(job.note).format(**job.args) if job.note else ""


def _own_job(job_id: str) -> Job:
    job = runner().get(job_id)
    if job is None or job.org != _user().org:
        abort(404)
    return job


@console.get("/jobs/<job_id>")
@signed_in(*WRITERS)
def job_page(job_id: str) -> Any:
    """A job's progress bar (the page polls the status endpoint)."""
    job = _own_job(job_id)
    return render_template("trace/console/job.html", job=job, message=job_message(job))


@console.get("/jobs/<job_id>/status")
@signed_in(*WRITERS)
def job_status(job_id: str) -> Any:
    """A job's state as JSON."""
    job = _own_job(job_id)
    body = job.to_json()
    body["message"] = job_message(job)
    if job.state == DONE and job.result:
        body["download"] = url_for("trace_console.job_download", job_id=job.id)
    if job.kind == "issue_batch" and job.state == DONE:
        body["batch"] = url_for("trace_console.batch_page", gtin=job.data["gtin"], lot=job.data["lot"])
    return jsonify(body)


@console.get("/jobs/<job_id>/download")
@signed_in("brand")
def job_download(job_id: str) -> Any:
    """The file a finished label job made (its own brand only)."""
    job = _own_job(job_id)
    if job.state != DONE or not job.result or not os.path.exists(job.result):
        return _error(404, translate("c_no_file"))
    mimetype = "application/pdf" if job.result.endswith(".pdf") else "application/zip"
    return send_file(job.result, mimetype=mimetype, as_attachment=True,
                     download_name=job.data.get("file_name") or os.path.basename(job.result))


# --- recording a step -------------------------------------------------------------------------------------------------


@console.route("/record", methods=["GET", "POST"])
@signed_in(*WRITERS)
def record() -> Any:
    """Record a supply-chain step as an EPCIS event anchored on chain; a refusal shows the contract's reason."""
    user = _user()
    steps = ROLE_STEPS[user.role]
    recorded, error, status = None, None, 200
    if request.method == "POST":
        try:
            document = to_document([step_event(user, request.form)])
            hashes = service().capture(user.org, document)
            recorded = service().store.get(Event, hashes[0])
        except (TraceError, IdentifierError, EpcisError) as exc:
            error, status = _refusal(exc), _status(exc)
    others = [p for p in service().config.parties.values() if p.name != user.org and p.kind != "service"]
    return render_template("trace/console/record.html", steps=steps, form=request.form, recorded=recorded,
                           error=error, others=others), status


def step_event(user: TraceUser, form: Any) -> dict[str, Any]:
    """The EPCIS event of a record-step form: the step's event type, action and disposition over the named EPCs."""
    step = form.get("step", "")
    if step not in ROLE_STEPS[user.role]:
        raise TraceError(translate("c_step_not_yours").format(step=step, role=translate(f"role_{user.role}")), "step",
                         403 if step in STEPS else 400)
    kind, action, disposition = STEP_EVENTS[step]
    epcs = _named_epcs(form)
    party = service().config.parties.get(user.org)
    place = (form.get("read_point") or "").strip() or (party.gln if party else None)
    fields: dict[str, Any] = dict(action=action, biz_step=step, disposition=disposition, read_point=place,
                                  biz_location=place)
    if kind == "AggregationEvent":
        parent = (form.get("parent") or "").strip()
        if not parent:
            raise TraceError(translate("c_parent_needed"), "parent")
        fields.update(parent_id=_container_uri(parent), child_epcs=epcs)
        if step == "packing" and not epcs:
            raise TraceError(translate("c_epcs_needed"), "epcs")
    else:
        if not epcs:
            raise TraceError(translate("c_epcs_needed"), "epcs")
        fields["epcs"] = epcs
    to = (form.get("to") or "").strip()
    if step == "shipping" and to:
        receiver = service().party(to)
        sender = service().party(user.org)
        fields.update(sources=[("owning_party", sender.gln)], destinations=[("owning_party", receiver.gln)])
    temperature = (form.get("temperature") or "").strip()
    if temperature:
        fields["sensor_readings"] = [SensorReading("Temperature", temperature, "CEL")]
    try:
        return event_from_fields(kind, **fields)
    except EpcisError as exc:
        raise TraceError(str(exc), exc.field) from None


def _named_epcs(form: Any) -> list[str]:
    """The EPCs a form names: URIs and keys typed in, then a batch's items by position (from-to, 1-based)."""
    resolver = service().config.resolver
    epcs: list[str] = []
    for i, text in enumerate(t for t in _SPLIT.split(form.get("epcs") or "") if t):
        if text.startswith(("sgtin:", "sscc:", "lgtin:")):
            try:
                split_key(text)
            except IdentifierError as exc:
                raise TraceError(str(exc), f"epcs[{i}]") from None
            text = key_to_uri(text, resolver)
        epcs.append(text)
    gtin, lot = (form.get("gtin") or "").strip(), (form.get("lot") or "").strip()
    if gtin or lot:
        first = _whole(form.get("first") or "1", "first")
        last = _whole(form.get("last") or form.get("first") or "1", "last")
        if first < 1 or last < first:
            raise TraceError(translate("c_bad_range"), "first")
        if last - first + 1 > MAX_STEP_EPCS:
            raise TraceError(translate("c_too_many").format(n=MAX_STEP_EPCS), "last")
        batch = committed_batch(service().store, gtin, lot)
        codes = service().store.codes(batch.gtin, batch.lot, limit=last - first + 1, offset=first - 1)
        if len(codes) < last - first + 1:
            raise TraceError(translate("c_range_beyond").format(n=batch.count), "last")
        epcs += [key_to_uri(item_key(c.gtin, c.serial), resolver) for c in codes]
    if len(epcs) > MAX_STEP_EPCS:
        raise TraceError(translate("c_too_many").format(n=MAX_STEP_EPCS), "epcs")
    return list(dict.fromkeys(epcs))


def _container_uri(text: str) -> str:
    """A container's identifier: an SSCC (18 digits), its key, EPC URN or Digital Link."""
    if text.isdigit():
        return key_to_uri(f"sscc:{Sscc.parse(text, 'parent').digits}", service().config.resolver)
    if text.startswith("sscc:"):
        return key_to_uri(text, service().config.resolver)
    if not to_key(text, "parent").startswith("sscc:"):
        raise TraceError(translate("c_parent_needed"), "parent")
    return text


# --- items, reports, identities ---------------------------------------------------------------------------------------


@console.get("/items")
@signed_in()
def item_page() -> Any:
    """An item's (or container's) journey: every anchored step with its block, and its state on chain."""
    text = (request.args.get("epc") or "").strip()
    if not text:
        return render_template("trace/console/item.html", epc="", key="", steps=[], item=None, verdict=None,
                               traced=None)
    try:
        key = text if text.startswith(("sgtin:", "sscc:", "lgtin:")) else to_key(text, "epc")
        kind, number, rest = split_key(key)
    except IdentifierError as exc:
        return render_template("trace/console/item.html", epc=text, key="", steps=[], item=None, verdict=None,
                               traced=None, error=_refusal(exc)), 400
    svc = service()
    verdict, traced = None, item_trace(svc, key)
    if kind == "sgtin":
        result = look_up(svc, digital_link.build(svc.config.resolver, Gtin(number), serial=rest), "", "",
                         int(time.time() * 1000), date.today(), log_scan=False)
        verdict = result.verdict
        steps = [{"time": e.time, "step": e.step, "kind": e.kind, "action": e.action, "org": e.org_label,
                  "place": e.place, "via": e.via, "height": e.height, "hash": e.event_hash,
                  "corrected": bool(e.corrected_by), "sensors": e.sensors} for e in result.timeline]
    else:
        steps = [{"time": e.event_time, "step": e.biz_step, "kind": e.kind, "action": e.action,
                  "org": _label_of(e.org), "place": e.biz_location or e.read_point, "via": "", "height": e.height,
                  "hash": e.event_hash, "corrected": bool(e.corrected_by), "sensors": ()}
                 for e in svc.store.events_of([key])]
    return render_template("trace/console/item.html", epc=text, key=key, steps=steps, item=svc.store.get(Item, key),
                           verdict=verdict, traced=traced)


@console.get("/reports")
@signed_in("brand", "regulator")
def reports() -> Any:
    """Consumers' counterfeit reports (of the brand's products; all of them for a regulator)."""
    user, store = _user(), service().store
    q = select(Report).order_by(Report.at_ms.desc()).limit(500)
    if user.role == "brand":
        gtins = [p.gtin for p in store.products(user.org)]
        q = q.where(or_(*[Report.key.like(f"sgtin:{g}.%") for g in gtins])) if gtins else q.where(Report.id < 0)
    rows = [{"at": time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.at_ms / 1000)), "key": r.key, "place": r.place,
             "note": r.note} for r in store.all(q)]
    return render_template("trace/console/reports.html", reports=rows)


@console.get("/identities")
@signed_in()
def identities() -> Any:
    """The organisation as the chain knows it: its participant record and the identity this service signs with."""
    user, svc = _user(), service()
    public = svc.client(None)
    participant, signer, members, problem = None, None, [], ""
    try:
        participant = public.participant(user.org)
        members = public.users(user.org)
        if user.org in svc.config.keys:
            signer = public.user(svc.client(user.org).address)
    except ApiError as exc:
        problem = str(exc)
    return render_template("trace/console/identities.html", participant=participant, signer=signer, members=members,
                           problem=problem)


# --- regulator traces ------------------------------------------------------------------------------------------------


@console.get("/trace/<gtin>/<path:lot>")
@signed_in("brand", "regulator")
def trace_page(gtin: str, lot: str) -> Any:
    """A batch traced forward (items, holders, handovers) and backward (input lots); ?format=xlsx exports both."""
    svc = service()
    try:
        batch = committed_batch(svc.store, gtin, lot)
    except TraceError as exc:
        return _error(exc.status, exc.message)
    if not _may_read_batch(batch):
        return _error(403, translate("c_not_your_batch"))
    forward = forward_trace(svc, batch.gtin, batch.lot)
    backward = backward_trace(svc, batch.gtin, batch.lot)
    if request.args.get("format") == "xlsx":
        data = export_xlsx(forward, backward, svc.store.checkpoint("traceability"))
        name = f"trace-{batch.gtin}-{batch.lot.replace('/', '_')}.xlsx"
        response = current_app.response_class(
            data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return render_template("trace/console/trace.html", batch=batch, forward=forward, backward=backward,
                           shown=200, handovers=sum(len(t.handovers) for t in forward.items))
