"""The page's bridge into the engine, run inside Pyodide (web/src/worker.js loads it).

Every function takes and returns JSON text so the worker passes only strings across.
The redaction mapping lives here, in memory, for the page's lifetime: the LLM answer is restored
with the same mapping that produced the redacted text.
"""
import json

from sockdoctor import engine
from sockdoctor.evidence import registry
from sockdoctor.evidence import split as splitter
from sockdoctor.redact import Mapping, redact, restore

_mapping = Mapping()


def kinds(_: str = "") -> str:
    return json.dumps(registry.KINDS)


def _pieces(inputs, overrides):
    """Split every input; apply the user's kind corrections, keyed 'input:first_line'."""
    out = {}
    for name, text in inputs:
        pieces = splitter.split(name, text)
        for piece in pieces:
            key = f"{name}:{piece.chunk.first_line}"
            if key in overrides:
                piece.kind = overrides[key] or None
                piece.reason = "set by you"
        out[name] = pieces
    return out


def _piece_json(name, piece):
    first = piece.chunk.first_line
    last = piece.last_line or first + len(piece.chunk.lines()) - 1
    return {"input": name, "first_line": first, "last_line": last, "kind": piece.kind,
            "reason": piece.reason, "score": round(piece.score, 2), "command": piece.chunk.command}


def _evidence(inputs, pieces):
    ev = engine.Evidence()
    for name, text in inputs:
        ev.texts[name] = text
        ev.line_counts[name] = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        ev.pieces[name] = pieces[name]
        for piece in pieces[name]:
            ev.records.extend(engine.read_piece(piece))
    return ev


def analyse(payload: str) -> str:
    """{"inputs": [[name, text]...], "overrides": {...}} -> pieces, report (or why not), redaction."""
    data = json.loads(payload)
    inputs = [(str(n), str(t)) for n, t in data["inputs"]]
    overrides = data.get("overrides") or {}
    pieces = _pieces(inputs, overrides)
    result = {"pieces": [_piece_json(n, p) for n, _ in inputs for p in pieces[n]],
              "report": None, "unavailable": None}
    try:
        ev = _evidence(inputs, pieces)
        result["report"] = engine.diagnose_evidence(ev).to_json()
    except ImportError as exc:
        result["unavailable"] = f"the analysis is not part of this build ({exc})"
    result["redacted"] = _redact(inputs)
    return json.dumps(result)


def _redact(inputs):
    out = []
    for name, text in inputs:
        res = redact(text, mapping=_mapping)
        out.append({"input": name, "text": res.text,
                    "findings": [{"kind": s.kind, "line": s.line, "placeholder": s.placeholder}
                                 for s in res.findings]})
    return out


def llm_request(payload: str) -> str:
    """The user message for the LLM: only redacted evidence and the redacted report."""
    from sockdoctor.llm.prompt import SYSTEM, user_message

    data = json.loads(payload)
    evidence = [(item["input"], item["text"]) for item in data["redacted"]]
    report = data.get("report")
    report_json = redact(json.dumps(report, indent=1), mapping=_mapping).text if report else None
    note = "sockdoctor's own diagnosis is not available in this build; only the evidence is sent."
    return json.dumps({"system": SYSTEM,
                       "user": user_message(data["question"], report_json, note, evidence)})


def llm_answer(answer: str) -> str:
    """Put the placeholders back and flag anything sockdoctor never proposes."""
    from sockdoctor.llm.answer import insecure_proposals

    restored = restore(answer, _mapping)
    return json.dumps({"text": restored, "insecure": insecure_proposals(restored)})
