"""The README's table of each notebook's main claim: every number in its "shown by" column is printed by
that notebook (committed outputs), to the digits the README gives. A re-executed notebook whose numbers
moved fails here until the README says what it now shows."""
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")


def claims() -> dict[str, str]:
    """notebook number ("02") -> the "shown by" cell of its row in the README's claims table."""
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"\| `(0\d)` \| (.*) \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = match.group(3)
    return rows


def printed_numbers(number: str) -> list[str]:
    (path,) = sorted((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    text = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            text.append(output.get("text", ""))
            text.extend(str(v) for k, v in output.get("data", {}).items() if k in ("text/plain", "text/markdown"))
    return NUMBER.findall("\n".join(text))


def shown(value: str, printed: list[str]) -> bool:
    """value (as the README writes it) equals some printed number rounded to value's decimals."""
    decimals = len(value.split(".")[1]) if "." in value else 0
    return any(round(float(p), decimals) == float(value) for p in printed)


def test_the_readme_has_a_claim_for_every_notebook_but_the_overview():
    assert sorted(claims()) == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("number", ["01", "02", "03", "04", "05", "06", "07"])
def test_each_number_the_readme_quotes_is_printed_by_its_notebook(number):
    cell = re.sub(r"`[^`]*`", "", claims()[number])           # paths and commands are not measurements
    printed = printed_numbers(number)
    missing = [value for value in NUMBER.findall(cell) if not shown(value, printed)]
    assert not missing, f"README claims row {number}: {missing} not among the notebook's printed numbers"


def test_a_number_the_notebook_does_not_print_is_caught():
    assert shown("93.0", ["92.96", "8"]) and not shown("91.2", ["92.96", "8"])
