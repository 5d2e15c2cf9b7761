#!/usr/bin/env python3
"""check_report_schema.py SCHEMA.md REPORT.json [CONSOLE.txt]

Checks a report against the field table of docs/report-schema.md: every
field of the report is documented with a matching type, every required field
is present, enumerations and ranges hold; with CONSOLE.txt, the console
report has the design's sections in order. Exit 0 when all holds, 1 otherwise
(every problem printed).
"""
import json
import re
import sys

RESERVED_LOADING = {"sequential_vs_concurrent", "keep_alive"}


def load_schema(path):
    fields = {}
    row = re.compile(r"^\| `([^`]+)` \| ([a-z|\\]+) \| [^|]* \| (yes|no) \|")
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = row.match(line)
            if m:
                types = set(m.group(2).replace("\\", "").split("|"))
                fields[m.group(1)] = (types, m.group(3) == "yes")
    return fields


def type_of(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def children(schema, p):
    pre = p + "."
    cands = [c for c in schema if c.startswith(pre) and "[]" not in c[len(pre):]]
    return [c for c in cands
            if not any(d != c and c.startswith(d + ".") and d.startswith(pre) for d in cands)]


def check(schema, doc):
    errors = []

    def walk(v, p):
        if p not in schema:
            errors.append("undocumented field: %s" % p)
            return
        types, _ = schema[p]
        t = type_of(v)
        ok = t in types or (t == "integer" and "number" in types)
        if not ok:
            errors.append("%s: type %s, documented %s" % (p, t, "|".join(sorted(types))))
            return
        if isinstance(v, dict):
            for c in children(schema, p):
                key = c[len(p) + 1:]
                if schema[c][1] and key not in v and not key.startswith("<"):
                    errors.append("missing required field: %s" % c)
            for k, x in v.items():
                if p == "data_loading" and k not in RESERVED_LOADING:
                    walk(x, p + ".<source>")
                elif p == "model_inference":
                    walk(x, p + ".<model>")
                elif p == "settings":
                    walk(x, p + ".<name>")
                elif p == "data_loading.<source>.figures":
                    walk(x, p + ".<figure>")
                else:
                    walk(x, p + "." + k)
        elif isinstance(v, list):
            for x in v:
                walk(x, p + "[]")

    if not isinstance(doc, dict):
        return ["report is not an object"]
    for c in [c for c in schema if "." not in c and "[" not in c]:
        if schema[c][1] and c not in doc:
            errors.append("missing required field: %s" % c)
    for k, v in doc.items():
        walk(v, k)

    for s in doc.get("optimization_suggestions", []):
        e = s.get("expected_improvement")
        if not isinstance(e, (int, float)) or not 0 <= e <= 1:
            errors.append("expected_improvement out of [0, 1]: %r" % e)
        if s.get("basis") not in ("measured", "estimated"):
            errors.append("bad basis: %r" % s.get("basis"))
        if s.get("impact") not in ("high", "medium", "low"):
            errors.append("bad impact: %r" % s.get("impact"))
        if s.get("category") not in ("performance", "memory", "data_loading",
                                     "model_inference", "cache"):
            errors.append("bad category: %r" % s.get("category"))
        lo, hi = s.get("expected_improvement_low"), s.get("expected_improvement_high")
        if isinstance(e, (int, float)) and isinstance(lo, (int, float)) and \
                isinstance(hi, (int, float)) and not lo - 1e-12 <= e <= hi + 1e-12:
            errors.append("expected_improvement %r outside its interval [%r, %r]" % (e, lo, hi))
    for x in doc.get("experiments", []):
        sp, lo, hi = x.get("speedup"), x.get("speedup_low"), x.get("speedup_high")
        if isinstance(sp, (int, float)) and isinstance(lo, (int, float)) and \
                not lo - 1e-9 <= sp <= (hi if isinstance(hi, (int, float)) else float("inf")) + 1e-9:
            errors.append("experiment %s: speedup %r outside [%r, %r]" % (x.get("name"), sp, lo, hi))
        b, c = x.get("base_s"), x.get("cand_s")
        # the x-factor and the two times printed beside it agree in direction
        if isinstance(sp, (int, float)) and isinstance(b, (int, float)) and \
                isinstance(c, (int, float)) and c > 0 and (sp - 1) * (b - c) < 0:
            errors.append("experiment %s: %rx but %r s -> %r s" % (x.get("name"), sp, b, c))
    ap = doc.get("apply")
    if isinstance(ap, dict) and "coverage" in ap:
        res = ap.get("suggestions", [])
        for a in res:
            m, lo, hi = a.get("measured_improvement"), a.get("predicted_low"), a.get("predicted_high")
            at = a.get("at_apply_speed") or {}
            # hit: against the printed interval, or the one made again at
            # --apply's speed when that one judged (the machine's speed differed)
            if None not in (m, lo, hi) and a.get("hit_as_predicted", a.get("hit")) != (lo <= m <= hi):
                errors.append("apply: hit_as_predicted %r but measured %r, predicted [%r, %r]" %
                              (a.get("hit_as_predicted"), m, lo, hi))
            if at:
                alo, ahi = at.get("predicted_low"), at.get("predicted_high")
                if None not in (m, alo, ahi) and at.get("hit") != (alo <= m <= ahi):
                    errors.append("apply: at_apply_speed.hit %r but measured %r, made again [%r, %r]" %
                                  (at.get("hit"), m, alo, ahi))
                if at.get("judged") != bool((ap.get("machine_speed") or {}).get("differs")):
                    errors.append("apply: at_apply_speed.judged %r, machine_speed.differs %r" %
                                  (at.get("judged"), (ap.get("machine_speed") or {}).get("differs")))
            judged_hit = at.get("hit") if at.get("judged") else a.get("hit_as_predicted", a.get("hit"))
            if a.get("hit") != judged_hit:
                errors.append("apply: hit %r is not the judging prediction's %r" % (a.get("hit"), judged_hit))
        if res and abs(ap["coverage"] - sum(1 for a in res if a.get("hit")) / len(res)) > 1e-9:
            errors.append("apply.coverage %r is not hits / suggestions" % ap["coverage"])
    for t in doc.get("targets", []):
        if t.get("status") not in ("PASS", "FAIL"):
            errors.append("bad target status: %r" % t.get("status"))
    if len(doc.get("targets", [])) != 5:
        errors.append("expected the design's 5 targets")
    for b in doc.get("bottlenecks", []):
        if b.get("severity") not in ("high", "moderate"):
            errors.append("bad severity: %r" % b.get("severity"))
    errors += check_causal(doc.get("causal"))
    if doc.get("schema_version") != 1:
        errors.append("schema_version is not 1")
    return errors


def check_causal(c):
    """The causal section's flags agree with its own figures."""
    errors = []
    if not isinstance(c, dict):
        return errors
    undecided = 0
    for site in c.get("sites", []):
        name = site.get("name")
        for p in site.get("points", []):
            g, lo, hi = p.get("gain"), p.get("gain_low"), p.get("gain_high")
            if not p.get("decided"):
                undecided += 1
                if p.get("agree") is not None:
                    errors.append("causal %s: agree set on an undecided point" % name)
                continue
            if lo is None or hi is None or not lo - 1e-9 <= g <= hi + 1e-9:
                errors.append("causal %s: decided gain %r outside [%r, %r]" % (name, g, lo, hi))
                continue
            if hi - lo > 2 * c.get("precision", 0) + 1e-9:
                errors.append("causal %s: decided but wider than +-precision" % name)
            sg = p.get("share_gain")
            if sg is not None and p.get("agree") != (lo <= sg <= hi):
                errors.append("causal %s: agree %r but share_gain %r, [%r, %r]" %
                              (name, p.get("agree"), sg, lo, hi))
        for k in site.get("knob_checks", []):
            overlap = not (k["knob_low"] > k["causal_high"] or k["knob_high"] < k["causal_low"])
            if k.get("agree") != overlap:
                errors.append("causal %s: knob check %s agree %r" % (name, k.get("experiment"),
                                                                    k.get("agree")))
        if not site.get("verdict"):
            errors.append("causal %s: no verdict" % name)
    if c.get("undecided") != undecided:
        errors.append("causal.undecided %r, %d points undecided" % (c.get("undecided"), undecided))
    return errors


def check_console(text):
    order = ["PROFILING REPORT", "System Stats:", "Data Loading Performance:",
             "Model Inference Performance:", "Cache Performance:",
             "Optimization Suggestions (", "Bottlenecks (", "Performance Targets:"]
    errors, at = [], 0
    for s in order:
        i = text.find(s, at)
        if i < 0:
            errors.append("console: section missing or out of order: %s" % s)
        else:
            at = i
    if "\033[" in text:
        errors.append("console: colour codes in non-terminal output")
    # with no suggestion (all settings within noise) there are no suggestion lines
    if "Optimization Suggestions (0)" not in text:
        if not re.search(r"\[(HIGH|MEDIUM|LOW)\]", text):
            errors.append("console: no [HIGH]-style impact")
        for s in ("Implementation: ", "Expected Improvement: "):
            if s not in text:
                errors.append("console: no '%s' line" % s.strip())
    for m in re.finditer(r"Expected Improvement: (.*)", text):
        if not re.match(r"-?[0-9.]+% \((90% -?[0-9.]+ to -?[0-9.]+ %|an estimate: no interval)\)$",
                        m.group(1)):
            errors.append("console: expected improvement without its interval: %s" % m.group(0))
    # every interval after a confidence level reads "LOW to HIGH": a range
    # written "-340.5-72.0%" reads as a subtraction
    for m in re.finditer(r"\((?:90|95)% (-?[0-9.]+)(\S*)", text):
        rest = text[m.end(2):m.end(2) + 4]
        if rest != " to " and not m.group(2).startswith("x"):
            errors.append("console: interval not written 'LOW to HIGH': %s" % text[m.start():m.start() + 40])
    # every causal gain printed carries its interval
    for m in re.finditer(r"^ +[0-9]+% faster: .*$", text, re.M):
        if not re.search(r"\[95 %: (-?[0-9.]+ to -?[0-9.]+ %|unbounded|at (most|least) -?[0-9.]+ %)\]",
                         m.group(0)):
            errors.append("console: causal gain without its interval: %s" % m.group(0))
    return errors


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    schema = load_schema(sys.argv[1])
    if len(schema) < 50:
        print("schema table not found in %s" % sys.argv[1])
        return 1
    with open(sys.argv[2], encoding="utf-8") as f:
        doc = json.load(f)
    errors = check(schema, doc)
    if len(sys.argv) > 3:
        with open(sys.argv[3], encoding="utf-8") as f:
            errors += check_console(f.read())
    for e in errors:
        print(e)
    print("%s: %d fields documented, %d problems" % (sys.argv[2], len(schema), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
