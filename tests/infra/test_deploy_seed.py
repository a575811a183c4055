"""`gluelab deploy infra --stack NAME` deploys the whole reference app, seed data included,
and tags the stack as the workshop's."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gluelab.cli import main
from gluelab.config import client
from gluelab.deploy import DeployError, WORKSPACE_TAG, seed_output, seed_tables
from tests.infra.conftest import INFRA, STACK


def companies_in(table: str) -> list[dict]:
    return sorted(client("dynamodb").scan(TableName=table)["Items"], key=lambda i: i["id"]["S"])


def test_one_command_deploys_the_app_with_its_seed_data(local, capsys):
    assert main(["deploy", str(INFRA), "--stack", STACK]) == 0
    stack = client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    table = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["CompaniesTableName"]
    expected = json.loads((INFRA / "seed" / "companies.json").read_text())
    assert f"Seed data: loaded {len(expected)} items from seed/companies.json into {table}." \
        in capsys.readouterr().out
    first = companies_in(table)
    assert [item["id"]["S"] for item in first] == sorted(c["id"] for c in expected)
    assert WORKSPACE_TAG in stack["Tags"]

    assert main(["deploy", str(INFRA), "--stack", STACK]) == 0  # again: same items, no duplicates
    assert companies_in(table) == first


@pytest.mark.parametrize("stem, output", [("companies", "CompaniesTableName"),
                                          ("work_orders", "WorkOrdersTableName"),
                                          ("price-list", "PriceListTableName")])
def test_a_seed_file_names_its_table_output(stem, output):
    assert seed_output(Path(f"seed/{stem}.json")) == output


def test_seed_data_without_a_table_output_is_skipped_and_said(tmp_path):
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "parts.json").write_text("[]")
    lines: list[str] = []
    assert seed_tables(tmp_path, {"CompaniesTableName": "x"}, echo=lines.append) == {}
    assert lines == ["Seed data seed/parts.json not loaded: the stack has no output "
                     "PartsTableName naming its table."]


def test_seed_data_that_is_not_a_list_of_items_is_refused(tmp_path):
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "parts.json").write_text('{"id": "a"}')
    with pytest.raises(DeployError, match="seed/parts.json must hold a JSON list of items"):
        seed_tables(tmp_path, {"PartsTableName": "x"}, echo=lambda line: None)
