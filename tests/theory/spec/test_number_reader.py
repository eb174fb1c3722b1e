"""The one reader of exact numbers from text: digits and exponents bounded before conversion, magnitudes within
the float64 range, every refusal a clear error naming the argument, every answer fast.

Analytic vs sampled: the reader's value is compared with Python's own ``Fraction`` (an independent parser) on
every string both accept; hostile strings (huge exponents, long digit runs, look-alike digits) are refused fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from theory.spec._rational import MAX_DIGITS, MAX_EXPONENT, MAX_MAGNITUDE

decimals = st.builds(
    lambda sign, whole, frac, exp: (
        f"{sign}{whole}{'.' + frac if frac else ''}{'e' + str(exp) if exp is not None else ''}"
    ),
    st.sampled_from(["", "-", "+"]),
    st.from_regex(r"[0-9]{1,30}", fullmatch=True),
    st.from_regex(r"[0-9]{0,30}", fullmatch=True),
    st.one_of(st.none(), st.integers(-300, 300)),
)


@settings(max_examples=300, deadline=None)
@given(decimals)
def test_decimals_read_as_python_reads_them(text):
    want = Fraction(text)  # Python's own parser: exponents here stay within +-300, so it returns at once
    if abs(want) > MAX_MAGNITUDE:
        with pytest.raises(theory.TheoryError, match="float64 range"):
            theory.as_rational(text, "x")
    else:
        assert theory.as_rational(text, "x") == want


@settings(max_examples=200, deadline=None)
@given(st.fractions(max_denominator=10**50).filter(lambda q: abs(q) <= MAX_MAGNITUDE))
def test_ratios_round_trip(q):
    assert theory.as_rational(str(q), "x") == q


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789eE+-./ _x\u0663\uff13", max_size=60))
def test_any_short_text_is_read_or_refused_fast(text):
    t0 = time.perf_counter()
    try:
        q = theory.as_rational(text, "x")
    except theory.TheoryError as e:
        assert "argument 'x'" in str(e)
    else:
        assert abs(q) <= MAX_MAGNITUDE
    assert time.perf_counter() - t0 < 1.0  # generous: a hang is what this guards against (reads take microseconds)


@pytest.mark.parametrize(
    "text, why",
    [
        ("1e999999999", "exponents up to"),  # Fraction("1e999999999") never returns
        (f"1e{MAX_EXPONENT + 1}", "exponents up to"),
        ("1e400", "float64 range"),
        ("2e308", "float64 range"),
        ("-2e308", "float64 range"),
        ("1" * (MAX_DIGITS + 1), "digits"),
        ("1/" + "3" * (MAX_DIGITS + 1), "digits"),
        ("1/0", "nonzero denominator"),
        ("\uff13", "rational string"),  # full-width 3: refused, not read as 3
        ("\u0663", "rational string"),  # Arabic-Indic 3
        ("1_000", "rational string"),
        ("nan", "rational string"),
        ("0x10", "rational string"),
    ],
)
def test_hostile_numbers_are_clear_errors(text, why):
    with pytest.raises(theory.TheoryError, match=why):
        theory.as_rational(text, "eps")


def test_the_bounds_themselves_are_read():
    assert theory.as_rational("1.7976931348623157e308", "x") <= MAX_MAGNITUDE  # the decimal just below float max
    assert theory.as_rational(str(MAX_MAGNITUDE), "x") == MAX_MAGNITUDE
    assert theory.as_rational(f"1e-{MAX_EXPONENT}", "x") == Fraction(1, 10**MAX_EXPONENT)
    assert theory.as_rational("9" * MAX_DIGITS + "/" + "7" * MAX_DIGITS, "x") > 1
    with pytest.raises(theory.TheoryError, match="float64 range"):
        theory.as_rational(10**400, "w")  # not only text: every exact number


def test_a_hostile_weight_in_a_spec_file_is_refused_fast(tmp_path):
    spec = theory.save(theory.select(4, [1]), tmp_path / "spec")
    doc = json.loads((spec / "spec.json").read_text())
    doc["layers"][0]["weight"]["values"][0] = "1e999999999"
    (spec / "spec.json").write_text(json.dumps(doc))
    t0 = time.perf_counter()
    with pytest.raises(theory.TheoryError, match="exponents up to"):
        theory.load(spec)
    assert time.perf_counter() - t0 < 5.0


def test_a_hostile_certificate_bound_is_refused(tmp_path):
    net = theory.select(4, [1])
    doc = theory.prove_routing(net, [1]).to_json()
    doc["upper"] = "1e999999999"
    with pytest.raises(theory.TheoryError, match="exponents up to"):
        theory.Certificate.from_json(doc)


@pytest.mark.parametrize("flag", [["--eps", "1e999999999"], ["--eps", "1e400"], ["--box", "0,1e400"]])
def test_hostile_flags_exit_2_with_the_argument_named(tmp_path, flag):
    spec = theory.save(theory.approximate_sparse(16, [1, 9], "x0*x1", (-1, 1), Fraction(1, 10)), tmp_path / "s")
    out = subprocess.run(
        [sys.executable, "-m", "theory", "certify", str(spec), *flag, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"argument '{flag[0].lstrip('-')}'" in out.stderr or f"argument '{flag[0]}'" in out.stderr
