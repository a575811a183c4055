"""A pytest plugin for `pytest --nbval-lax labs/ -p tests.check_cells_must_fail`: a lab's `check`
cell that does NOT raise fails its test, naming the cell. In the labs as shipped every check must
fail (the blanks are unfilled), or the lab leaks its solution. nbval alone only lets a
`raises-exception` cell raise; it never requires it to. This way one nbval run of the labs proves
both: no cell but a blank or a check fails, and every check does."""
from __future__ import annotations

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    cell = getattr(item, "cell", None)  # nbval's IPyNbCell; other items are left alone
    if cell is not None and "check" in cell.metadata.get("tags", ()):
        if not any(output.output_type == "error" for output in item.test_outputs or ()):
            raise AssertionError(f"check cell {cell.get('id')} passed in the lab as shipped: "
                                 "the lab leaks its solution")
    return result
