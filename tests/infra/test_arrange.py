"""The arrange task: the company for a report, by category and the reporter's city."""
from __future__ import annotations

import boto3
import pytest

from tests.infra.conftest import create_table_as_in_template, load_function, load_seed

arrange = load_function("arrange")
COMPANIES = load_seed().companies()


@pytest.mark.parametrize("category, city, company", [
    ("LIFT", "Roma", "Elevatori Capitale"),
    ("LIFT", "milano", "Ascensori Rapidi Milano"),
    ("LIFT", "", "Ascensori Rapidi Milano"),  # no city known: the first by name
    ("LIFT", "Napoli", "Ascensori Rapidi Milano"),  # nobody local: still someone
    ("HEAT", "Roma", "Caldaie Sabaude"),
])
def test_the_company_serves_the_category_and_the_reporters_city_comes_first(category, city, company):
    assert arrange.choose_company(COMPANIES, category, city)["name"] == company


def test_no_company_for_the_category_is_a_named_error():
    with pytest.raises(arrange.NoCompanyFound, match="No company handles GAS reports"):
        arrange.choose_company(COMPANIES, "GAS", "Roma")
    assert arrange.NoCompanyFound.__name__ == "NoCompanyFound"  # the errorType Catch matches


@pytest.fixture
def companies(aws_local, monkeypatch):
    """The seeded Companies table (as the template defines it) in the local cloud."""
    name = create_table_as_in_template("CompaniesTable")
    seed = load_seed()
    assert seed.seed(boto3.resource("dynamodb").Table(name), seed.companies()) == len(COMPANIES)
    monkeypatch.setenv("COMPANIES_TABLE", name)
    monkeypatch.setenv("COMPANIES_INDEX", "ByCategory")
    return load_function("arrange")


def test_the_handler_queries_the_category_index_and_returns_the_assignment(companies):
    assignment = companies.handler({"reportId": "SM1", "category": "WATER", "city": "Roma"}, None)
    assert assignment == {"companyId": "water-roma", "company": "Idraulica Tevere",
                          "phone": "+15555550114", "city": "Roma"}


def test_the_handler_raises_no_company_found_for_an_unserved_category(companies):
    with pytest.raises(companies.NoCompanyFound):
        companies.handler({"reportId": "SM2", "category": "GAS", "city": ""}, None)
