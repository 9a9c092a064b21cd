"""Two-pass validation. Every problem is collected and reported at once, each with its path.

Pass 1 checks each component's own fields against its typed model. Pass 2 checks what ties them
together: references, signals, ports, pipelines with no way in or out, and unused components.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from processor.component import Kind
from processor.config.models import ComponentConfig, PipelineConfig, RawConfig, ServiceConfig
from processor.config.types import ComponentID, cut, quoted, split_endpoint
from processor.model.batch import Signal
from processor.processors.stream.migration import is_old_type, migration
from processor.service import registry


@dataclass(frozen=True)
class Pipeline:
    id: str  # `traces` or `traces/name`
    signal: Signal
    receivers: tuple[ComponentID, ...]
    processors: tuple[ComponentID, ...]
    exporters: tuple[ComponentID, ...]
    #: Connectors listed under receivers (this pipeline is fed by them) and under exporters (it feeds them).
    from_connectors: tuple[ComponentID, ...] = ()
    to_connectors: tuple[ComponentID, ...] = ()


@dataclass
class Config:
    components: dict[Kind, dict[ComponentID, ComponentConfig]]
    service: ServiceConfig
    pipelines: list[Pipeline]
    warnings: list[str] = field(default_factory=list)


#: The longest message a problem prints: values are quoted by a short prefix, and this catches any other echo.
MAX_MESSAGE_CHARS = 300


class Problems(Exception):
    def __init__(self, errors: list[str], warnings: list[str], guides: list[str] | None = None) -> None:
        """`guides`: errors that print a block of config to copy (the stream processor's migration), never cut."""
        errors, warnings = [cut(e, MAX_MESSAGE_CHARS) for e in errors], [cut(w, MAX_MESSAGE_CHARS) for w in warnings]
        errors += guides or []
        super().__init__("\n".join(errors))
        self.errors = errors
        self.warnings = warnings


def validate(document: dict[str, Any]) -> Config:
    """Return the typed config, or raise `Problems` listing every error."""
    errors: list[str] = []
    warnings: list[str] = []
    try:
        raw = RawConfig.model_validate(document)
    except ValidationError as exc:
        errors.extend(format_errors(exc, "", RawConfig))
        # Keep what is usable so that pass 1 still reports every component; non-string keys are reported above.
        raw = RawConfig.model_validate({k: {key: item for key, item in v.items() if isinstance(key, str)}
                                        for k, v in document.items() if k in RawConfig.model_fields
                                        and isinstance(v, dict)})
    invalid: set[tuple[Kind, ComponentID]] = set()
    components = _check_components(raw, errors, invalid)
    guides = _migrations(raw)
    service = _check_service(raw.service, errors)
    pipelines = _check_pipelines(service, components, invalid, errors, warnings) if service else []
    if service:
        _check_ports(service, components, pipelines, errors)
    if errors or guides:
        raise Problems(errors, warnings, guides)
    return Config(components, service, pipelines, warnings)


def _check_components(raw: RawConfig, errors: list[str],
                      invalid: set[tuple[Kind, ComponentID]]) -> dict[Kind, dict[ComponentID, ComponentConfig]]:
    """Each component's own fields; `invalid` collects the ids that are configured but wrong."""
    result: dict[Kind, dict[ComponentID, ComponentConfig]] = {kind: {} for kind in Kind}
    for kind in Kind:
        known = registry.factories()[kind]
        for key, body in getattr(raw, kind.section).items():
            path = f"{kind.section}::{cut(key)}"
            try:
                cid = ComponentID.parse(key)
            except ValueError as exc:
                errors.append(f"{path}: {exc}")
                continue
            factory = known.get(cid.type)
            invalid.add((kind, cid))
            if kind is Kind.PROCESSOR and is_old_type(cid.type):
                continue  # one message for all of them (_migrations)
            if factory is None:
                errors.append(f"{path}: unknown {kind.value} type {quoted(cid.type)}{_did_you_mean(cid.type, known)}")
                continue
            if body is not None and not isinstance(body, dict):
                errors.append(f"{path}: expected a mapping of settings, got {_describe(body)}")
                continue
            try:
                result[kind][cid] = factory.config_model.model_validate(body or {})
                invalid.discard((kind, cid))
            except ValidationError as exc:
                errors.extend(format_errors(exc, path, factory.config_model))
    return result


def _migrations(raw: RawConfig) -> list[str]:
    """The equivalent `stream:` block, when the config names processors that `stream` replaced."""
    if not any(is_old_type(str(key).partition("/")[0]) for key in raw.processors):
        return []
    pipelines = raw.service.get("pipelines") if isinstance(raw.service, dict) else None
    return [f"processors: {migration(raw.processors, pipelines if isinstance(pipelines, dict) else {})}"]


def _check_service(body: dict[str, Any], errors: list[str]) -> ServiceConfig | None:
    try:
        return ServiceConfig.model_validate(body)
    except ValidationError as exc:
        errors.extend(format_errors(exc, "service", ServiceConfig))
        return None


def _check_pipelines(service: ServiceConfig, components: dict[Kind, dict[ComponentID, ComponentConfig]],
                     invalid: set[tuple[Kind, ComponentID]], errors: list[str], warnings: list[str]) -> list[Pipeline]:
    if not service.pipelines:
        errors.append("service::pipelines: no pipeline is configured; add one, e.g. traces: "
                      "{receivers: [otlp], exporters: [debug]}")
    used: set[tuple[Kind, ComponentID]] = set()
    pipelines = []
    for key, body in service.pipelines.items():
        path = f"service::pipelines::{cut(key)}"
        signal_name, _, _ = key.partition("/")
        try:
            signal = Signal(signal_name)
        except ValueError:
            errors.append(f"{path}: {quoted(signal_name)} is not a signal; a pipeline id is traces, logs or metrics, "
                          f"optionally /name")
            continue
        connectors: dict[Kind, list[ComponentID]] = {Kind.RECEIVER: [], Kind.EXPORTER: []}
        ids = {kind: _references(body, kind, signal, path, components, invalid, errors, used, connectors)
               for kind in (Kind.RECEIVER, Kind.PROCESSOR, Kind.EXPORTER)}
        # Old stream processor types are left out of `ids` (refused in _check_components): the migration message
        # (_migrations) gives such a pipeline's new processors list, so the order is not checked.
        # The order is checked on the listed ids, invalid ones included: a `stream` whose settings are refused
        # still comes before what needs it, and its own error is the one to fix.
        if signal is Signal.TRACES and not any(is_old_type(str(p).partition("/")[0]) for p in body.processors):
            listed = [ComponentID.parse(name) for name in body.processors if _is_id(name)]
            _check_stream_order(listed, f"{path}::processors", errors)
        if not body.receivers:
            errors.append(f"{path}: has no receivers; list at least one under receivers")
        if not body.exporters:
            errors.append(f"{path}: has no exporters; list at least one under exporters")
        pipelines.append(Pipeline(key, signal, *(tuple(ids[k]) for k in (Kind.RECEIVER, Kind.PROCESSOR,
                                                                          Kind.EXPORTER)),
                                  tuple(connectors[Kind.RECEIVER]), tuple(connectors[Kind.EXPORTER])))
    _check_connectors(pipelines, components, errors)
    for index, name in enumerate(service.extensions):
        cid = _parse_ref(name, f"service::extensions::{index}", errors)
        if cid and (Kind.EXTENSION, cid) in invalid:
            continue
        if cid and cid not in components[Kind.EXTENSION]:
            errors.append(f"service::extensions: references extension {quoted(name)} which is not configured")
        elif cid:
            used.add((Kind.EXTENSION, cid))
    for kind, configured in components.items():
        for cid in configured:
            if (kind, cid) not in used:
                warnings.append(f"{kind.section}::{cut(str(cid))}: {kind.value} {quoted(cid)} is configured but not "
                                f"used by any {'service::extensions' if kind is Kind.EXTENSION else 'pipeline'}")
    return pipelines


#: Processors that work on the stream records `stream` emits in a traces pipeline: before it, or without it, they
#: would see nothing and silently do nothing. (A `batch` before `stream` loses nothing: `stream` reads and enriches
#: each batch it is given in one step, whatever was merged into it.)
NEEDS_STREAM = ("slo", "reconnect", "feedback", "trace_cost")


def _check_stream_order(processors: list[ComponentID], path: str, errors: list[str]) -> None:
    seen_stream = False
    for cid in processors:
        if cid.type == "stream":
            seen_stream = True
        elif cid.type in NEEDS_STREAM and not seen_stream:
            where = "no stream processor comes before it" if any(c.type == "stream" for c in processors) else \
                "this pipeline has no stream processor"
            errors.append(f"{path}: processor {quoted(cid)} works on the stream records the stream processor emits, "
                          f"but {where}; list stream first, e.g. processors: [memory_limiter, stream, {cid}, ...]")


def _references(body: PipelineConfig, kind: Kind, signal: Signal, path: str,
                components: dict[Kind, dict[ComponentID, ComponentConfig]], invalid: set[tuple[Kind, ComponentID]],
                errors: list[str], used: set[tuple[Kind, ComponentID]],
                connectors: dict[Kind, list[ComponentID]]) -> list[ComponentID]:
    """The ids listed under `kind` in a pipeline; connectors listed as receivers or exporters go to `connectors`."""
    ids = []
    for index, name in enumerate(getattr(body, kind.section)):
        cid = _parse_ref(name, f"{path}::{kind.section}::{index}", errors)
        if cid is None:
            continue
        if cid in ids or cid in connectors.get(kind, ()):
            errors.append(f"{path}: references {kind.value} {quoted(name)} twice; list it once")
            continue
        if kind in connectors and (cid in components[Kind.CONNECTOR] or (Kind.CONNECTOR, cid) in invalid):
            _connector_reference(cid, kind, signal, path, components, errors)
            used.add((Kind.CONNECTOR, cid))
            connectors[kind].append(cid)
            continue
        if (kind, cid) in invalid:
            used.add((kind, cid))  # its own problems are reported already
            continue
        if cid not in components[kind]:
            factory = registry.get(kind, cid.type)
            hint = "" if factory else _did_you_mean(cid.type, registry.factories()[kind])
            errors.append(f"{path}: references {kind.value} {quoted(name)} which is not configured{hint}")
            continue
        factory = registry.get(kind, cid.type)
        if signal not in factory.signals:
            errors.append(f"{path}: {kind.value} {quoted(name)} does not support {signal.value}; it supports "
                          f"{', '.join(sorted(s.value for s in factory.signals))}")
        used.add((kind, cid))
        ids.append(cid)
    return ids


def _connector_reference(cid: ComponentID, kind: Kind, signal: Signal, path: str,
                         components: dict[Kind, dict[ComponentID, ComponentConfig]], errors: list[str]) -> None:
    if cid in components[kind]:
        errors.append(f'{path}: "{cid}" is both a {kind.value} and a connector; rename one of them')
    factory = registry.get(Kind.CONNECTOR, cid.type)
    if factory is None or cid not in components[Kind.CONNECTOR]:
        return  # its own problems are reported already
    side = "emits" if kind is Kind.RECEIVER else "signals"
    allowed = getattr(factory, side)
    if signal not in allowed:
        role = "feeds" if kind is Kind.RECEIVER else "takes"
        errors.append(f'{path}: connector "{cid}" {role} {", ".join(sorted(s.value for s in allowed))}, not '
                      f"{signal.value}; list it under {'receivers' if kind is Kind.RECEIVER else 'exporters'} of a "
                      f"{' or '.join(sorted(s.value for s in allowed))} pipeline")


def _check_connectors(pipelines: list[Pipeline], components: dict[Kind, dict[ComponentID, ComponentConfig]],
                      errors: list[str]) -> None:
    """A connector used on one side only would take data nowhere, or wait for data that never comes."""
    for cid in components[Kind.CONNECTOR]:
        fed = [p.id for p in pipelines if cid in p.to_connectors]
        feeds = [p.id for p in pipelines if cid in p.from_connectors]
        if fed and not feeds:
            errors.append(f'connectors::{cid}: is an exporter of {", ".join(fed)} but a receiver of no pipeline; '
                          f"list it under receivers of the pipeline it should feed")
        elif feeds and not fed:
            errors.append(f'connectors::{cid}: is a receiver of {", ".join(feeds)} but an exporter of no pipeline; '
                          f"list it under exporters of the pipeline it should read")
        if set(fed) & set(feeds):
            errors.append(f"connectors::{cid}: is both a receiver and an exporter of {', '.join(set(fed) & set(feeds))}"
                          "; a pipeline cannot feed itself")


def _check_ports(service: ServiceConfig, components: dict[Kind, dict[ComponentID, ComponentConfig]],
                 pipelines: list[Pipeline], errors: list[str]) -> None:
    started = {(Kind.EXTENSION, ComponentID.parse(n)) for n in service.extensions if _is_id(n)}
    for pipeline in pipelines:
        started.update((Kind.RECEIVER, c) for c in pipeline.receivers)
        started.update((Kind.EXPORTER, c) for c in pipeline.exporters)
    claims: dict[int, list[tuple[str, str]]] = {}
    if service.telemetry.metrics.level != "none":
        _claim(claims, "service::telemetry::metrics::address", service.telemetry.metrics.address)
    for kind, cid in sorted(started, key=lambda kc: (kc[0].value, str(kc[1]))):
        config = components[kind].get(cid)
        for field_path, endpoint in (config.endpoints().items() if config else ()):
            _claim(claims, f"{kind.section}::{cid}::{field_path}", endpoint)
    for port, holders in claims.items():
        for path, endpoint in holders[1:]:
            errors.append(f"{path}: port {port} ({endpoint}) is already claimed by {holders[0][0]}; "
                          f"give one of them another port")


def _claim(claims: dict[int, list[tuple[str, str]]], path: str, endpoint: str) -> None:
    port = split_endpoint(endpoint)[1]
    if port != 0:
        claims.setdefault(port, []).append((path, endpoint))


def _parse_ref(name: str, path: str, errors: list[str]) -> ComponentID | None:
    try:
        return ComponentID.parse(name)
    except ValueError as exc:
        errors.append(f"{path}: {exc}")
        return None


def _is_id(name: str) -> bool:
    try:
        ComponentID.parse(name)
    except ValueError:
        return False
    return True


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f'; did you mean "{close[0]}"?'
    return f"; known types: {', '.join(sorted(choices))}" if choices else ""


def _describe(value: Any) -> str:
    """A value as the user wrote it in YAML, cut to a short prefix."""
    if isinstance(value, str) or (isinstance(value, int) and abs(value) >= 10 ** 40):
        return quoted(value)
    try:
        return cut(json.dumps(value))
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return cut(repr(value))
    except (ValueError, RecursionError):  # nesting too deep to print
        return f"a {type(value).__name__}"



def format_errors(exc: ValidationError, prefix: str, model: type[BaseModel]) -> list[str]:
    """Pydantic's errors as `path::to::key: message` lines a user can act on."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = [cut(str(part)) for part in error["loc"]]
        path = "::".join([prefix, *loc] if prefix else loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            parent = _model_at(model, error["loc"][:-1])
            fields = list(parent.model_fields) if parent else []
            key = str(error["loc"][-1])
            hint = _did_you_mean(key, fields).replace("known types", "known keys") if len(key) <= 100 else ""
            lines.append(f"{path}: unknown key {quoted(key)}{hint}")
        elif kind == "missing":
            lines.append(f"{path}: is required")
        elif kind in ("value_error", "assertion_error"):
            lines.append(f"{path}: {str(error['msg']).removeprefix('Value error, ')}")
        else:
            lines.append(f"{path}: {_describe(error.get('input'))} is not valid: {error['msg']}")
    return lines


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The nested model class at `loc`, to list its keys in a hint."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return None
        current = _model_of(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
